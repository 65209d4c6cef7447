----------------------------- MODULE HandlerSteps -----------------------------
(***************************************************************************)
(* The AddItem handler of orders as a state machine, with the four         *)
(* invariants of exactly-once processing: the solution of exercise 17.     *)
(* Store the change, the AddItem recorded as processed and the id of its   *)
(* ItemAdded in one commit (skipped for an AddItem processed already);     *)
(* publish the stored ItemAdded; ack. Any step can fail instead; a failed  *)
(* AddItem comes back until its attempts run out, then goes to the error   *)
(* queue.                                                                  *)
(*                                                                         *)
(* Mirrors solutions/17-model-checking/src/model.ts, with receive and fail *)
(* as shared/src/testing/models/messageHandler.ts adds them. The state is  *)
(* the TypeScript model's, one for one, so TLC and the TypeScript checker  *)
(* count the same states. FlawedHandlers.tla has the flawed handlers.      *)
(***************************************************************************)
EXTENDS Integers, Sequences

CONSTANTS Messages,     \* the AddItems in the queue at the start
          MaxFailures,  \* how many failures may happen in all
          MaxAttempts,  \* after this many failed attempts an AddItem goes to the error queue
          NoMessage     \* what the idle worker handles

VARIABLES queue,      \* AddItem -> its failed attempts so far; -1 once acked or parked
          errorQueue, \* the AddItems that ran out of attempts
          applied,    \* AddItem -> how many times its change was committed
          processed,  \* AddItem -> the id of its ItemAdded stored with the change; -1: not processed
          sent,       \* AddItem -> the ids of the ItemAddeds published for it, in order
          worker,     \* [step, msg]: where the handler is, and which AddItem it handles
          failures,   \* failures so far
          nextId      \* the id the next new ItemAdded gets

vars == <<queue, errorQueue, applied, processed, sent, worker, failures, nextId>>

Init ==
  /\ queue = [m \in Messages |-> 0]
  /\ errorQueue = {}
  /\ applied = [m \in Messages |-> 0]
  /\ processed = [m \in Messages |-> -1]
  /\ sent = [m \in Messages |-> << >>]
  /\ worker = [step |-> "idle", msg |-> NoMessage]
  /\ failures = 0
  /\ nextId = 1

\* The broker delivers an unacked AddItem to the idle worker.
Receive ==
  /\ worker.step = "idle"
  /\ \E m \in Messages :
       /\ queue[m] >= 0
       /\ worker' = [step |-> "received", msg |-> m]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, sent, failures, nextId>>

\* Store if new: the change, "processed" and the outgoing id, in one commit.
StoreIfNew ==
  /\ worker.step = "received"
  /\ IF processed[worker.msg] = -1
       THEN /\ applied' = [applied EXCEPT ![worker.msg] = @ + 1]
            /\ processed' = [processed EXCEPT ![worker.msg] = nextId]
            /\ nextId' = nextId + 1
       ELSE UNCHANGED <<applied, processed, nextId>>
  /\ worker' = [worker EXCEPT !.step = "stored"]
  /\ UNCHANGED <<queue, errorQueue, sent, failures>>

\* Publish the stored ItemAdded, a copy of the AddItem too: its first attempt may have crashed
\* before it published.
PublishStored ==
  /\ worker.step = "stored"
  /\ sent' = [sent EXCEPT ![worker.msg] = Append(@, processed[worker.msg])]
  /\ worker' = [worker EXCEPT !.step = "published"]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, failures, nextId>>

Ack ==
  /\ worker.step = "published"
  /\ queue' = [queue EXCEPT ![worker.msg] = -1]
  /\ worker' = [step |-> "idle", msg |-> NoMessage]
  /\ UNCHANGED <<errorQueue, applied, processed, sent, failures, nextId>>

\* Instead of its next step the worker crashes: nothing of that step happens.
Fail ==
  /\ worker.step # "idle"
  /\ failures < MaxFailures
  /\ failures' = failures + 1
  /\ IF queue[worker.msg] + 1 >= MaxAttempts
       THEN /\ errorQueue' = errorQueue \cup {worker.msg}
            /\ queue' = [queue EXCEPT ![worker.msg] = -1]
       ELSE /\ queue' = [queue EXCEPT ![worker.msg] = @ + 1]
            /\ UNCHANGED errorQueue
  /\ worker' = [step |-> "idle", msg |-> NoMessage]
  /\ UNCHANGED <<applied, processed, sent, nextId>>

Next == Receive \/ StoreIfNew \/ PublishStored \/ Ack \/ Fail

Spec == Init /\ [][Next]_vars

\* Nothing more can happen (the TypeScript checker's "terminal" states).
Done == ~ENABLED Next

Published(m) == Len(sent[m]) > 0

NoGhostMessages == Done => \A m \in Messages : Published(m) => applied[m] > 0
NoLostMessages == Done => \A m \in Messages : applied[m] > 0 => Published(m) \/ m \in errorQueue
NoDuplicateProcessing == \A m \in Messages : applied[m] <= 1
ConsistentOutput == \A m \in Messages : \A i, j \in DOMAIN sent[m] : sent[m][i] = sent[m][j]
EveryMessageHandled ==
  Done => /\ worker.step = "idle"
          /\ \A m \in Messages : m \in errorQueue \/ (queue[m] = -1 /\ applied[m] > 0 /\ Published(m))
==============================================================================
