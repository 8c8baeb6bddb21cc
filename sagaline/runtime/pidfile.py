"""How a daemon claims its data directory and how a CLI finds it.

Two files in the data directory:

* ``daemon.lock`` -- held with ``flock`` by the running daemon for its whole
  life (the kernel drops the lock when the process dies, however it dies).
  A second daemon on the same directory is refused (:class:`DataDirBusy`).
  Only the daemon process holds it: actor processes are started through a
  clean launcher and inherit no descriptor.
* ``daemon.json`` -- written atomically once the daemon serves, removed when
  it begins to stop: ``pid``, ``admin_port``, ``bind_address``, ``base``,
  ``data_dir``, ``started_at``, ``tag`` (the actor system's process marker),
  ``version``. The CLI reads it to find the admin port (essential with
  ``--admin-port 0``); a file whose pid is gone is stale, one whose fields
  are not what the daemon writes is refused (:class:`BadDaemonInfo`).

Both are created 0600 without following a symlink (``O_NOFOLLOW``; the
temporary ``daemon.json.tmp`` exclusively): a link planted in the data
directory is refused, never written through (issue 16, finding 5).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from sagaline.errors import SagalineError
from sagaline.runtime.private import open_private, write_private
from sagaline.runtime.procs import pid_alive

__all__ = [
    "DEFAULT_ADMIN_PORT",
    "DEFAULT_DATA_DIR",
    "DaemonInfo",
    "DataDirLock",
    "DataDirBusy",
    "BadDaemonInfo",
    "DAEMON_FILE",
    "LOCK_FILE",
    "write_info",
    "read_info",
    "remove_info",
    "pid_alive",
]

#: sagaline's default admin port (unassigned by IANA; Thespian's own default, 1900, is SSDP's).
DEFAULT_ADMIN_PORT = 7720
#: Default data directory, relative to the daemon's working directory (``make run``: the checkout).
DEFAULT_DATA_DIR = Path("data")

DAEMON_FILE = "daemon.json"
LOCK_FILE = "daemon.lock"


class DataDirBusy(SagalineError):
    """Another daemon holds this data directory (raised by :meth:`DataDirLock.acquire`).

    Stop that daemon first, or give this one another ``--data-dir``.
    """


class BadDaemonInfo(SagalineError, ValueError):
    """``daemon.json`` exists but does not hold what a daemon writes (a field
    of the wrong type, such as a port that is not a number). Raised by
    :func:`read_info` with ``strict=True``; delete the file or fix it."""


@dataclass(frozen=True)
class DaemonInfo:
    """What ``daemon.json`` says about a running daemon."""

    pid: int
    admin_port: int | None
    bind_address: str
    base: str
    data_dir: str
    started_at: float
    tag: str | None = None
    version: str = ""


class DataDirLock:
    """The daemon's exclusive claim on a data directory (``flock`` on ``daemon.lock``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid into the lock file.

        Raises:
            DataDirBusy: Another process holds it (the message names its pid).
        """
        handle = os.fdopen(open_private(self.path, os.O_RDWR | os.O_CREAT), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DataDirBusy(
                f"another daemon (pid {holder}) uses the data directory {self.path.parent}; "
                "stop it first or pass another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def write_info(data_dir: Path, info: DaemonInfo) -> Path:
    """Write ``daemon.json`` atomically; return its path."""
    return write_private(Path(data_dir) / DAEMON_FILE, json.dumps(asdict(info), indent=1).encode())


def read_info(data_dir: Path, *, strict: bool = False) -> DaemonInfo | None:
    """Read ``daemon.json``; None when absent or unreadable (a half-written file never exists).

    Args:
        strict: Raise :class:`BadDaemonInfo` for a file that exists but is not a
            daemon's (instead of returning None).
    """
    path = Path(data_dir) / DAEMON_FILE
    try:
        info = DaemonInfo(**json.loads(path.read_text()))
        _check_fields(info)
        return info
    except OSError:
        return None
    except (ValueError, TypeError) as exc:
        if strict:
            raise BadDaemonInfo(f"{path} is not a daemon's file ({exc}); delete it if no daemon runs") from None
        return None


def _check_fields(info: DaemonInfo) -> None:
    if type(info.pid) is not int or info.pid <= 0:
        raise ValueError(f"pid {info.pid!r} is not a process id")
    port = info.admin_port
    if port is not None and (type(port) is not int or not 0 < port < 65536):
        raise ValueError(f"admin_port {port!r} is not a port number")
    if not isinstance(info.bind_address, str):
        raise ValueError(f"bind_address {info.bind_address!r} is not an address")


def remove_info(data_dir: Path, pid: int | None = None) -> None:
    """Remove ``daemon.json`` (only if it names ``pid``, when given)."""
    path = Path(data_dir) / DAEMON_FILE
    if pid is not None:
        found = read_info(data_dir)
        if found is None or found.pid != pid:
            return
    path.unlink(missing_ok=True)
