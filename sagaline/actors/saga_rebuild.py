"""The saga actor's rebuilding half: a run loaded from the journal, replayed, continued.

:class:`Rebuilding` is mixed into :class:`~sagaline.actors.saga_actor.SagaActor`
(see its docstring for the ``BeginRun`` variants). Everything here runs once
the journal actor has answered ``LoadRun``: the run is replayed through the
pure executor (``replay``), then continued (``executor.recover``), finished
again, or given the operator's action. A run that cannot be rebuilt is
finished ``needs_operator``, never dropped.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sagaline.actors.journal_port import ActorJournal
from sagaline.actors.saga_support import carry_over, emit_start, finished_of, operator_outcome
from sagaline.messages.journal import RunLoaded
from sagaline.messages.saga import OperatorAnswer
from sagaline.saga import InputError, Invoke, ResumeRequested, RetryCompensations
from sagaline.saga.records import CorruptRecord
from sagaline.saga.shell import outcome
from sagaline.storage.journal import history_of, replay

__all__ = ["Rebuilding"]

_log = logging.getLogger("sagaline.saga")


class Rebuilding:
    """Mixin of the saga actor: load, replay, continue (or mark needs_operator)."""

    def _load(self, run_id: str, then: Any) -> None:
        if not isinstance(self.journal, ActorJournal):
            self._cannot_rebuild("no_journal", "this tree keeps no durable journal")
            return
        self.journal.load(run_id, then)

    def _rebuild(self, loaded: RunLoaded) -> None:
        state = self._replayed(loaded)
        if state is None:
            return
        self.state, self.seq = state, loaded.events[-1].seq if loaded.events else 0
        self.carried = dict(loaded.carried)
        emit_start(self.meta, self.root_span, self.begun_ns, recovered=True)
        operation = self.begin.operation
        if operation is not None:
            self._operate(loaded)
        elif loaded.finished and loaded.outcome is not None:
            self._report(loaded.outcome)  # nothing to do: it had ended
        elif state.terminal or state.status == "halted":
            self._finish(finished_of(state))
        else:
            commands = self.executor.recover(state, time.time())
            self.uncertain.update((c.key, 0) for c in commands if isinstance(c, Invoke))
            self._carry_out(commands)
        self._replay_deferred()

    def _replayed(self, loaded: RunLoaded) -> Any:
        """The run rebuilt from ``loaded``, or None after marking it needs_operator."""
        if not loaded.found:
            self._cannot_rebuild("unknown_run", "the journal has no such run")
            return None
        if loaded.problem:
            self._cannot_rebuild("corrupt_record", loaded.problem)
            return None
        try:
            return replay(self.executor, history_of(loaded))
        except (CorruptRecord, InputError) as exc:
            self._cannot_rebuild("corrupt_record", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a journal that no longer fits the definition
            self._cannot_rebuild("replay_failed", f"{type(exc).__name__}: {exc}")
        return None

    def _cannot_rebuild(self, code: str, message: str) -> None:
        """Record the run as needing an operator (never drop it), tell the supervisor, exit."""
        begin = self.begin
        _log.warning("run %s needs an operator: %s: %s", begin.correlation_id, code, message)
        self._answer_operator(False, "needs_operator", f"{code}: {message}")
        if begin.resume_from:
            self.stop("normal")  # a successor that never began: nothing of it exists
            return
        out = operator_outcome(begin.correlation_id, begin.saga, code, message, time.time())
        if begin.recover and isinstance(self.journal, ActorJournal):
            self.journal.finish(begin.correlation_id, "needs_operator", out.model_dump(mode="python"),
                                lambda: self._report(out))
        else:
            self._report(out)

    def _operate(self, loaded: RunLoaded) -> None:
        """Apply the operator action of ``BeginRun`` to the rebuilt run and answer it."""
        before, begin = self.state, self.begin
        if begin.operation == "resume" and begin.from_step is not None and \
                getattr(before.steps.get(begin.from_step), "status", None) != "pending":
            self._decline(loaded, f"a halted run resumes at its pending steps; {begin.from_step!r} is not one")
            return
        event = RetryCompensations(tuple(begin.steps)) if begin.operation == "retry_compensations" \
            else ResumeRequested()
        self._apply(event)
        if self.state is before:
            self._decline(loaded, f"nothing to do: the run is {before.status}")
            return
        self._answer_operator(True, self.state.status, f"{begin.operation} applied")
        self._drain()

    def _decline(self, loaded: RunLoaded, why: str) -> None:
        self._answer_operator(False, self.state.status, why)
        self._report(loaded.outcome or outcome(self.state, finished_of(self.state)))

    def _start_successor(self, loaded: RunLoaded) -> None:
        old = self._replayed(loaded)
        if old is None:
            return
        from_step = self.begin.from_step or (old.failure[0] if old.failure else None)
        if from_step is not None and from_step not in old.steps:
            self._cannot_rebuild("unknown_step", f"{self.begin.saga} has no step {from_step!r}")
            return
        self.carried = carry_over(self.executor, old, from_step)
        self._start(dict(loaded.inputs), loaded.correlation_id, resumed_from=loaded.correlation_id)

    def _answer_operator(self, accepted: bool, status: str, message: str) -> None:
        begin = self.begin
        if begin is None or not (begin.operation or begin.resume_from) or self.parent is None:
            return
        self.send(self.parent, OperatorAnswer(correlation_id=begin.resume_from or begin.correlation_id,
                                              accepted=accepted, status=status, message=message,
                                              successor=begin.correlation_id if begin.resume_from else None))
