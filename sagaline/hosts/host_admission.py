"""A saga host's admission of starts: one run per correlation id, checked in memory and in the journal.

A ``StartSaga`` the host receives (:class:`~sagaline.hosts.saga_host.SagaHost`)
is checked by :func:`sagaline.sagas.admission.admit` (a known saga, valid
input), then answered, in this order:

* from a run under that id that this host knows (finished, running, or in
  a single-run host): that run (``existing``), or ``correlation_id_taken``
  if another saga's run holds the id;
* forwarded to the daemon whose host holds the partition (with leases);
* refused (:meth:`Admission.refusal`): ``unavailable`` while standing by or
  exiting, ``storage_unavailable`` while the journal cannot be written,
  ``max_children`` at ``max_runs``;
* from the journal's record of a run under that id (as for a known run);
* otherwise a new run is launched, its starter answered when it has begun
  (or, with ``wait``, when it ends).
"""

from __future__ import annotations

from typing import Any, Protocol

from sagaline.hosts.host_args import Launch, NewRun
from sagaline.hosts.run_book import RunBook
from sagaline.messages.saga import RunOutcome, SagaAccepted, SagaRefused, StartSaga
from sagaline.sagas.admission import admit

__all__ = ["Admission", "AdmittingHost"]


class AdmittingHost(Protocol):
    """What :class:`Admission` needs from its host."""

    book: RunBook
    journal: Any
    sagas: Any
    definitions: dict[str, Any]
    storage: Any
    cfg: Any
    myAddress: Any

    @property
    def durable(self) -> bool:
        """True when the host keeps a durable journal."""

    @property
    def exiting(self) -> bool:
        """True once the host has begun to exit."""

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` at the end of the pump."""

    def launch(self, launch: Launch) -> None:
        """Start, rebuild or succeed a run."""

    def forwarded_elsewhere(self, message: Any, sender: Any) -> bool:
        """Sent on to the daemon whose host holds this partition?"""

    def standing_by(self) -> SagaRefused | None:
        """The refusal of a request while another daemon's host holds this partition."""


class Admission:
    """Admits or refuses the starts a host receives (see the module docstring)."""

    def __init__(self, host: AdmittingHost) -> None:
        self.host = host

    def start(self, message: StartSaga, sender: Any) -> None:
        """Admit a start: answer it from an existing run, forward it, refuse it, or launch a new run."""
        host = self.host
        verdict = admit(message, host.sagas, host.definitions)
        if isinstance(verdict, SagaRefused):
            host.post(sender, verdict)
            return
        cid = verdict.correlation_id
        if self._answer_existing(message, cid, sender):
            return
        if host.forwarded_elsewhere(message, sender):
            return
        refusal = self.refusal()
        if refusal is not None:
            host.post(sender, refusal)
            return
        if message.correlation_id and host.durable:
            summary, out = host.journal.store.find(cid)
            if summary is not None:
                self._answer_recorded(message, cid, summary.saga, out, sender, summary.status)
                return
        (host.book.wait if message.wait else host.book.accept_later)(cid, sender)
        start = message if message.correlation_id == cid else message.model_copy(update={"correlation_id": cid})
        host.launch(NewRun(cid, message.saga, start))

    def refusal(self) -> SagaRefused | None:
        """Why a new start is refused now (standing by, storage fault, exiting, ``max_runs``); None: admitted."""
        host = self.host
        refused = host.standing_by()
        if refused is not None:
            return refused
        if host.storage.fault is not None:
            return SagaRefused(
                code="storage_unavailable", message=f"the journal cannot be written: {host.storage.fault}"
            )
        if host.exiting:
            return SagaRefused(code="unavailable", message="the saga host is shutting down")
        limit = host.cfg.max_runs
        if limit is not None and host.book.active() + len(host.book.to_recover) >= limit:
            return SagaRefused(code="max_children", message=f"{limit} runs already in progress on this host")
        return None

    def _answer_existing(self, message: StartSaga, cid: str, sender: Any) -> bool:
        host = self.host
        finished = host.book.finished.get(cid)
        if finished is not None:
            self._answer_recorded(message, cid, finished.saga, finished, sender, finished.status)
            return True
        if not host.book.known(cid):
            return False
        saga = host.book.saga_of(cid) or message.saga
        if saga != message.saga:
            host.post(sender, _taken(cid, saga, "running"))
        elif message.wait:
            host.book.wait(cid, sender, existing=True)
        else:
            host.post(sender, SagaAccepted(correlation_id=cid, saga=saga, existing=True, address=self._address_of(cid)))
        return True

    def _answer_recorded(
        self, message: StartSaga, cid: str, saga: str, out: RunOutcome | None, sender: Any, status: str
    ) -> None:
        """A start under the id of a run that exists: that run (its saga's), or a refusal if another saga holds it."""
        host = self.host
        if saga != message.saga:
            host.post(sender, _taken(cid, saga, status))
        elif message.wait and out is not None:
            host.post(sender, out.model_copy(update={"existing": True}))
        elif message.wait:
            host.book.wait(cid, sender, existing=True)
        else:
            host.post(sender, SagaAccepted(correlation_id=cid, saga=saga, existing=True))

    def _address_of(self, cid: str) -> Any:
        host = self.host
        child = host.book.processes.get(cid)
        return child.address if child is not None else host.myAddress


def _taken(cid: str, saga: str, status: str) -> SagaRefused:
    """One run per correlation id (a registry's unique key): another saga's start under it is refused."""
    return SagaRefused(
        code="correlation_id_taken",
        message=f"correlation id {cid} is held by a run of {saga!r} ({status}); "
        "start another saga under a new id (its causation id may name this run)",
    )
