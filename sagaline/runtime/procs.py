"""Process accounting by environment marker, read from ``/proc``.

The launcher of a multiprocess actor system puts ``SAGALINE_SYSTEM_TAG=<uuid>``
in its environment; the admin, the logger and every actor process are
forked from it and inherit it (Thespian never rewrites ``os.environ``), so
the processes of one system are exactly those whose ``/proc/<pid>/environ``
holds that marker. This survives reparenting (orphans under init still
carry it) and needs no cooperation from the processes themselves.

Bounds: reading another user's ``environ`` needs the same uid (or root);
zombies have an empty ``environ`` and are not counted (they hold no
descriptors and run no code); a process that exec()s a new program with a
clean environment would be missed (actors never do).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["TAG_VARIABLE", "pids_with_tag", "kill_all", "wait_gone", "pid_alive"]

#: The environment variable every process of one system carries.
TAG_VARIABLE = "SAGALINE_SYSTEM_TAG"
_PROC = Path("/proc")


def pids_with_tag(tag: str, variable: str = TAG_VARIABLE) -> set[int]:
    """Return the pids of live (non-zombie) processes carrying ``tag``.

    Args:
        tag: The marker value set by the launcher.
        variable: The environment variable holding it (another marker, such
            as a test harness's, works the same way).

    Returns:
        The pids, never including the calling process.
    """
    needle = f"{variable}={tag}".encode()
    found: set[int] = set()
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if needle in environ.split(b"\0") and not _is_zombie(entry):
            found.add(int(entry.name))
    return found


def _is_zombie(entry: Path) -> bool:
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    return not _is_zombie(_PROC / str(pid))


def wait_gone(tag: str, timeout: float) -> set[int]:
    """Wait up to ``timeout`` seconds for every process with ``tag`` to end.

    Returns:
        The pids still alive when the time ran out (empty when all ended).
    """
    deadline = time.monotonic() + timeout
    alive = pids_with_tag(tag)
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = pids_with_tag(tag)
    return alive


def kill_all(tag: str, timeout: float = 2.0, variable: str = TAG_VARIABLE) -> set[int]:
    """SIGKILL every process carrying ``tag`` until none is left.

    Args:
        tag: The marker value.
        timeout: How long to keep killing (a dying parent may fork once more).
        variable: The environment variable holding the marker.

    Returns:
        Every pid that had to be killed.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    alive = pids_with_tag(tag, variable)
    while alive and time.monotonic() < deadline:
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        alive = pids_with_tag(tag, variable)
    return killed
