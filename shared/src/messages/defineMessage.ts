import type { z } from 'zod';

/** Commands ask one endpoint to do something; events tell every subscriber something happened. */
export type MessageKind = 'command' | 'event';

/**
 * A message type, declared once: its name on the wire, whether it is a command or an event, and
 * the zod schema its body must satisfy. The TypeScript type of the body follows from the schema.
 */
export interface MessageType<
  Type extends string = string,
  Schema extends z.ZodType = z.ZodType,
  Kind extends MessageKind = MessageKind,
> {
  readonly type: Type;
  readonly kind: Kind;
  readonly schema: Schema;
}

export type CommandType<Schema extends z.ZodType = z.ZodType> = MessageType<
  string,
  Schema,
  'command'
>;
export type EventType<Schema extends z.ZodType = z.ZodType> = MessageType<string, Schema, 'event'>;

/** The body type of a message type: `BodyOf<typeof AddItem>`. */
export type BodyOf<M extends MessageType> = z.infer<M['schema']>;

export function defineCommand<const Type extends string, Schema extends z.ZodType>(
  type: Type,
  schema: Schema,
): MessageType<Type, Schema, 'command'> {
  return Object.freeze({ type, kind: 'command', schema });
}

export function defineEvent<const Type extends string, Schema extends z.ZodType>(
  type: Type,
  schema: Schema,
): MessageType<Type, Schema, 'event'> {
  return Object.freeze({ type, kind: 'event', schema });
}

/** A zod failure as one line: `filling: Invalid option…; orderId: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}
