"""A saga host's journal faults: failed writes, starts taken back, the periodic storage check.

When the journal cannot be written (disk full, read-only, I/O errors),
nothing that follows from the unwritten records happens: runs pause, the
write is retried with backoff (doubling up to
:data:`~sagaline.sagas.storage.MAX_RETRY_S`), and a start whose first
record was not written is taken back and refused ``storage_unavailable``
(never half-accepted). The host checks the journal's filesystem every
:data:`~sagaline.sagas.storage.CHECK_EVERY_S` even when idle, so a full or
read-only disk is found before a write fails; it reports the fault in
``HostStats`` (hence ``health``) and alerts once per fault and once per
recovery (:class:`~sagaline.hosts.host_storage.StorageGuard`; the
decisions are :mod:`sagaline.sagas.storage`'s). Runs resume when a write
succeeds. A write refused because another host took the partition over
(``fenced``) crashes the host (:class:`~sagaline.hosts.host_lease.LeaseLost`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sagaline.hosts.host_admission import Admission
from sagaline.hosts.host_lease import LeaseLost
from sagaline.hosts.host_run_requests import RunRequests
from sagaline.hosts.host_storage import StorageGuard
from sagaline.hosts.run_book import RunBook
from sagaline.messages.saga import RunWithdrawn, SagaRefused
from sagaline.sagas.storage import CHECK_EVERY_S
from sagaline.storage.errors import StorageError

__all__ = ["JournalFaults", "FaultyHost"]

_log = logging.getLogger("sagaline.saga")


class FaultyHost(Protocol):
    """What :class:`JournalFaults` needs from its host."""

    book: RunBook
    cfg: Any
    journal: Any
    storage: StorageGuard
    timers: Any
    run_timers: Any
    parent: Any
    admission: Admission
    requests: RunRequests

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` at the end of the pump."""

    def answer_all(self, answers: list[tuple[Any, Any]]) -> None:
        """Post each ``(who, message)``."""

    def stop(self, reason: Any) -> None:
        """Exit (a single-run host whose start was taken back)."""


class JournalFaults:
    """Handles the journal's faults for a host (see the module docstring)."""

    def __init__(self, host: FaultyHost) -> None:
        self.host = host

    def retry_timer(self) -> None:
        """The ``journal`` timer: wait on, if the retry is not due yet."""
        wait = self.host.storage.retry_in(time.time())
        if wait:  # a wakeup may come a little early; the pump that follows a due one tries again
            self.host.timers.start("journal", wait)

    def check_timer(self) -> None:
        """The ``storage`` timer: check the journal's filesystem; on a fault, withdraw unwritten starts."""
        host = self.host
        host.storage.check(time.time(), host.journal.pending)
        if host.storage.fault is not None:
            self.withdraw_starts()
        host.timers.start("storage", CHECK_EVERY_S)

    def failed(self, exc: StorageError) -> None:
        """A journal write failed: retry it with backoff, and withdraw the starts it held (fenced: crash)."""
        host = self.host
        if exc.reason == "fenced":
            raise LeaseLost(str(exc)) from exc  # another host owns these runs now: crash, restart standing by
        host.timers.start("journal", host.storage.write_failed(exc, time.time(), host.journal.pending))
        self.withdraw_starts()

    def withdraw_starts(self) -> None:
        """Starts whose first record is not durable are taken back and refused: never half-accepted
        (a single-run host tells its parent, which answers the starter, and exits)."""
        host = self.host
        refusal = host.admission.refusal() or SagaRefused(
            code="storage_unavailable", message="the journal cannot be written"
        )
        for cid in host.journal.withdraw_starts():
            if host.cfg.launch is not None:
                host.post(host.parent, RunWithdrawn(correlation_id=cid, reason=host.storage.fault or ""))
                host.stop("normal")
                return
            run = host.book.live.get(cid)
            if run is not None:
                run.done = True
                host.run_timers.cancel_all(_of_run(cid))
                if run.successor is not None:
                    host.requests.answer(
                        run.successor.reply_to, run.successor.predecessor, False, "unknown", refusal.message
                    )
            host.answer_all(host.book.withdrawn(cid, refusal))

    def halted(self, rule: Any) -> None:
        """The journal halted by a rehearsal rule (tests): leave its marker; with ``freeze``, hang."""
        if rule.marker:
            Path(rule.marker).write_text("halted\n")
        _log.warning("journal halted by its rehearsal rule (%s)", rule.action)
        while rule.action == "freeze":  # the test kills the whole system now
            time.sleep(3600)


def _of_run(cid: str) -> Callable[[Any], bool]:
    """Whether a run timer's key belongs to run ``cid``."""
    return lambda key: bool(key[0] == cid)
