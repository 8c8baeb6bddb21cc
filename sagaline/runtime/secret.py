"""The installation secret: the key every Thespian frame is sealed with.

One secret per installation (per data directory), like Erlang's
distribution cookie: 32 random bytes, stored hex-encoded in
``<data_dir>/secret.key``, mode 0600. The daemon creates it at its first
start (:func:`load_or_create_secret`, exclusive create, no symlink
followed) and refuses to start if the file is readable by others.

How a client (the CLI, ``sagaline.Client``, a test) finds it
(:func:`secret_path`, first that applies):

1. an explicit path;
2. ``SAGALINE_SECRET_FILE`` (a path: for a client whose data directory is
   elsewhere, or on another host of an ``--allow-remote`` daemon);
3. ``<data_dir>/secret.key``, the data directory being the one the client
   uses to find ``daemon.json`` (``--data-dir``, ``SAGALINE_DATA_DIR``,
   ``./data``).

A client must be able to read the file: by default only the daemon's user
can, which is the point. Rotation: stop the daemon, delete the file (or
write 64 new hex digits into it), start the daemon; every client reads the
file again at its next connection. See SECURITY.md.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from sagaline.runtime.errors import SecretError
from sagaline.runtime.frames import MIN_SECRET_BYTES
from sagaline.runtime.private import PrivacyError, open_private

__all__ = ["SECRET_FILE", "SECRET_ENV", "secret_path", "load_secret", "load_or_create_secret"]

SECRET_FILE = "secret.key"
SECRET_ENV = "SAGALINE_SECRET_FILE"
#: Largest secret file read (a hex secret is 64 characters; longer ones are allowed).
_MAX_FILE_BYTES = 4096


def secret_path(
    data_dir: str | os.PathLike, path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where a client reads the secret (see the module docstring)."""
    environ = os.environ if environ is None else environ
    return Path(path or environ.get(SECRET_ENV) or Path(data_dir) / SECRET_FILE)


def load_secret(path: str | os.PathLike, *, private: bool = False) -> bytes:
    """Read the secret at ``path``.

    Args:
        path: The secret file.
        private: Also refuse a file that group or others can read (the daemon's check).

    Raises:
        SecretError: missing, unreadable, a symlink, not hex, too short, or (``private``) shared.
    """
    path = Path(path)
    try:
        fd = open_private(path, os.O_RDONLY, ours=private)
    except FileNotFoundError:
        raise SecretError(
            f"no installation secret at {path}: the daemon creates it at its first start; "
            f"a client on another layout sets {SECRET_ENV}"
        ) from None
    except (OSError, PrivacyError) as exc:
        raise SecretError(f"cannot read the installation secret {path}: {exc}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        text = handle.read(_MAX_FILE_BYTES)
    if private and mode & 0o077:
        raise SecretError(
            f"the installation secret {path} is readable by other users (mode {mode:04o}); "
            f"run `chmod 600 {path}` and consider rotating it (SECURITY.md)"
        )
    return _decode(text, path)


def _decode(text: bytes, path: Path) -> bytes:
    try:
        secret = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise SecretError(f"the installation secret {path} is not hex text") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretError(
            f"the installation secret {path} is too short: {len(secret)} bytes, at least "
            f"{MIN_SECRET_BYTES} needed ({2 * MIN_SECRET_BYTES} hex digits)"
        )
    return secret


def load_or_create_secret(data_dir: str | os.PathLike) -> bytes:
    """The daemon's secret: read ``<data_dir>/secret.key``, or create it (0600, exclusive).

    Raises:
        SecretError: the file exists but is unusable or shared, or cannot be created.
    """
    path = Path(data_dir) / SECRET_FILE
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return load_secret(path, private=True)
    except (OSError, PrivacyError) as exc:
        raise SecretError(f"cannot create the installation secret {path}: {exc}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret.hex().encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return secret
