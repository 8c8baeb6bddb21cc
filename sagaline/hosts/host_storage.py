"""A saga host's storage guard: measures the journal's filesystem and raises the alerts.

The decisions are :class:`~sagaline.sagas.storage.StorageWatch`'s (pure);
this is the thin part around it that touches the world:

* **measures**: at every check, ``statvfs`` of the journal's directory
  (a read-only mount, a full disk, a directory gone) and a test write of
  4 KiB beside the journal, removed at once. The test write finds what
  ``statvfs`` does not show: ext4 gone read-only after an I/O error
  (``errors=remount-ro``) still reports itself writable. While the host is
  healthy it is not fsynced (a created and removed file costs the
  filesystem a little metadata, no data I/O); during a fault it is, and it
  tells when the storage takes writes again;
* **alerts** on each edge, once per fault and once per recovery: a log
  line (``sagaline.saga``, WARNING), the telemetry event
  ``sagaline.saga.storage_fault`` (count 1, then 0; the metrics bridge
  turns it into the gauge ``sagaline.saga.storage.faulted``), and a bus
  event (``system.storage.fault`` / ``system.storage.recovered``, see
  :mod:`sagaline.sagas.storage_alerts`) to the event bus when the host
  knows it.

Args:
    index: the host's partition (named in every alert).
    journal_path: the journal's location: a SQLite file (its filesystem is checked) or a PostgreSQL one.
    announce: sends a bus command to the event bus (the host posts it when it knows the bus).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagaline.messages.ids import uuid7
from sagaline.sagas.storage import FAULT, RECOVERED, Edge, Space, StorageWatch, judge
from sagaline.sagas.storage_alerts import fault_announcement, recovery_announcement
from sagaline.storage.errors import StorageError
from sagaline.storage.location import is_postgres, redacted
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["StorageGuard", "measure"]

_log = logging.getLogger("sagaline.saga")
#: Bytes of the test write: one page, as a journal write's smallest.
_PROBE_BYTES = 4096


def measure(directory: Path, probe_name: str | None = None, sync: bool = False) -> str | None:
    """Why ``directory``'s filesystem cannot take journal writes now (None: it can).

    Args:
        directory: the journal's directory.
        probe_name: with a name, also write (and remove) a test file of that name there.
        sync: fsync the test file before removing it.
    """
    try:
        st = os.statvfs(directory)
    except OSError as exc:
        return judge(str(directory), None, unreachable=exc.strerror or str(exc))
    space = Space(
        free_bytes=st.f_bavail * st.f_frsize,
        total_bytes=st.f_blocks * st.f_frsize,
        free_files=st.f_favail if st.f_files else None,
        read_only=bool(st.f_flag & os.ST_RDONLY),
    )
    verdict = judge(str(directory), space)
    if verdict is not None or probe_name is None:
        return verdict
    return judge(str(directory), space, probe_error=_test_write(directory / probe_name, sync))


def _test_write(path: Path, sync: bool) -> str | None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * _PROBE_BYTES)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        try:
            path.unlink()
        except OSError:
            pass


class StorageGuard:
    """See the module docstring."""

    def __init__(self, index: int, journal_path: str, announce: Callable[[Any], None]) -> None:
        self.index, self.path, self.announce = index, redacted(journal_path), announce
        self.local = not is_postgres(journal_path)
        """A journal in a local file, whose filesystem :meth:`check` measures (a PostgreSQL journal is
        on another machine's disk: its faults are found by failed writes alone, retried with backoff)."""
        # a symlinked journal: SQLite writes beside its target
        self.directory = Path(journal_path).resolve().parent if self.local else None
        self.watch = StorageWatch()
        self.fault_id: str | None = None
        self.began: float | None = None

    @property
    def fault(self) -> str | None:
        """Why the journal cannot be written now (None: it can)."""
        return self.watch.fault

    def may_write(self, now: float) -> bool:
        """May the queued records be tried now?"""
        return self.watch.may_write(now)

    def retry_in(self, now: float) -> float:
        """Seconds until a failed write may be tried again (0: now, or it waits for a check instead)."""
        retry_at = self.watch.retry_at
        return max(0.0, retry_at - now) if retry_at is not None and self.watch.fault is not None else 0.0

    def write_failed(self, exc: StorageError, now: float, pending: int) -> float:
        """The group commit failed: alert on the first failure; return the seconds until the next try."""
        self._edge(self.watch.write_failed(f"{exc.reason}: {exc}", now), now)
        delay = self.watch.delay
        _log.warning(
            "host %d: journal write failed (%s); %d records wait, retry in %.2f s", self.index, exc, pending, delay
        )
        return delay

    def wrote(self, now: float) -> None:
        """The group commit succeeded."""
        self._edge(self.watch.wrote(), now)

    def check(self, now: float, pending: int) -> None:
        """The periodic check: measure, with a test write (fsynced during a fault); feed the verdict in."""
        if self.directory is None:
            return
        probe = f".sagaline-probe-{self.index}-{os.getpid()}"
        self._edge(self.watch.checked(measure(self.directory, probe, sync=self.fault is not None), now, pending), now)

    def _edge(self, edge: Edge | None, now: float) -> None:
        if edge == FAULT:
            self.fault_id, self.began = uuid7(), now
            _log.warning(
                "host %d: the journal %s cannot be written (%s); its runs pause, new starts are refused "
                "with storage_unavailable",
                self.index,
                self.path,
                self.fault,
            )
            telemetry.execute(tn.SAGA_STORAGE_FAULT, {"count": 1}, {"host": self.index, "fault": self.fault})
            self.announce(fault_announcement(self.fault_id, self.index, self.path, self.fault or "unknown"))
        elif edge == RECOVERED:
            lasted = now - (self.began or now)
            _log.warning(
                "host %d: the journal %s is written again after %.1f s; its runs resume", self.index, self.path, lasted
            )
            telemetry.execute(tn.SAGA_STORAGE_FAULT, {"count": 0}, {"host": self.index, "fault": None})
            self.announce(recovery_announcement(self.fault_id or uuid7(), self.index, self.path, lasted))
            self.fault_id = self.began = None
