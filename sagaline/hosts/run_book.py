"""What a saga host knows about the runs of its partition, and who waits for them.

Pure bookkeeping, no actor operations: the host asks it questions and
sends what it answers. One :class:`RunBook` per host holds:

* the runs in progress: lightweight runs in the host (``live``) and runs in
  single-run child hosts (``processes``);
* who waits: for a start to become durable (``accepting``: answered
  ``SagaAccepted``), for a run's end (``waiters``: answered its ``RunOutcome``);
* how runs ended lately (a bounded cache; older ones are in the journal);
* how often each run's actor died (a poison run must not crash-loop);
* the unfinished runs still to rebuild after a restart, oldest first;
* the requests relayed to process runs, in order, until they answer.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from sagaline.messages.saga import RunOutcome, SagaAccepted

__all__ = ["RunBook"]


class RunBook:
    """See the module docstring.

    Args:
        finished_cache: how many ended runs to remember.
    """

    def __init__(self, finished_cache: int) -> None:
        self.live: dict[str, Any] = {}
        self.processes: dict[str, Any] = {}
        self.process_sagas: dict[str, str] = {}
        self.waiters: dict[str, list[tuple[Any, bool]]] = {}
        self.accepting: dict[str, list[Any]] = {}
        self.finished: OrderedDict[str, RunOutcome] = OrderedDict()
        self.deaths: dict[str, int] = {}
        self.to_recover: OrderedDict[str, str] = OrderedDict()
        self.relayed: dict[str, deque[tuple[Any, Any]]] = {}
        self._cache = finished_cache

    # ----- questions ----------------------------------------------------------------------

    def known(self, cid: str) -> bool:
        """True while ``cid`` is in progress here or waits to be rebuilt."""
        return cid in self.live or cid in self.processes or cid in self.to_recover

    def active(self) -> int:
        """Runs in progress."""
        return len(self.live) + len(self.processes)

    def saga_of(self, cid: str) -> str | None:
        """The saga of a run in progress (or waiting to be rebuilt)."""
        run = self.live.get(cid)
        if run is not None:
            return run.saga
        return self.process_sagas.get(cid) or self.to_recover.get(cid)

    # ----- waiting ------------------------------------------------------------------------

    def wait(self, cid: str, who: Any, existing: bool = False) -> None:
        """``who`` gets the run's outcome when it ends; ``existing``: ``who`` asked to start a run that
        already existed (its outcome says so)."""
        self.waiters.setdefault(cid, []).append((who, existing))

    def accept_later(self, cid: str, who: Any) -> None:
        """``who`` gets ``SagaAccepted`` once the run's start is durable."""
        self.accepting.setdefault(cid, []).append(who)

    def begun(self, cid: str, saga: str, address: Any) -> list[tuple[Any, SagaAccepted]]:
        """The start of ``cid`` is durable: the acceptances to send."""
        accepted = SagaAccepted(correlation_id=cid, saga=saga, existing=False, address=address)
        return [(who, accepted) for who in self.accepting.pop(cid, [])]

    def over(self, result: RunOutcome) -> list[tuple[Any, Any]]:
        """A run ended: remember it; the answers to send to everyone who waited."""
        cid = result.correlation_id
        self.live.pop(cid, None)
        self.processes.pop(cid, None)
        self.process_sagas.pop(cid, None)
        self.deaths.pop(cid, None)
        self.finished[cid] = result
        self.finished.move_to_end(cid)
        while len(self.finished) > self._cache:
            self.finished.popitem(last=False)
        answers: list[tuple[Any, Any]] = [
            (who, result.model_copy(update={"existing": True}) if existing else result)
            for who, existing in self.waiters.pop(cid, [])
        ]
        accepted = SagaAccepted(correlation_id=cid, saga=result.saga, existing=False)
        answers += [(who, accepted) for who in self.accepting.pop(cid, [])]
        return answers

    def withdrawn(self, cid: str, refusal: Any) -> list[tuple[Any, Any]]:
        """The start of ``cid`` was taken back before it was durable: forget the run; everyone waiting
        for it gets ``refusal`` (it never began, and nothing of it was written)."""
        self.live.pop(cid, None)
        waiting = [who for who, _ in self.waiters.pop(cid, [])] + self.accepting.pop(cid, [])
        return [(who, refusal) for who in waiting]

    def reopen(self, cid: str) -> None:
        """An operator acts on an ended run: forget how it ended (the journal says it again later)."""
        self.finished.pop(cid, None)
        self.deaths.pop(cid, None)

    # ----- deaths and recovery ---------------------------------------------------------------

    def died(self, cid: str) -> int:
        """The actor of ``cid`` died: how many times now."""
        deaths = self.deaths[cid] = self.deaths.get(cid, 0) + 1
        return deaths

    def to_rebuild(self, limit: int) -> list[tuple[str, str]]:
        """The next ``limit`` unfinished runs to rebuild, oldest first (however many are in progress:
        runs that wait in flight must not hold the others back)."""
        found: list[tuple[str, str]] = []
        while self.to_recover and len(found) < limit:
            found.append(self.to_recover.popitem(last=False))
        return found

    def promote(self, cid: str) -> str | None:
        """A request for ``cid`` arrived while it waited to be rebuilt: its saga, to rebuild it now."""
        return self.to_recover.pop(cid, None)

    # ----- requests relayed to process runs ---------------------------------------------------

    def relay(self, cid: str, request: Any, who: Any) -> None:
        """``request`` goes to the process run ``cid`` on ``who``'s behalf."""
        self.relayed.setdefault(cid, deque()).append((request, who))

    def relayed_answer(self, cid: str) -> Any:
        """Who asked the oldest request the process run ``cid`` just answered (None: nobody)."""
        waiting = self.relayed.get(cid)
        if not waiting:
            return None
        _, who = waiting.popleft()
        if not waiting:
            del self.relayed[cid]
        return who

    def unanswered(self, cid: str) -> list[tuple[Any, Any]]:
        """The requests relayed to ``cid`` still without an answer (kept: they go to its successor)."""
        return list(self.relayed.get(cid, ()))

    def drop_relays(self, cid: str) -> list[tuple[Any, Any]]:
        """The requests relayed to ``cid`` that it will never answer (it ended)."""
        return list(self.relayed.pop(cid, ()))
