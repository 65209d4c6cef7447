import { exploreInterleavings } from '../src/testing/interleavingExplorer.ts';
import { checkModel } from '../src/testing/modelChecker.ts';
import { outboxInboxModel } from '../src/testing/models/outboxInbox.ts';
import { twoCopies } from '../src/testing/models/outboxInboxActors.ts';

export interface VerificationSpeed {
  model_checker_states: number;
  model_checker_states_per_s: number;
  explorer_executions: number;
  explorer_executions_per_s: number;
}

/** The two-worker outbox + inbox model, with two crashes for the checker and one for the explorer. */
export async function verificationSpeed(): Promise<VerificationSpeed> {
  checkModel(outboxInboxModel({ inboxFirst: false, failures: 2 })); // warm up the JIT
  const checked = checkModel(outboxInboxModel({ inboxFirst: false, failures: 2 }));
  const explored = await exploreInterleavings({ ...twoCopies(false, 1), maxExecutions: 1_000_000 });
  if (!checked.ok || !explored.ok) throw new Error('the outbox + inbox model should hold');
  return {
    model_checker_states: checked.distinctStates,
    model_checker_states_per_s: Math.round(checked.distinctStates / (checked.elapsedMs / 1000)),
    explorer_executions: explored.executions,
    explorer_executions_per_s: Math.round(explored.executions / (explored.elapsedMs / 1000)),
  };
}
