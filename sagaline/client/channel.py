"""The client's one I/O seam: open a connection to a daemon, send bytes to an actor, get bytes back.

:class:`Channel` is the interface; :class:`ThespianChannel` the real one;
:class:`sagaline.testing.channel.FakeChannel` the test double beside it.

:meth:`ThespianChannel.open`:

1. probes the admin port with a plain TCP connect (nothing listens: the
   daemon is not running; joining would have started a new actor system);
2. joins the actor system (a join never starts one, even if the admin
   vanished after the probe: :mod:`sagaline.runtime.guards`);
3. finds the admin door by its global name (an existing name is returned;
   the admin refuses to create a missing one for a client, which means the
   daemon is starting);
4. asks the door for the worker directory (:class:`~sagaline.messages.admin.AdminConnect`).

It never shuts the actor system down; :meth:`close` only lets go of this
process's endpoint. :meth:`ask` sends on a private endpoint per call with a
timeout, and says how the wait ended: a reply, nothing because the message
could not be delivered (the target is gone: Thespian gives up within
milliseconds), or nothing within the time.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sagaline.client.errors import DaemonStarting, DaemonUnreachable
from sagaline.client.locate import Target
from sagaline.messages import codec
from sagaline.messages.admin import ADMIN_DOOR_NAME, AdminConnect, AdminDirectory, AdminError

__all__ = [
    "Channel",
    "ThespianChannel",
    "Reply",
    "decode_answer",
    "DOOR_CLASS",
    "CONNECT_TIMEOUT_S",
    "MAX_ANSWER_BYTES",
]

DOOR_CLASS = "sagaline.admin.door.AdminDoor"
#: Seconds to wait for the door's directory (it answers at once; the door is never busy).
CONNECT_TIMEOUT_S = 10.0
#: Seconds the TCP probe of the admin port may take.
PROBE_TIMEOUT_S = 2.0
#: Largest answer decoded (a long event tail is far below it).
MAX_ANSWER_BYTES = 16 << 20


@dataclass(frozen=True)
class Reply:
    """How one :meth:`Channel.ask` ended: ``payload`` (None: nothing came), whether the
    message was undeliverable (nothing came long before the timeout), the seconds waited."""

    payload: Any
    undelivered: bool
    waited_s: float


class Channel(Protocol):
    """A connection to one daemon (see the module docstring)."""

    target: Target

    def open(self) -> AdminDirectory:
        """Connect (again) and return the current worker directory.

        Raises:
            DaemonUnreachable: nothing to talk to (DaemonStarting: it is starting).
        """

    def ask(self, address: Any, payload: bytes, timeout: float) -> Reply:
        """Send ``payload`` to ``address``; wait up to ``timeout`` seconds for the answer."""

    def close(self) -> None:
        """Let go (never stops the daemon)."""


class ThespianChannel:
    """The real channel: a joined Thespian endpoint in this process (thread-safe)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.handle: Any = None
        self.door: Any = None
        self._lock = threading.Lock()

    def open(self) -> AdminDirectory:
        try:
            return self._directory()
        except BaseException:
            self.close()  # a retrying caller must not pile up endpoints
            raise

    def _directory(self) -> AdminDirectory:
        with self._lock:
            if self.handle is None:
                self._join()
            door = self.door
        reply = self.ask(door, codec.encode(AdminConnect(client_version=_version())), CONNECT_TIMEOUT_S)
        answer = decode_answer(reply.payload)
        if isinstance(answer, AdminDirectory):
            return answer
        if isinstance(answer, AdminError) and answer.code == "starting":
            raise DaemonStarting(
                f"the daemon on {self.target.describe()} is starting; try again in a moment", "starting"
            )
        if reply.payload is None:
            raise DaemonUnreachable(
                f"the daemon on {self.target.describe()} did not answer ({_ended(reply, CONNECT_TIMEOUT_S)})",
                "unreachable",
            )
        raise DaemonUnreachable(
            f"{self.target.describe()} answered like no sagaline daemon: "
            f"{getattr(answer, 'message', type(answer).__name__)}",
            "unreachable",
        )

    def _join(self) -> None:
        if not _listening(self.target.host, self.target.port):
            raise DaemonUnreachable(
                f"no sagaline daemon is running on {self.target.describe()}; "
                "start one with `sagaline run` (or `make run`)",
                "unreachable",
            )
        from sagaline.runtime import NoSystemListening, NotTheDaemon, SecretError, join_system, load_secret
        from sagaline.runtime.addresses import register_address_codec

        register_address_codec()
        try:
            if self.target.secret_file is None:
                raise SecretError(
                    f"no installation secret given for {self.target.describe()} "
                    "(sagaline.client.locate finds <data dir>/secret.key)"
                )
            secret = load_secret(self.target.secret_file)
            handle = join_system(self.target.port, bind_address=self.target.host, secret=secret)
        except NoSystemListening:
            raise DaemonUnreachable(
                f"no sagaline daemon is running on {self.target.describe()} (it went away "
                "while joining); start one with `sagaline run`",
                "unreachable",
            ) from None
        except SecretError as exc:
            raise DaemonUnreachable(f"{exc}", "unreachable") from None
        except NotTheDaemon as exc:
            raise DaemonUnreachable(f"refusing to talk to {self.target.describe()}: {exc}", "unreachable") from None
        try:
            self.door = handle.create_actor(DOOR_CLASS, global_name=ADMIN_DOOR_NAME)
        except Exception as exc:
            handle.close()
            if "only the daemon creates" in str(exc):
                raise DaemonStarting(
                    f"the daemon on {self.target.describe()} is starting (its admin door is not "
                    "open yet); try again in a moment",
                    "starting",
                ) from None
            raise DaemonUnreachable(
                f"{self.target.describe()} is no usable sagaline daemon: {type(exc).__name__}: {exc}", "unreachable"
            ) from None
        self.handle = handle

    def ask(self, address: Any, payload: bytes, timeout: float) -> Reply:
        handle = self.handle
        if handle is None or handle.asys is None:
            raise DaemonUnreachable(f"not connected to {self.target.describe()}", "unreachable")
        began = time.monotonic()
        try:
            answer = handle.request(address, payload, timeout)  # one answer per admin request: pooled endpoints
        except Exception as exc:  # a transport failure: the daemon went away
            raise DaemonUnreachable(f"the daemon on {self.target.describe()} went away: {exc}", "unreachable") from None
        waited = time.monotonic() - began
        return Reply(answer, answer is None and waited < timeout * 0.9, waited)

    def close(self) -> None:
        with self._lock:
            if self.handle is not None:
                self.handle.close()
                self.handle, self.door = None, None


def decode_answer(payload: Any) -> Any:
    """An answer as it came (codec bytes decoded; bytes that are no message become an ``internal`` error)."""
    if not isinstance(payload, (bytes, bytearray)):
        return payload
    try:
        return codec.decode(bytes(payload), max_bytes=MAX_ANSWER_BYTES)
    except codec.CodecError as exc:
        return AdminError(code="internal", message=f"an answer that is no message: {exc}")


def _ended(reply: Reply, timeout: float) -> str:
    if reply.undelivered:
        return f"the message could not be delivered; gave up after {reply.waited_s:.3f} s"
    return f"no answer within {timeout:g} s; waited {reply.waited_s:.2f} s"


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def _version() -> str:
    import sagaline

    return sagaline.__version__
