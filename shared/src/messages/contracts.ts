import type { MessageType } from './defineMessage.ts';

/**
 * A set of message contracts, looked up by their name on the wire. For code that holds a message
 * by its `type` only (a stored outbox entry, an envelope) and needs its contract back to publish
 * or send it: `contracts(ItemAdded, FirstItemAdded).byType(event.type)`.
 */
export interface Contracts<M extends MessageType> {
  /** The names of the contracts, in the order given. */
  readonly types: readonly M['type'][];
  /** The contract named `type`: for a known name, typed as that contract (or union of them). */
  byType<const Type extends M['type']>(type: Type): Extract<M, { readonly type: Type }>;
  /** The contract named `type`; an unknown name throws an error that lists the known ones. */
  byType(type: string): M;
  /** Whether a contract is named `type`. */
  has(type: string): type is M['type'];
}

/** The contracts given, by type name. Two contracts with one name are refused. */
export function contracts<const List extends readonly MessageType[]>(
  ...list: List
): Contracts<List[number]> {
  type M = List[number];
  const byName = new Map<string, M>();
  for (const contract of list) {
    if (byName.has(contract.type)) {
      throw new Error(`two contracts are named "${contract.type}": a type name must be unique`);
    }
    byName.set(contract.type, contract);
  }
  const types = Object.freeze([...byName.keys()]) as readonly M['type'][];
  return Object.freeze({
    types,
    byType(type: string): M {
      const contract = byName.get(type);
      if (contract === undefined) {
        const known = types.length > 0 ? types.join(', ') : 'none';
        throw new Error(`no contract for the message type "${type}"; the known types: ${known}`);
      }
      return contract;
    },
    has: (type: string): type is M['type'] => byName.has(type),
  }) as Contracts<M>;
}
