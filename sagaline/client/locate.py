"""Where the daemon should be: from an address, a data directory, the environment, or the default.

First that applies:

1. the port: an explicit one (``--admin-port``, ``address=``), else
   ``SAGALINE_ADMIN_PORT``, else ``daemon.json`` in the data directory
   (given, else ``SAGALINE_DATA_DIR``, else ``./data``), else 7720;
2. the host: an explicit one (``--host``, ``address=``), else
   ``SAGALINE_BIND_ADDRESS``, else the address in ``daemon.json``, else
   127.0.0.1 (``0.0.0.0`` means "this host").

The installation secret the daemon's identity is checked with comes from
``SAGALINE_SECRET_FILE``, else ``<data dir>/secret.key``
(:func:`sagaline.runtime.secret_path`).

No I/O but reading ``daemon.json`` (and checking that the pid it names is
alive).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sagaline.client.errors import BadInput, DaemonUnreachable
from sagaline.runtime.pidfile import (
    DEFAULT_ADMIN_PORT,
    DEFAULT_DATA_DIR,
    BadDaemonInfo,
    DaemonInfo,
    pid_alive,
    read_info,
)
from sagaline.runtime.secret import secret_path

__all__ = ["Target", "locate", "parse_address"]


@dataclass(frozen=True)
class Target:
    """Where a client will look for the daemon, and why there."""

    host: str
    port: int
    source: str
    info: DaemonInfo | None = None
    secret_file: Path | None = None

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.source})"


def parse_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"host:port"``, ``":port"``, ``"port"`` or ``(host, port)`` -> ``(host, port)``.

    Raises:
        BadInput: not an address.
    """
    port: str | int
    if isinstance(address, tuple):
        host, port = address
    else:
        host, _, port = str(address).rpartition(":")
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise BadInput(f"not an address: {address!r} (want host:port)", "invalid") from None
    if not 0 < number < 65536:
        raise BadInput(f"not a port: {number}", "invalid")
    host = host or "127.0.0.1"
    return ("127.0.0.1" if host == "0.0.0.0" else host), number


def locate(
    admin_port: int | None = None,
    host: str | None = None,
    data_dir: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Decide where the daemon should be (see the module docstring).

    Raises:
        DaemonUnreachable: ``daemon.json`` names a daemon whose process is gone, or one without an admin port.
        BadInput: ``SAGALINE_ADMIN_PORT`` or ``daemon.json`` holds something that is not a port.
    """
    environ = os.environ if environ is None else environ
    directory = Path(data_dir or environ.get("SAGALINE_DATA_DIR") or DEFAULT_DATA_DIR)
    try:
        info, unusable = read_info(directory, strict=True), None
    except BadDaemonInfo as exc:
        info, unusable = None, exc
    host = host or environ.get("SAGALINE_BIND_ADDRESS") or (info.bind_address if info else None) or "127.0.0.1"
    host = "127.0.0.1" if host == "0.0.0.0" else host
    secret = secret_path(directory, environ=environ)
    if admin_port is not None:
        return Target(host, _port(admin_port, "--admin-port"), "--admin-port", info, secret)
    if environ.get("SAGALINE_ADMIN_PORT"):
        return Target(
            host, _port(environ["SAGALINE_ADMIN_PORT"], "SAGALINE_ADMIN_PORT"), "SAGALINE_ADMIN_PORT", info, secret
        )
    if unusable is not None:
        raise BadInput(str(unusable), "invalid")
    if info is not None:
        _check_info(info, directory)
        if info.admin_port is not None:  # _check_info refuses a file without one
            return Target(host, info.admin_port, f"{directory / 'daemon.json'}", info, secret)
    return Target(host, DEFAULT_ADMIN_PORT, "the default port", None, secret)


def _port(value: object, where: str) -> int:
    """``value`` as a port number, or BadInput naming ``where`` it came from."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        number = -1
    if not 0 < number < 65536:
        raise BadInput(f"{where}={value!r} is not a port number (1-65535)", "invalid")
    return number


def _check_info(info: DaemonInfo, directory: Path) -> None:
    if type(info.pid) is not int or not pid_alive(info.pid):
        raise DaemonUnreachable(
            f"{directory / 'daemon.json'} is stale: the daemon (pid {info.pid}) is not "
            "running; start one with `sagaline run`",
            "unreachable",
        )
    if info.admin_port is None:
        raise DaemonUnreachable(
            f"the daemon (pid {info.pid}) runs on {info.base}, which has no admin port; "
            "a client needs a multiprocTCPBase daemon",
            "unreachable",
        )
    if type(info.admin_port) is not int or not 0 < info.admin_port < 65536:
        raise DaemonUnreachable(
            f"{directory / 'daemon.json'} names no valid admin port ({info.admin_port!r})", "unreachable"
        )
