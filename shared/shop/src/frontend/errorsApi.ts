import { CannotSendBackError, type FailedMessage, type FailedMessages } from '@pierogi/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

const Id = z.object({
  id: z.string().regex(/^\d{1,18}$/, { error: 'the id of a failed message is a number' }),
});

/** A failed message as the page lists it: no stack, no raw headers. */
function summary(failed: FailedMessage) {
  return {
    id: failed.id,
    type: failed.type ?? null,
    messageId: failed.messageId ?? null,
    endpoint: failed.endpoint ?? null,
    reason: failed.reason,
    error: failed.error,
    attempts: failed.attempts,
    failedAt: failed.failedAt,
    retries: failed.retries,
    body: failed.body,
  };
}

/**
 * GET/POST/DELETE /api/errors: the messages in the error queue, with why they failed, and the
 * way back: send one (or all) back to the endpoint it failed at, or forget it.
 */
export function errorsRoutes(
  app: FastifyInstance,
  failed: FailedMessages,
  parse: <T>(schema: z.ZodType<T>, value: unknown, what: string) => T,
): void {
  const notFound = (id: string) => ({
    error: 'not found',
    message: `there is no failed message ${id} (sent back or deleted already?)`,
  });

  app.get('/api/errors', async () => ({ messages: (await failed.list()).map(summary) }));

  app.get('/api/errors/:id', async (request, reply) => {
    const { id } = parse(Id, request.params, 'in the URL');
    const message = await failed.get(id);
    if (!message) return reply.status(404).send(notFound(id));
    return message;
  });

  app.post('/api/errors/:id/retry', async (request, reply) => {
    const { id } = parse(Id, request.params, 'in the URL');
    try {
      if (!(await failed.retry(id))) return reply.status(404).send(notFound(id));
    } catch (error) {
      if (!(error instanceof CannotSendBackError)) throw error;
      return reply.status(409).send({ error: 'not possible here', message: error.message });
    }
    return reply.status(202).send({ retried: [id] });
  });

  app.post('/api/errors/retry', async (_request, reply) => {
    const count = await failed.retryAll();
    return reply.status(202).send({ retried: count });
  });

  app.delete('/api/errors/:id', async (request, reply) => {
    const { id } = parse(Id, request.params, 'in the URL');
    if (!(await failed.delete(id))) return reply.status(404).send(notFound(id));
    return reply.status(204).send();
  });
}
