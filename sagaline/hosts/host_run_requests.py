"""A saga host's answers to requests about one run: wait, cancel, status, and the operator's actions.

The host (:class:`~sagaline.hosts.saga_host.SagaHost`) hands these requests
to its :class:`RunRequests`, which answers them from what the host knows:

* **wait** (``AwaitRun``): a finished run's outcome, a waiter on a run in
  progress, or the journal's recorded outcome; an unknown run is refused
  ``unknown_run`` (or forwarded to the daemon whose host holds the partition);
* **cancel / status** (``CancelRun``, ``RunStatus``): delivered to the run
  if it runs here, relayed to its single-run host (the answer comes back
  through the host and goes on, in order), or answered from the journal (a
  status by replay) when the run is not running;
* **operator actions** (``RetryCompensation``, ``ResumeRun``): only on a
  durable journal, on a run that exists, is not in progress and whose saga
  is in the catalog; the decision is :mod:`sagaline.saga.operator`'s (a
  refusal, a reopened run rebuilt with the operation, or a successor run in
  this partition).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sagaline.hosts.host_args import Launch, Rebuild, Successor
from sagaline.hosts.run_book import RunBook
from sagaline.hosts.saga_run import Operation
from sagaline.messages.batch import Routed
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    CancelRun,
    OperatorAnswer,
    ResumeRun,
    RetryCompensation,
    RunStatus,
    SagaRefused,
)
from sagaline.saga import Executor
from sagaline.saga.journal import replay
from sagaline.saga.operator import Refuse, Reopen, decide_resume, decide_retry
from sagaline.saga.placement import successor_id
from sagaline.saga.shell import snapshot

__all__ = ["RunRequests", "RequestsHost"]

_log = logging.getLogger("sagaline.saga")


class RequestsHost(Protocol):
    """What :class:`RunRequests` needs from its host."""

    book: RunBook
    journal: Any
    sagas: Any
    cfg: Any
    myAddress: Any

    @property
    def durable(self) -> bool:
        """True when the host keeps a durable journal."""

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` at the end of the pump."""

    def launch(self, launch: Launch) -> None:
        """Start, rebuild or succeed a run."""

    def deliver_to_run(self, cid: str, message: Any, reply_to: Any) -> None:
        """Put ``message`` in run ``cid``'s mailbox (or send it to its single-run host)."""

    def forwarded_elsewhere(self, message: Any, sender: Any) -> bool:
        """Sent on to the daemon whose host holds this partition?"""

    def standing_by(self) -> SagaRefused | None:
        """The refusal of a request while another daemon's host holds this partition."""

    def executor(self, saga: str) -> Executor:
        """The executor of saga ``saga``."""


class RunRequests:
    """Answers the requests about one run a host receives (see the module docstring)."""

    def __init__(self, host: RequestsHost) -> None:
        self.host = host

    # ----- wait, cancel, status ----------------------------------------------------------------

    def await_run(self, message: AwaitRun, sender: Any) -> None:
        host, cid = self.host, message.correlation_id
        if cid in host.book.finished:
            host.post(sender, host.book.finished[cid])
        elif host.book.known(cid):
            host.book.wait(cid, sender)
        else:
            out = host.journal.store.find(cid)[1] if host.durable else None
            if out is None and host.forwarded_elsewhere(message, sender):
                return
            host.post(
                sender, out or host.standing_by() or SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}")
            )

    def to_run(self, message: CancelRun | RunStatus, sender: Any) -> None:
        host, cid = self.host, message.correlation_id
        refused = host.standing_by()
        if refused is not None and not host.forwarded_elsewhere(message, sender):
            host.post(sender, refused)  # the partition's runs live in the lease holder's daemon
            return
        if refused is not None:
            return
        saga = host.book.promote(cid)
        if saga is not None:
            host.launch(Rebuild(cid, saga))
        if cid in host.book.live:
            host.deliver_to_run(cid, message, sender)
        elif cid in host.book.processes:  # its answer comes back here and goes on, in order
            host.book.relay(cid, message, sender)
            child = host.book.processes[cid]
            if child.address is not None:
                host.post(child.address, Routed(request=message, reply_to=host.myAddress))
        else:
            self.answer_ended(message, sender)

    def relayed_answer(self, cid: str, answer: Any) -> None:
        who = self.host.book.relayed_answer(cid)
        if who is not None:
            self.host.post(who, answer)

    def answer_ended(self, message: CancelRun | RunStatus, sender: Any) -> None:
        """Answer about a run that is not running here: from the journal (a snapshot by replay)."""
        host, cid = self.host, message.correlation_id
        summary, out = host.journal.store.find(cid) if host.durable else (None, host.book.finished.get(cid))
        status = summary.status if summary is not None else (out.status if out is not None else None)
        if status is None:
            host.post(sender, SagaRefused(code="unknown_run", message=f"no run {cid!r:.80}"))
            return
        state = self._replayed(summary.saga, cid) if isinstance(message, RunStatus) and summary else None
        if state is None:
            host.post(sender, CancelAnswer(correlation_id=cid, accepted=False, status=status))
        else:
            host.post(sender, snapshot(state).model_copy(update={"status": status}))

    def _replayed(self, saga: str, cid: str) -> Any:
        """A run rebuilt from its journal to show it; None when that cannot be done."""
        history = self.host.journal.store.load(cid)
        if history is None or history.problem or saga not in self.host.sagas:
            return None
        try:
            return replay(self.host.executor(saga), history)
        except Exception as exc:  # shown as a status only; an operator's resume reports why
            _log.warning("run %s cannot be replayed to show it: %s", cid, exc)
            return None

    # ----- operator actions --------------------------------------------------------------------

    def retry_compensation(self, message: RetryCompensation, sender: Any) -> None:
        summary = self._operable(message.correlation_id, sender)
        if summary is not None:
            self._decided(
                summary,
                decide_retry(summary),
                Operation("retry_compensations", sender, steps=tuple(message.steps)),
                sender,
            )

    def resume(self, message: ResumeRun, sender: Any) -> None:
        summary = self._operable(message.correlation_id, sender)
        if summary is None:
            return
        decision = decide_resume(summary)
        if isinstance(decision, (Refuse, Reopen)):
            self._decided(summary, decision, Operation("resume", sender, from_step=message.from_step), sender)
        else:
            cfg = self.host.cfg
            successor = successor_id(cfg.index, cfg.count)  # in this partition: this host holds it
            self.host.launch(Successor(successor, summary.saga, summary.correlation_id, message.from_step, sender))

    def _decided(self, summary: Any, decision: Any, operation: Operation, sender: Any) -> None:
        cid = summary.correlation_id
        if isinstance(decision, Refuse):
            self.answer(sender, cid, False, decision.status, decision.message, decision.successor)
            return
        self.host.book.reopen(cid)
        self.host.launch(Rebuild(cid, summary.saga, operation if decision.kind else None))
        if decision.kind is None:
            self.answer(sender, cid, True, "running", "recovery is tried again")

    def _operable(self, cid: str, sender: Any) -> Any:
        """The journal's summary of a run an operator may act on; None after answering a refusal."""
        host = self.host
        if not host.durable:
            self.answer(sender, cid, False, "unknown", "this tree keeps no durable journal")
            return None
        summary = host.journal.store.find(cid)[0]
        if summary is None:
            self.answer(sender, cid, False, "unknown", "no such run")
        elif host.book.known(cid) or any(
            r.successor and r.successor.predecessor == cid for r in host.book.live.values()
        ):
            self.answer(sender, cid, False, summary.status, "the run is in progress")
        elif summary.saga not in host.sagas:
            self.answer(sender, cid, False, summary.status, f"saga {summary.saga!r} is not in the catalog")
        else:
            return summary
        return None

    def answer(self, to: Any, cid: str, accepted: bool, status: str, text: str, successor: str | None = None) -> None:
        """Send an operator's answer about run ``cid`` to ``to``."""
        self.host.post(
            to, OperatorAnswer(correlation_id=cid, accepted=accepted, status=status, message=text, successor=successor)
        )
