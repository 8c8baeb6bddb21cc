"""Finding the running daemon and talking to its admin door (the CLI's only I/O).

Where the daemon is (first that applies):

1. the admin port: ``--admin-port``, else ``SAGALINE_ADMIN_PORT``, else
   ``daemon.json`` in the data directory (``--data-dir``, else
   ``SAGALINE_DATA_DIR``, else ``./data``), else the default port 7720;
2. the host: ``--host``, else ``SAGALINE_BIND_ADDRESS``, else the address in
   ``daemon.json``, else 127.0.0.1 (``0.0.0.0`` means "this host").

Before joining, the port is probed with a plain TCP connect: joining a port
where nothing listens would silently start a new, empty actor system
(thespian-notes.md). Then the listener must prove that it knows the
installation secret (``sagaline.runtime.join_system`` sends a hello frame and
checks the HMAC proof) before anything else is sent or unpickled: a program
squatting the admin port while the daemon is down is refused, and the
message says why. The secret is read from ``SAGALINE_SECRET_FILE``, else
``<data dir>/secret.key`` (:func:`sagaline.runtime.secret_path`). The CLI
never starts an actor system and never shuts one down;
:meth:`AdminClient.close` only lets go of its endpoint.

Requests travel as codec bytes and answers come back as codec bytes: the
daemon never unpickles a CLI-side class, and a version mismatch between CLI
and daemon is a clear ``unsupported_version`` error instead of a pickle
failure.

Errors::

    SagalineError
    +-- CliError            (exit_code)
        +-- BadInput        a value the CLI was given cannot be used (exit 2)
        +-- NoDaemon        nothing to talk to, or not our daemon (exit 3)
        +-- NoAnswer        the daemon did not answer in time (exit 4)
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sagaline.daemon.config import DEFAULT_ADMIN_PORT, DEFAULT_DATA_DIR
from sagaline.daemon.pidfile import BadDaemonInfo, DaemonInfo, pid_alive, read_info
from sagaline.errors import SagalineError
from sagaline.messages import codec
from sagaline.messages.admin import ADMIN_DOOR_NAME, AdminError, AdminRequest, AdminResult
from sagaline.runtime.secret import secret_path

__all__ = ["Target", "locate", "AdminClient", "CliError", "BadInput", "NoDaemon", "NoAnswer", "EXIT_BAD_INPUT",
           "EXIT_NO_DAEMON", "EXIT_NO_ANSWER"]

EXIT_BAD_INPUT, EXIT_NO_DAEMON, EXIT_NO_ANSWER = 2, 3, 4
ADMIN_DOOR_CLASS = "sagaline.actors.admin.AdminDoor"
#: Seconds added to a request's own deadline before the CLI gives up on the answer.
ANSWER_MARGIN_S = 5.0
#: Largest answer decoded (a long event tail is far below it).
MAX_ANSWER_BYTES = 16 << 20


class CliError(SagalineError):
    """A CLI command could not be carried out; ``exit_code`` is the status to exit with."""

    exit_code = 1


class BadInput(CliError):
    """A value given to the CLI (flag, environment variable, ``daemon.json``,
    saga input) cannot be used; the message names it. Nothing was sent."""

    exit_code = EXIT_BAD_INPUT


class NoDaemon(CliError):
    """No daemon to talk to (nothing listening, a stale ``daemon.json``, or an
    in-process daemon without an admin port). Start one with ``sagaline run``."""

    exit_code = EXIT_NO_DAEMON


class NoAnswer(CliError):
    """The daemon did not answer in time (it may be overloaded or stopping)."""

    exit_code = EXIT_NO_ANSWER


@dataclass(frozen=True)
class Target:
    """Where the CLI will look for the daemon, and why there."""

    host: str
    port: int
    source: str
    info: DaemonInfo | None = None
    secret_file: Path | None = None

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.source})"


def locate(admin_port: int | None = None, host: str | None = None, data_dir: str | os.PathLike | None = None,
           environ: Mapping[str, str] | None = None) -> Target:
    """Decide where the daemon should be (see the module docstring); no I/O but reading ``daemon.json``.

    Raises:
        NoDaemon: ``daemon.json`` names a daemon whose process is gone, or one without an admin port.
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
        port = _port(environ["SAGALINE_ADMIN_PORT"], "SAGALINE_ADMIN_PORT")
        return Target(host, port, "SAGALINE_ADMIN_PORT", info, secret)
    if unusable is not None:
        raise BadInput(str(unusable))
    if info is not None:
        _check_info(info, directory)
        return Target(host, int(info.admin_port), f"{directory / 'daemon.json'}", info, secret)
    return Target(host, DEFAULT_ADMIN_PORT, "the default port", None, secret)


def _port(value: Any, source: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise BadInput(f"{source}={value!r} is not a port number (1-65535)")
    return port


def _check_info(info: DaemonInfo, directory: Path) -> None:
    if not pid_alive(info.pid):
        raise NoDaemon(f"{directory / 'daemon.json'} is stale: the daemon (pid {info.pid}) is not running; "
                       "start one with `sagaline run`")
    if info.admin_port is None:
        raise NoDaemon(f"the daemon (pid {info.pid}) runs on {info.base}, which has no admin port; "
                       "the CLI needs a multiprocTCPBase daemon")


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2.0).close()
        return True
    except OSError:
        return False


class AdminClient:
    """A joined connection to the daemon's admin door.

    Args:
        target: Where the daemon is (:func:`locate`).
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.handle: Any = None
        self.door: Any = None

    def connect(self) -> "AdminClient":
        """Probe, join, find the door.

        Raises:
            NoDaemon: Nothing listens on the target (nothing was started).
        """
        if not _listening(self.target.host, self.target.port):
            raise NoDaemon(f"no sagaline daemon is running on {self.target.describe()}; "
                           "start one with `sagaline run` (or `make run`)")
        from sagaline.runtime import NoSystemListening, NotTheDaemon, SecretError, join_system, load_secret

        try:
            secret = load_secret(self.target.secret_file)
            self.handle = join_system(self.target.port, bind_address=self.target.host, secret=secret)
        except (NoSystemListening, SecretError) as exc:
            raise NoDaemon(f"{exc}") from None
        except NotTheDaemon as exc:
            raise NoDaemon(f"refusing to talk to {self.target.describe()}: {exc}") from None
        self.door = self.handle.create_actor(ADMIN_DOOR_CLASS, global_name=ADMIN_DOOR_NAME)
        return self

    def request(self, request: AdminRequest) -> AdminResult | AdminError:
        """Send one admin request; return the daemon's answer.

        Raises:
            NoAnswer: No answer within the request's deadline plus a margin.
        """
        from sagaline.runtime import AskTimeout

        if self.handle is None:
            self.connect()
        elif not _listening(self.target.host, self.target.port):
            raise NoDaemon(f"the daemon on {self.target.describe()} is gone")
        timeout = request.deadline_s() + ANSWER_MARGIN_S
        try:
            payload = codec.encode(request)
        except codec.CodecError as exc:
            raise BadInput(f"this request cannot be sent: {exc}") from None
        try:
            reply = self.handle.ask(self.door, payload, timeout)
        except AskTimeout:
            raise NoAnswer(f"the daemon on {self.target.describe()} did not answer within {timeout:g} s") from None
        if not isinstance(reply, (bytes, bytearray)):
            return AdminError(code="internal", message=f"unexpected answer {type(reply).__name__}")
        answer = codec.decode(bytes(reply), max_bytes=MAX_ANSWER_BYTES)
        if not isinstance(answer, (AdminResult, AdminError)):
            return AdminError(code="internal", message=f"unexpected answer {type(answer).__name__}")
        return answer

    def close(self) -> None:
        """Let go of the connection; the daemon's system keeps running (never shut down from here)."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
