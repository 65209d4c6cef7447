---------------------------- MODULE FlawedHandlers ----------------------------
(***************************************************************************)
(* The flawed AddItem handlers of exercise 17, one per invariant: the      *)
(* constant Variant picks one (FlawedHandlers.cfg), and TLC finds the      *)
(* invariant it breaks, with a shortest trace.                             *)
(*                                                                         *)
(*   "publish-before-store"  publish, store, ack: a ghost message          *)
(*   "store-before-publish"  store, publish, ack, and a copy of an AddItem *)
(*                           processed already skips it all: a lost one    *)
(*   "atomic-without-dedup"  change and message in one commit, no check    *)
(*                           for copies: duplicate processing              *)
(*   "fresh-outgoing-ids"    store if new, always publish, with a new id   *)
(*                           each attempt: inconsistent output             *)
(*                                                                         *)
(* Mirrors shared/src/testing/models/messageHandler.ts (HANDLER_VARIANTS), *)
(* state for state; HandlerSteps.tla is the handler that holds.            *)
(***************************************************************************)
EXTENDS Integers, Sequences

CONSTANTS Variant, Messages, MaxFailures, MaxAttempts, NoMessage

VARIABLES queue,      \* AddItem -> its failed attempts so far; -1 once acked or parked
          errorQueue, \* the AddItems that ran out of attempts
          applied,    \* AddItem -> how many times its change was committed
          processed,  \* AddItem -> the id stored with it: -1 not processed, 0 no id stored
          sent,       \* AddItem -> the ids of the ItemAddeds published for it, in order
          worker,     \* [step, msg, dup]: dup is what the check for copies found
          failures,
          nextId

vars == <<queue, errorQueue, applied, processed, sent, worker, failures, nextId>>

Idle == [step |-> "idle", msg |-> NoMessage, dup |-> "unknown"]

Init ==
  /\ queue = [m \in Messages |-> 0]
  /\ errorQueue = {}
  /\ applied = [m \in Messages |-> 0]
  /\ processed = [m \in Messages |-> -1]
  /\ sent = [m \in Messages |-> << >>]
  /\ worker = Idle
  /\ failures = 0
  /\ nextId = 1

Receive ==
  /\ worker.step = "idle"
  /\ \E m \in Messages :
       /\ queue[m] >= 0
       /\ worker' = [step |-> "received", msg |-> m, dup |-> "unknown"]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, sent, failures, nextId>>

\* The steps each variant is made of. `m` is the AddItem being handled.
m == worker.msg
Go(step) == worker' = [worker EXCEPT !.step = step]
Commit == /\ applied' = [applied EXCEPT ![m] = @ + 1]
          /\ processed' = [processed EXCEPT ![m] = 0]
PublishNew == /\ sent' = [sent EXCEPT ![m] = Append(@, nextId)]
              /\ nextId' = nextId + 1

PublishFirst ==   \* publish-before-store
  /\ Variant = "publish-before-store" /\ worker.step = "received"
  /\ PublishNew /\ Go("published")
  /\ UNCHANGED <<queue, errorQueue, applied, processed, failures>>
StoreAfter ==
  /\ Variant = "publish-before-store" /\ worker.step = "published"
  /\ Commit /\ Go("stored")
  /\ UNCHANGED <<queue, errorQueue, sent, failures, nextId>>

CheckProcessed == \* store-before-publish
  /\ Variant = "store-before-publish" /\ worker.step = "received"
  /\ worker' = [worker EXCEPT !.step = "checked", !.dup = (processed[m] # -1)]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, sent, failures, nextId>>
StoreChecked ==
  /\ Variant = "store-before-publish" /\ worker.step = "checked" /\ worker.dup = FALSE
  /\ Commit /\ Go("stored")
  /\ UNCHANGED <<queue, errorQueue, sent, failures, nextId>>
SkipProcessed ==  \* the flaw: a copy skips everything, the publish included
  /\ Variant = "store-before-publish" /\ worker.step = "checked" /\ worker.dup = TRUE
  /\ Go("published")
  /\ UNCHANGED <<queue, errorQueue, applied, processed, sent, failures, nextId>>

CommitBoth ==     \* atomic-without-dedup
  /\ Variant = "atomic-without-dedup" /\ worker.step = "received"
  /\ Commit /\ PublishNew /\ Go("committed")
  /\ UNCHANGED <<queue, errorQueue, failures>>

StoreIfNew ==     \* fresh-outgoing-ids
  /\ Variant = "fresh-outgoing-ids" /\ worker.step = "received"
  /\ IF processed[m] = -1 THEN Commit ELSE UNCHANGED <<applied, processed>>
  /\ Go("stored")
  /\ UNCHANGED <<queue, errorQueue, sent, failures, nextId>>

PublishAfterStore == \* store-before-publish and fresh-outgoing-ids
  /\ Variant \in {"store-before-publish", "fresh-outgoing-ids"} /\ worker.step = "stored"
  /\ PublishNew /\ Go("published")
  /\ UNCHANGED <<queue, errorQueue, applied, processed, failures>>

Ack ==
  /\ \/ Variant = "publish-before-store" /\ worker.step = "stored"
     \/ Variant \in {"store-before-publish", "fresh-outgoing-ids"} /\ worker.step = "published"
     \/ Variant = "atomic-without-dedup" /\ worker.step = "committed"
  /\ queue' = [queue EXCEPT ![m] = -1]
  /\ worker' = Idle
  /\ UNCHANGED <<errorQueue, applied, processed, sent, failures, nextId>>

Fail ==
  /\ worker.step # "idle"
  /\ failures < MaxFailures
  /\ failures' = failures + 1
  /\ IF queue[m] + 1 >= MaxAttempts
       THEN /\ errorQueue' = errorQueue \cup {m}
            /\ queue' = [queue EXCEPT ![m] = -1]
       ELSE /\ queue' = [queue EXCEPT ![m] = @ + 1]
            /\ UNCHANGED errorQueue
  /\ worker' = Idle
  /\ UNCHANGED <<applied, processed, sent, nextId>>

Next ==
  \/ Receive \/ Fail \/ Ack
  \/ PublishFirst \/ StoreAfter
  \/ CheckProcessed \/ StoreChecked \/ SkipProcessed \/ PublishAfterStore
  \/ CommitBoth \/ StoreIfNew

Spec == Init /\ [][Next]_vars

Done == ~ENABLED Next
Published(x) == Len(sent[x]) > 0

NoGhostMessages == Done => \A x \in Messages : Published(x) => applied[x] > 0
NoLostMessages == Done => \A x \in Messages : applied[x] > 0 => Published(x) \/ x \in errorQueue
NoDuplicateProcessing == \A x \in Messages : applied[x] <= 1
ConsistentOutput == \A x \in Messages : \A i, j \in DOMAIN sent[x] : sent[x][i] = sent[x][j]
==============================================================================
