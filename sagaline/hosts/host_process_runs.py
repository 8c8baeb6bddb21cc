"""A saga host's process runs: single-run child hosts for sagas declared ``isolation="process"``.

A saga declared ``isolation="process"`` runs in a single-run host: a child
actor (its own OS process) of the partition's host (child id
``run:<correlation id>``, restart ``temporary``), which keeps its waiters
and its registry entry, relays requests to it, and rebuilds it from the
journal when it dies. The child tells its parent when the run has begun
(``RunBegun``), ended (``RunEnded``) or was withdrawn because its first
record could not be written (``RunWithdrawn``); the parent answers the
run's waiters and the requests it relayed.
"""

from __future__ import annotations

from typing import Any, Protocol

from sagaline.hosts.host_args import Launch
from sagaline.hosts.host_registry import run_key
from sagaline.hosts.run_book import RunBook
from sagaline.messages.batch import Routed
from sagaline.messages.saga import RunBegun, RunEnded, RunOutcome, RunWithdrawn, SagaRefused
from sagaline.messages.supervision import ExitReason
from sagaline.supervisors.api import ChildInfo, Children
from sagaline.supervisors.children import Child
from sagaline.supervisors.spec import child_spec

__all__ = ["ProcessRuns", "ProcessHost"]


class ProcessHost(Protocol):
    """What :class:`ProcessRuns` needs from its host."""

    book: RunBook
    cfg: Any
    directory: dict[str, Any]
    myAddress: Any

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` at the end of the pump."""

    def spawn(self, child: Child) -> None:
        """Start ``child`` as a child actor of the host."""

    def answer_all(self, answers: list[tuple[Any, Any]]) -> None:
        """Post each ``(who, message)``."""

    def run_over(self, result: RunOutcome) -> None:
        """Remember how a run ended and tell everyone waiting for it."""

    def lost(self, cid: str, saga: str, reason: ExitReason) -> None:
        """A run's actor died before its end was recorded."""

    def answer_ended(self, message: Any, sender: Any) -> None:
        """Answer a relayed request about a run that is not running here."""


class ProcessRuns:
    """The host's single-run child hosts (see the module docstring).

    Args:
        host: The partition's host.
        host_class: The class path of the single-run host (the saga host's own).
    """

    def __init__(self, host: ProcessHost, host_class: str) -> None:
        self.host = host
        self.host_class = host_class

    def spawn(self, launch: Launch) -> None:
        """Start, rebuild or succeed run ``launch.run_id`` in a single-run child host."""
        host = self.host
        spec = child_spec(
            f"run:{launch.run_id}",
            self.host_class,
            host.cfg.for_process_run(launch, host.directory),
            restart="temporary",
        )
        child = Child(spec.id, spec)
        host.book.processes[launch.run_id] = child
        host.book.process_sagas[launch.run_id] = launch.saga
        host.spawn(child)
        for message, _ in host.book.unanswered(launch.run_id):  # asked of a predecessor that died
            host.post(child.address, Routed(request=message, reply_to=host.myAddress))

    def find_child(self, child_id: str) -> Child | None:
        return self.host.book.processes.get(child_id[4:]) if child_id.startswith("run:") else None

    def all_children(self) -> list[Child]:
        return list(self.host.book.processes.values())

    def child_died(self, child: Child, reason: ExitReason) -> None:
        cid, book = child.id[4:], self.host.book
        if book.processes.pop(cid, None) is not None:
            self.host.lost(cid, book.process_sagas[cid], reason)

    def run_begun(self, message: RunBegun, sender: Any) -> None:
        book = self.host.book
        child = book.processes.get(message.correlation_id)
        if child is not None:
            self.host.answer_all(book.begun(message.correlation_id, book.process_sagas[message.correlation_id], sender))

    def run_withdrawn(self, message: RunWithdrawn) -> None:
        host, cid = self.host, message.correlation_id
        if host.book.processes.pop(cid, None) is None:
            return
        host.book.process_sagas.pop(cid, None)
        refusal = SagaRefused(code="storage_unavailable", message=f"the journal cannot be written: {message.reason}")
        host.answer_all(host.book.withdrawn(cid, refusal))
        for _request, requester in host.book.drop_relays(cid):
            host.post(requester, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}: its start was refused"))

    def run_ended(self, message: RunEnded) -> None:
        cid = message.outcome.correlation_id
        self.host.run_over(message.outcome)  # its host exits next: it is asked nothing more
        for request, requester in self.host.book.drop_relays(cid):
            self.host.answer_ended(request, requester)

    def which_children(self) -> Children:
        return Children(
            children=tuple(
                ChildInfo(
                    id=c.id,
                    address=c.address,
                    status="running" if c.alive else "undefined",
                    type="worker",
                    restarts=c.restarts,
                    pid=c.pid,
                    name=run_key(c.id[4:]),
                )
                for c in self.host.book.processes.values()
            )
        )
