"""The saga actor's side of the durable journal: the :class:`Journal` interface over messages.

:class:`ActorJournal` implements :class:`~sagaline.storage.journal.Journal`
for one run by sending :class:`~sagaline.messages.journal.JournalWrite`
messages to the journal actor. Each write gets the next token; its ``then``
continuation waits in order until a :class:`~sagaline.messages.journal.JournalAck`
with ``upto`` at least that token arrives (the saga actor passes every
message to :meth:`ActorJournal.handle` first). Acknowledgements come in
order because the journal commits a run's writes in the order sent.

If the journal actor is restarted (a new address, learnt through a
``DirectoryUpdate`` named ``journal``), :meth:`ActorJournal.retarget`
re-sends every unacknowledged write and a pending load: writes are
idempotent, so a write that did reach the disk before the crash is not
doubled.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

from sagaline.messages.journal import (JournalAck, JournalAppend, JournalBegin, JournalFinish, JournalWrite,
                                       LoadRun, RunLoaded, StepRecord)
from sagaline.messages.saga import RunOutcome
from sagaline.storage.journal import JournalEntry, RunHistory, RunStart

__all__ = ["ActorJournal"]


class ActorJournal:
    """The journal of one run, kept by the journal actor at ``address``.

    Args:
        send: the saga actor's ``send(address, message)``.
        address: the journal actor.
    """

    durable = True

    def __init__(self, send: Callable[[Any, Any], None], address: Any) -> None:
        self._send = send
        self.address = address
        self._token = 0
        self._waiting: deque[tuple[JournalWrite, Callable[[], None]]] = deque()
        self._loading: tuple[str, Callable[[RunLoaded], None]] | None = None

    # ----- Journal interface ---------------------------------------------------------------

    def begin(self, start: RunStart, then: Callable[[], None], *, status: str = "running",
              steps: Sequence[StepRecord] = ()) -> None:
        self._write(JournalBegin(
            token=self._next(), correlation_id=start.run_id, saga=start.saga, version=start.version,
            inputs=dict(start.inputs), causation_id=start.causation_id, started_at=start.started_at,
            status=status, steps=list(steps), resumed_from=start.resumed_from, carried=dict(start.carried)), then)

    def record(self, run_id: str, entry: JournalEntry, then: Callable[[], None], *,
               status: str | None = None, steps: Sequence[StepRecord] = ()) -> None:
        self._write(JournalAppend(token=self._next(), correlation_id=run_id, seq=entry.seq, at=entry.at,
                                  event=entry.data, status=status or "running", steps=list(steps)), then)

    def finish(self, run_id: str, status: str, outcome: dict[str, Any], then: Callable[[], None]) -> None:
        self._write(JournalFinish(token=self._next(), correlation_id=run_id, status=status,
                                  outcome=RunOutcome.model_validate(outcome)), then)

    def unfinished(self) -> list[RunHistory]:
        """Not answered here: the saga supervisor asks the journal actor (``LoadUnfinished``)."""
        raise NotImplementedError("ask the journal actor with LoadUnfinished")

    def history(self, run_id: str) -> RunHistory | None:
        """Not answered synchronously: use :meth:`load`."""
        raise NotImplementedError("use ActorJournal.load")

    def handle(self, message: Any) -> bool:
        """Take a journal answer meant for this run; True when it was one."""
        if isinstance(message, JournalAck):
            self._acknowledged(message.upto)
            return True
        if isinstance(message, RunLoaded) and self._loading and message.correlation_id == self._loading[0]:
            then = self._loading[1]
            self._loading = None
            then(message)
            return True
        return False

    # ----- beyond the interface ------------------------------------------------------------

    def load(self, run_id: str, then: Callable[[RunLoaded], None]) -> None:
        """Ask for everything stored about ``run_id``; ``then(RunLoaded)`` when it comes."""
        self._loading = (run_id, then)
        self._send(self.address, LoadRun(correlation_id=run_id))

    def retarget(self, address: Any) -> None:
        """The journal actor moved: re-send what it may have lost."""
        self.address = address
        if address is None:
            return
        for message, _ in self._waiting:
            self._send(address, message)
        if self._loading is not None:
            self._send(address, LoadRun(correlation_id=self._loading[0]))

    @property
    def pending(self) -> int:
        """Writes not yet acknowledged."""
        return len(self._waiting)

    def _next(self) -> int:
        self._token += 1
        return self._token

    def _write(self, message: JournalWrite, then: Callable[[], None]) -> None:
        self._waiting.append((message, then))
        if self.address is not None:
            self._send(self.address, message)

    def _acknowledged(self, upto: int) -> None:
        while self._waiting and self._waiting[0][0].token <= upto:
            _, then = self._waiting.popleft()
            then()
