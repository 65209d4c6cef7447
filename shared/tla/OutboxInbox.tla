----------------------------- MODULE OutboxInbox -----------------------------
(***************************************************************************)
(* Two workers handle two copies of the same message with the outbox +     *)
(* inbox algorithm: an entity with a version (optimistic concurrency) and  *)
(* an outbox entry, and an inbox of processed message ids.                 *)
(*                                                                         *)
(* Mirrors shared/src/testing/models/outboxInbox.ts with inboxFirst false: *)
(* load the entity, then check the inbox. Swapping the two (the flawed     *)
(* variant) lets one worker check the inbox, the other finish and clean    *)
(* up, and the first load a clean entity and process the message again.    *)
(***************************************************************************)
EXTENDS Naturals, Sequences

CONSTANTS Workers, MaxFailures

VARIABLES doc,      \* [version, applied, outbox]: outbox is "out" or "none"
          inbox,    \* TRUE once the message id is marked processed
          sent,     \* number of times the outgoing message was dispatched
          pc,       \* worker -> its next step
          loaded,   \* worker -> the entity as it loaded it
          seen,     \* worker -> what the inbox said
          failures

vars == <<doc, inbox, sent, pc, loaded, seen, failures>>

Init ==
  /\ doc = [version |-> 0, applied |-> 0, outbox |-> "none"]
  /\ inbox = FALSE
  /\ sent = 0
  /\ pc = [w \in Workers |-> "load"]
  /\ loaded = [w \in Workers |-> doc]
  /\ seen = [w \in Workers |-> FALSE]
  /\ failures = 0

\* A write succeeds only if nobody wrote since this worker loaded; else it starts over.
Commit(w, new, next) ==
  IF doc.version = loaded[w].version
    THEN /\ doc' = [new EXCEPT !.version = loaded[w].version + 1]
         /\ loaded' = [loaded EXCEPT ![w] = [new EXCEPT !.version = loaded[w].version + 1]]
         /\ pc' = [pc EXCEPT ![w] = next]
    ELSE /\ pc' = [pc EXCEPT ![w] = "load"]
         /\ UNCHANGED <<doc, loaded>>

Load(w) ==
  /\ pc[w] = "load"
  /\ loaded' = [loaded EXCEPT ![w] = doc]
  /\ pc' = [pc EXCEPT ![w] = "check inbox"]
  /\ UNCHANGED <<doc, inbox, sent, seen, failures>>

CheckInbox(w) ==
  /\ pc[w] = "check inbox"
  /\ seen' = [seen EXCEPT ![w] = inbox]
  /\ pc' = [pc EXCEPT ![w] = "process"]
  /\ UNCHANGED <<doc, inbox, sent, loaded, failures>>

Process(w) ==
  /\ pc[w] = "process"
  /\ IF seen[w]
       THEN IF loaded[w].outbox = "none"
              THEN /\ pc' = [pc EXCEPT ![w] = "done"] /\ UNCHANGED <<doc, loaded>>
              ELSE Commit(w, [loaded[w] EXCEPT !.outbox = "none"], "done")
       ELSE IF loaded[w].outbox = "out"
              THEN /\ pc' = [pc EXCEPT ![w] = "dispatch"] /\ UNCHANGED <<doc, loaded>>
              ELSE Commit(w, [loaded[w] EXCEPT !.applied = @ + 1, !.outbox = "out"], "dispatch")
  /\ UNCHANGED <<inbox, sent, seen, failures>>

Dispatch(w) ==
  /\ pc[w] = "dispatch"
  /\ sent' = sent + 1
  /\ pc' = [pc EXCEPT ![w] = "mark inbox"]
  /\ UNCHANGED <<doc, inbox, loaded, seen, failures>>

\* After dispatch and before the outbox entry goes: dedup information is always somewhere.
MarkInbox(w) ==
  /\ pc[w] = "mark inbox"
  /\ inbox' = TRUE
  /\ pc' = [pc EXCEPT ![w] = "cleanup"]
  /\ UNCHANGED <<doc, sent, loaded, seen, failures>>

Cleanup(w) ==
  /\ pc[w] = "cleanup"
  /\ Commit(w, [loaded[w] EXCEPT !.outbox = "none"], "done")
  /\ UNCHANGED <<inbox, sent, seen, failures>>

Crash(w) ==
  /\ pc[w] \notin {"load", "done"}
  /\ failures < MaxFailures
  /\ failures' = failures + 1
  /\ pc' = [pc EXCEPT ![w] = "load"]
  /\ UNCHANGED <<doc, inbox, sent, loaded, seen>>

Next == \E w \in Workers :
          Load(w) \/ CheckInbox(w) \/ Process(w) \/ Dispatch(w) \/ MarkInbox(w) \/ Cleanup(w) \/ Crash(w)

Spec == Init /\ [][Next]_vars

Done == \A w \in Workers : pc[w] = "done"

NoDuplicateProcessing == doc.applied <= 1
NoLostMessages == Done => doc.applied = 1 /\ sent > 0 /\ doc.outbox = "none"
==============================================================================
