import type pg from 'pg';
import type { Envelope } from '../messages/envelope.ts';
import type { OutgoingOperation } from './context.ts';

/**
 * One attempt at one message, as every middleware and the handler share it. Each field is set by
 * the part of the pipeline that owns it, and read by the parts after it — typed, so nothing is
 * looked up by a name that may be wrong:
 *
 * - `message`: what is being handled (store steps name it, so chaos rules can pick it);
 * - `transaction`: the SQL transaction a strategy opened for it (`SqlOutboxInbox`); the stores
 *   a handler takes from this unit of work write in it, and commit or roll back with it;
 * - `captured`: while a strategy keeps what the handler sends instead of sending it, the list;
 * - `entity`: the state a document strategy loaded for the handler (see `entity()`);
 * - `dropped`: why this attempt was dropped as a copy of a message processed before, if it was.
 *
 * A retry of the message gets a new unit of work: nothing of a failed attempt carries over.
 */
export class UnitOfWork {
  transaction: pg.PoolClient | undefined = undefined;
  captured: OutgoingOperation[] | undefined = undefined;
  entity: { state: unknown } | undefined = undefined;
  dropped: string | undefined = undefined;

  constructor(readonly message: Envelope) {}

  /**
   * Forgets what one run of the handler left (its entity, what it captured, a duplicate mark):
   * for a strategy that starts the message over within this attempt, after a lost race. The
   * transaction, which the strategy holds, stays.
   */
  restart(): void {
    this.entity = undefined;
    this.captured = undefined;
    this.dropped = undefined;
  }

  /** The SQL transaction of this message, or an error that says why there is none. */
  sql(): pg.PoolClient {
    if (!this.transaction) {
      throw new Error(
        'no SQL transaction for this message: install a strategy that holds one (SqlOutboxInbox) on the endpoint',
      );
    }
    return this.transaction;
  }
}
