---------------------------- MODULE MessageHandler ----------------------------
(***************************************************************************)
(* The classic message handler: receive, update the database, send, ack;   *)
(* any step may fail, and a failed message comes back until its attempts   *)
(* run out (then it goes to the error queue).                              *)
(*                                                                         *)
(* Mirrors shared/src/testing/models/messageHandler.ts, variant "final":   *)
(* deduplicate on stored state, and publish the outgoing id stored with    *)
(* the change. Change Store/Publish as the TypeScript variants do to see   *)
(* the ghost, the lost message, the duplicate and the inconsistent output. *)
(* Read it alongside; the TypeScript checker is the one the tests run.     *)
(***************************************************************************)
EXTENDS Integers, Sequences, FiniteSets

CONSTANTS Messages, MaxAttempts, MaxFailures

VARIABLES queue,      \* message -> attempts so far, for unacked messages
          errorQueue, \* messages that ran out of attempts
          applied,    \* message -> times its change was committed
          processed,  \* message -> outgoing id stored with the change
          sent,       \* set of <<message, outgoing id>> sent downstream
          worker,     \* [step |-> ..., msg |-> ...]
          failures,   \* failures injected so far
          nextId

vars == <<queue, errorQueue, applied, processed, sent, worker, failures, nextId>>

Init ==
  /\ queue = [m \in Messages |-> 0]
  /\ errorQueue = {}
  /\ applied = [m \in Messages |-> 0]
  /\ processed = [m \in Messages |-> 0]
  /\ sent = {}
  /\ worker = [step |-> "idle", msg |-> CHOOSE m \in Messages : TRUE]
  /\ failures = 0
  /\ nextId = 1

Pending == {m \in Messages : m \notin errorQueue /\ queue[m] >= 0}

Receive ==
  /\ worker.step = "idle"
  /\ \E m \in Pending :
       worker' = [step |-> "received", msg |-> m]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, sent, failures, nextId>>

\* Deduplicate on stored state; the outgoing id is stored with the change.
Store ==
  /\ worker.step = "received"
  /\ IF processed[worker.msg] = 0
       THEN /\ applied' = [applied EXCEPT ![worker.msg] = @ + 1]
            /\ processed' = [processed EXCEPT ![worker.msg] = nextId]
            /\ nextId' = nextId + 1
       ELSE UNCHANGED <<applied, processed, nextId>>
  /\ worker' = [worker EXCEPT !.step = "stored"]
  /\ UNCHANGED <<queue, errorQueue, sent, failures>>

\* Publish even when the message was a duplicate: the first attempt may have crashed before it.
Publish ==
  /\ worker.step = "stored"
  /\ sent' = sent \cup {<<worker.msg, processed[worker.msg]>>}
  /\ worker' = [worker EXCEPT !.step = "published"]
  /\ UNCHANGED <<queue, errorQueue, applied, processed, failures, nextId>>

Ack ==
  /\ worker.step = "published"
  /\ queue' = [queue EXCEPT ![worker.msg] = -1]
  /\ worker' = [worker EXCEPT !.step = "idle"]
  /\ UNCHANGED <<errorQueue, applied, processed, sent, failures, nextId>>

Fail ==
  /\ worker.step # "idle"
  /\ failures < MaxFailures
  /\ failures' = failures + 1
  /\ IF queue[worker.msg] + 1 >= MaxAttempts
       THEN /\ errorQueue' = errorQueue \cup {worker.msg}
            /\ queue' = [queue EXCEPT ![worker.msg] = -1]
       ELSE /\ queue' = [queue EXCEPT ![worker.msg] = @ + 1]
            /\ UNCHANGED errorQueue
  /\ worker' = [worker EXCEPT !.step = "idle"]
  /\ UNCHANGED <<applied, processed, sent, nextId>>

Next == Receive \/ Store \/ Publish \/ Ack \/ Fail

Spec == Init /\ [][Next]_vars

Done == worker.step = "idle" /\ Pending = {}

NoGhostMessages == Done => \A s \in sent : applied[s[1]] > 0
NoLostMessages == Done => \A m \in Messages : applied[m] > 0 => (\E s \in sent : s[1] = m) \/ m \in errorQueue
NoDuplicateProcessing == \A m \in Messages : applied[m] <= 1
ConsistentOutput == \A s, t \in sent : s[1] = t[1] => s[2] = t[2]
==============================================================================
