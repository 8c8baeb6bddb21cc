"""PURE. Is the journal's storage fit to write, and what a saga host does about it.

A saga host writes its runs' journal records by group commit. When that
cannot be done (disk full, read-only, the device gone), nothing that follows
from an unwritten record may happen: the host must pause its runs, refuse
new starts with ``storage_unavailable``, say so, and resume when the storage
is back. This module decides; the host (:mod:`sagaline.hosts.host_storage`)
measures, sets timers and sends the alerts.

Two inputs tell a fault:

* **A failed write** (:meth:`StorageWatch.write_failed`): the group commit
  raised ``StorageError``. The write is tried again after a delay that
  doubles from :data:`FIRST_RETRY_S` up to :data:`MAX_RETRY_S`.
* **The periodic check** (:meth:`StorageWatch.checked`, every
  :data:`CHECK_EVERY_S`, idle or not): :func:`judge` reads the journal
  filesystem's numbers (``statvfs``) and the result of a small test write.
  A filesystem found read-only, unreachable, with less than
  :data:`MIN_FREE_BYTES` free, or refusing the test write is a fault even
  before a journal write fails; writes wait until a check finds it fit
  again, then are tried at once.

A fault ends when a write succeeds: the queued records were written, or,
with nothing queued, the check's test write was. Every change is an *edge*
(:data:`FAULT` once when a fault begins, :data:`RECOVERED` once when it
ends), so alerts go out once per fault, never once per retry.

>>> watch = StorageWatch()
>>> watch.write_failed("disk_full: database or disk is full", now=10.0)
'fault'
>>> watch.may_write(10.01), watch.may_write(10.05)
(False, True)
>>> watch.write_failed("disk_full: database or disk is full", now=10.05)  # no second alert
>>> watch.retry_at
10.15
>>> watch.wrote()
'recovered'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Space",
    "judge",
    "StorageWatch",
    "Edge",
    "FAULT",
    "RECOVERED",
    "FIRST_RETRY_S",
    "MAX_RETRY_S",
    "CHECK_EVERY_S",
    "MIN_FREE_BYTES",
]

#: First delay before a failed journal write is tried again; it doubles on every failure.
FIRST_RETRY_S = 0.05
#: Largest delay between two attempts (a disk freed by an operator is written within this, or the next check).
MAX_RETRY_S = 5.0
#: How often a host checks the journal's filesystem, idle or not (one ``statvfs``: microseconds).
CHECK_EVERY_S = 1.0
#: Free bytes under which the journal's filesystem counts as full. A group commit of a busy host
#: writes a few hundred KiB of WAL frames (4 KiB pages); 1 MiB leaves room for one, and a disk this
#: full fails the next ones anyway (SQLite answers SQLITE_FULL, or the filesystem ENOSPC).
MIN_FREE_BYTES = 1 << 20

Edge = Literal["fault", "recovered"]
FAULT: Edge = "fault"
RECOVERED: Edge = "recovered"


@dataclass(frozen=True, slots=True)
class Space:
    """What ``statvfs`` says about a filesystem.

    Attributes:
        free_bytes: bytes an unprivileged writer may still use (``f_bavail * f_frsize``).
        total_bytes: the filesystem's size.
        free_files: inodes still free (None: the filesystem does not count them).
        read_only: mounted read-only (``ST_RDONLY``).
    """

    free_bytes: int
    total_bytes: int
    free_files: int | None = None
    read_only: bool = False


def judge(
    where: str,
    space: Space | None,
    unreachable: str | None = None,
    probe_error: str | None = None,
    min_free_bytes: int = MIN_FREE_BYTES,
) -> str | None:
    """Why the filesystem at ``where`` cannot take journal writes; None when it can.

    Args:
        where: the journal's directory (named in the reason).
        space: its ``statvfs`` numbers; None when they could not be read.
        unreachable: why they could not be read (the ``OSError``'s text).
        probe_error: why a test write failed (None: it succeeded or was not tried).
        min_free_bytes: the free space under which it counts as full.

    Returns:
        One line for operators (``health``, logs, alerts), or None.
    """
    if space is None:
        return f"storage unreachable: {where}: {unreachable or 'statvfs failed'}"
    if space.read_only:
        return f"read-only filesystem: {where}"
    if space.free_bytes < min_free_bytes:
        return (
            f"disk full: {where} has {space.free_bytes} bytes free of {space.total_bytes} (less than {min_free_bytes})"
        )
    if space.free_files == 0:
        return f"disk full: {where} has no free inodes"
    if probe_error is not None:
        return f"test write failed: {where}: {probe_error}"
    return None


class StorageWatch:
    """One host's storage state: the fault (if any), the retry backoff, the edges (module docstring).

    Attributes:
        fault: why the journal cannot be written now (None: it can).
        delay: the last retry delay (0 before the first failure of a fault).
        retry_at: when a write may be tried again after a failed one (None: no failed write waits).
        unfit: the last check found the filesystem unfit: writes wait for a check that finds it fit.
        since: when the fault began (None: no fault).
    """

    def __init__(self) -> None:
        self.fault: str | None = None
        self.delay = 0.0
        self.retry_at: float | None = None
        self.unfit = False
        self.since: float | None = None

    def may_write(self, now: float) -> bool:
        """May the host try to write its queued records now?"""
        if self.fault is None:
            return True
        return not self.unfit and (self.retry_at is None or now >= self.retry_at)

    def write_failed(self, reason: str, now: float) -> Edge | None:
        """A journal write failed: wait before the next one (the delay doubles up to :data:`MAX_RETRY_S`)."""
        self.delay = min(MAX_RETRY_S, FIRST_RETRY_S if self.delay == 0 else self.delay * 2)
        self.retry_at = round(now + self.delay, 9)
        return self._faulted(reason, now)

    def checked(self, reason: str | None, now: float, pending: int) -> Edge | None:
        """The periodic check's verdict (``reason`` from :func:`judge`); ``pending``: records queued.

        A fit filesystem after an unfit one lets the queued records be tried at once; with nothing
        queued, the check's own test write ends the fault.
        """
        if reason is not None:
            self.unfit = True
            return self._faulted(reason, now)
        was_unfit, self.unfit = self.unfit, False
        if self.fault is None:
            return None
        if pending == 0:
            return self.wrote()
        if was_unfit:
            self.retry_at = now
        return None

    def wrote(self) -> Edge | None:
        """A journal write succeeded: the fault, if any, is over."""
        if self.fault is None:
            return None
        self.fault, self.delay, self.retry_at, self.unfit, self.since = None, 0.0, None, False, None
        return RECOVERED

    def _faulted(self, reason: str, now: float) -> Edge | None:
        first = self.fault is None
        self.fault = reason
        if first:
            self.since = now
            return FAULT
        return None
