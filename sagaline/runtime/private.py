"""Private files: a directory only its owner can enter, files only its owner
can read, and no symlink followed on the way.

The daemon's data directory holds live magic-link tokens (``gate.sqlite``),
outgoing mail and the installation secret. Finding 5 of issue 16: with umask
022 all of it was world-readable, and a pre-made symlink for ``daemon.lock``
or ``daemon.json.tmp`` was followed. So:

* :func:`ensure_private_dir` creates the directory 0700 and refuses one that
  its owner does not own or that group/others can enter (a clear message
  saying which and how to fix it; nothing is changed behind the operator's
  back);
* :func:`open_private` opens a file with ``O_NOFOLLOW`` (a symlink is refused,
  never followed), checks it is a regular file owned by us, and creates it
  0600;
* :func:`write_private` writes a file atomically through a temporary created
  exclusively (``O_EXCL | O_NOFOLLOW``; a stale temporary, or a symlink put
  in its place, is unlinked first, which removes the link, not its target).

The daemon also sets umask 077 at start, so every file its actors create
(SQLite databases and their WAL, logs, telemetry) is 0600.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sagaline.errors import SagalineError

__all__ = ["PrivacyError", "ensure_private_dir", "open_private", "write_private", "PRIVATE_UMASK"]

#: The umask the daemon runs with: files 0600, directories 0700.
PRIVATE_UMASK = 0o077


class PrivacyError(SagalineError):
    """A file or directory the daemon keeps private is not (shared, owned by
    someone else, a symlink, not a regular file). Raised by this module; the
    message names the path and the fix. Nothing was written."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (0700, parents too) if missing; refuse it if it is not private.

    Raises:
        PrivacyError: owned by another user, or group/others have any access.
    """
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise PrivacyError(f"{path} is not a directory")
    if info.st_uid != os.geteuid():
        raise PrivacyError(
            f"the data directory {path} belongs to uid {info.st_uid}, not to you "
            f"(uid {os.geteuid()}); use a directory of your own"
        )
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose:
        raise PrivacyError(
            f"the data directory {path} is open to other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); it holds secrets and tokens. "
            f"Run `chmod 700 {path}` (or choose another --data-dir)"
        )
    return path


def open_private(path: Path, flags: int, mode: int = 0o600, *, ours: bool = True) -> int:
    """``os.open`` that never follows a symlink and only accepts regular files (our own, unless ``ours=False``).

    Returns:
        The descriptor (close-on-exec).

    Raises:
        PrivacyError: ``path`` is a symlink, not a regular file, or not ours.
        OSError: anything else (missing file without ``O_CREAT``, ...).
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW: the last component is a symlink
            raise PrivacyError(f"{path} is a symbolic link; refusing to follow it (remove it)") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or (ours and info.st_uid != os.geteuid()):
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(info.st_mode) else f"owned by uid {info.st_uid}"
        raise PrivacyError(f"{path} is {what}; refusing to use it (remove it)")
    return fd


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (0600), following no symlink.

    Raises:
        PrivacyError: the temporary could not be created exclusively.
    """
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    try:
        fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        raise PrivacyError(f"{temporary} appeared while writing; another process writes there") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
    return path
