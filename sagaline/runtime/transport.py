"""Thespian's TCP transport, authenticated and bounded: one patch, applied
before an actor system starts (and so inherited by every forked process).

Thespian 4.0.1 (``thespian/system/transport/TCPTransport.py``) unpickles
every frame that reaches any of its listeners, keeps a connection that sends
nothing for 7 minutes, and lets its admin die when descriptors run out.
:func:`install_transport` changes that in this process:

* **Sealed frames.** Every frame sent (messages and ACKs) is a data frame of
  :mod:`sagaline.runtime.frames`: an HMAC-SHA256 tag under the installation
  secret, then the pickle. Every frame received is checked before anything
  is unpickled (the receive buffer class is replaced), then unpickled by
  :func:`sagaline.runtime.allowlist.restricted_loads`. A frame that fails is
  dropped, its connection closed (an authentic sender whose pickle is
  refused first gets Thespian's error ACK), and the refusal logged
  (:func:`sagaline.runtime.limits.report`: at most one line per 10 s per
  kind, with a count of the ones left out).
* **Identity.** A listener answers a hello frame with its proof (bound to its
  port), so a client can check who listens before it sends or unpickles
  anything (:func:`sagaline.runtime.identity.verify_listener`; ``join_system``
  does it).
* **Bounded connections** (:class:`~sagaline.runtime.limits.TransportLimits`).
  A connection must deliver a whole frame within 30 s of becoming readable
  or it is closed; idle authenticated connections are closed after 5
  minutes; at most a quarter of the descriptor limit (512 at most) incoming
  connections are open at once (at the limit the oldest connection that
  never sent an authenticated frame is closed, so a flood cannot lock a
  real client out; with none such, the newcomer is closed at once). When
  descriptors run out, a spare descriptor is freed to accept and close the
  waiting connection (the listener would otherwise stay readable and spin),
  the event is logged, and the loop uses ``poll`` (no descriptor needed)
  instead of a fresh ``epoll`` per turn, whose ``EMFILE`` killed the admin.

Thespian is pinned (``thespian==4.0.1``): :data:`PINNED` holds the SHA-256
of the source of every function and class this patch replaces or relies
on, checked by :func:`install_transport` (it refuses, rather than running
unprotected, when they differ) and by ``tests/runtime/test_transport.py``.
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import logging
import os
import pickle
import selectors
import tempfile
import types
from datetime import timedelta
from typing import Any

from sagaline.runtime.allowlist import restricted_loads
from sagaline.runtime.errors import TransportPatchError
from sagaline.runtime.frames import MAX_FRAME_BYTES, NONCE_BYTES, FrameKey, FrameRejected, PayloadRefused
from sagaline.runtime.limits import TransportLimits, report

__all__ = ["install_transport", "installed_key", "installed_secret", "check_pins", "source_digests", "PINNED"]

#: SHA-256 of the Thespian 4.0.1 source this patch replaces or depends on.
PINNED: dict[str, str] = {
    "TCPTransport._addedDataToIncoming": "7e2ca3a3f386e2beb17ea3633f8254e2c7f280a1b30da5f982f800f21cf9cebf",
    "TCPTransport._acceptNewIncoming": "eb6c9359870cc5474906abba9eae5c3a5cec5bff3344f285eb8f38a4e786e7fc",
    "TCPTransport._handlePossibleIncoming": "dc7cf8671a2d4ee80d11334ef5b72a9792bf73143b888401c725e9a42ad98cb7",
    "TCPTransport._handleReadableIncoming": "7e38436b43ee8783aec14cf5cf42710b413133e6b0bef0793e1f2003782a6569",
    "TCPTransport._check_XMIT_4_done": "61163ba5b1d07029e2023100712a41e55b22591ac4a7fda621a06a168689db49",
    "TCPTransport._next_XMIT_3": "5f5ff30046f7a92ed8591100a1afc048bcaebfe70d5337ef2c0903d6c856079c",
    "TCPTransport.serializer": "edad38c6ae18f32d6885345da42603c8a48cc2e147b769cfc3b6e62959e040c4",
    "TCPTransport.new_socket": "d4158d630fd5b0997405bd001d3edd3c01db3b9a27f5115144499c1696901a1f",
    "TCPTransport.interrupt_wait": "d6e244ff38a727478cb5fd3725e435cc1aa634c4a1c4442ec306e01811c3e6c5",
    "TCPTransport._runWithExpiry": "5a6c512c48e9fd0ab13cbc2ca91db058c7322a4af4af658a930631ccdbd51f96",
    "TCPIncoming_Common": "b92f69e7590bccfcf692c52034c2f7958bdcaaf845563bf24971abf46cf4dc0d",
    "IdleSocket": "c9aed00116d3e884c4bbec590770fcc64152988d1a0fb1870e907f5788436daa",
    "streamBuffer.ReceiveBuffer": "fb8eefa6c4271c2faca1cc2abd77ad00aedbad1877aa7bf0bbfe59186c9888b3",
}

_state: dict[str, Any] = {"key": None, "secret": None, "patched": False, "spare": None, "limits": TransportLimits()}


def _peer(sock: Any) -> str:
    try:
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    except (OSError, AttributeError, ValueError):
        return "a peer"


def installed_key() -> FrameKey | None:
    """The key this process seals and checks frames with (None: not installed)."""
    return _state["key"]


def installed_secret() -> bytes | None:
    """The secret :func:`install_transport` was last given in this process (None: not installed)."""
    return _state["secret"]


# ----- receiving ----------------------------------------------------------------------------------


def _open_body(body: bytes) -> Any:
    key: FrameKey = _state["key"]
    if len(body) < 96:
        ack = key.ack_bodies.get(body)
        if ack is not None:
            return ack
    return restricted_loads(key.open(body))


def _receive_buffer_class(base: type) -> type:
    class AuthReceiveBuffer(base):
        """Thespian's receive buffer, with a size limit and the frame checked before unpickling."""

        def __init__(self, serializer: Any = None) -> None:
            super().__init__(None)
            self._opened: Any = _UNOPENED
            self._refused: str | None = None

        def addMore(self, buf: bytes) -> None:
            if self._refused:
                return
            super().addMore(buf)
            if self._size is not None and self._size > MAX_FRAME_BYTES:
                self._refused = f"frame of {self._size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit"
                self._buf, self._blen = b"", self._size

        def isDone(self) -> bool:
            return bool(self._refused) or super().isDone()

        def verify(self) -> None:
            """Open the complete frame (cached); raise FrameRejected when it fails."""
            if self._refused:
                raise FrameRejected(self._refused)
            if self._size is None:
                raise FrameRejected("no frame header")
            if self._opened is _UNOPENED:
                try:
                    self._opened = _open_body(self._buf)
                except FrameRejected as exc:
                    self._refused = str(exc)
                    raise

        def completed(self) -> Any:
            if self._refused or self._size is None or self._blen != self._size:
                return None
            try:
                self.verify()
            except FrameRejected as exc:
                report("refused", f"refused a frame (waiting for an ACK): {exc}")
                return None
            return self._opened, self._extra

    return AuthReceiveBuffer


_UNOPENED = object()


def _added_data_to_incoming(original: Any) -> Any:
    def _addedDataToIncoming(self, inc, skipFinish=False, has_exclusive_flag=False):
        if inc.receivedAllData():
            buffer = inc._rData
            answer = _hello_answer(buffer, inc.socket)
            try:
                if answer is not None:
                    inc.socket.send(answer)
                    inc.close()
                    return None
                buffer.verify()
            except FrameRejected as exc:
                report("refused", f"refused a frame from {_peer(inc.socket)}: {exc}")
                if isinstance(exc, PayloadRefused):  # an authentic sender: tell it, as Thespian does
                    _send_quietly(inc.socket, _tcp_module().ackDataErrMsg)
                inc.close()
                return None
            except OSError:
                inc.close()
                return None
        return original(self, inc, skipFinish, has_exclusive_flag)

    return _addedDataToIncoming


def _tcp_module() -> Any:
    from thespian.system.transport import TCPTransport

    return TCPTransport


def _send_quietly(sock: Any, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:
        pass


def _hello_answer(buffer: Any, sock: Any) -> bytes | None:
    if buffer._size != 1 + NONCE_BYTES or buffer._refused or buffer._buf[:1] != b"\x02":
        return None
    try:
        port = sock.getsockname()[1]
    except OSError:
        return None
    return _state["key"].answer(buffer._buf, port)


# ----- sending ------------------------------------------------------------------------------------


def _seal(message: Any, ser: Any = None) -> bytes:
    return _state["key"].seal(pickle.dumps(message, pickle.DEFAULT_PROTOCOL))


# ----- connections --------------------------------------------------------------------------------


def _accept_bounded(original: Any) -> Any:
    from thespian.system.transport import Thespian__UpdateWork

    def _acceptNewIncoming(self):
        limit = _state["limits"].max_connections
        if len(self._incomingSockets) >= limit and not _evict_oldest_stranger(self, limit):
            return _shed(self, limit)
        queued = len(self._incomingEnvelopes)
        original(self)
        # After a failed accept Thespian queues an UpdateWork among the received envelopes,
        # and the admin's handler dies on it (AttributeError: no .message): drop it.
        if len(self._incomingEnvelopes) > queued and isinstance(self._incomingEnvelopes[-1], Thespian__UpdateWork):
            self._incomingEnvelopes.pop()
        return None

    return _acceptNewIncoming


def _evict_oldest_stranger(transport: Any, limit: int) -> bool:
    """Close the oldest incoming connection that never delivered an authenticated frame.

    A flood of idle connections then cannot lock a real client out: a client
    sends its frame within milliseconds of connecting, a flood's connections
    never do, and the oldest go first. False when every open connection
    belongs to a known peer.
    """
    for fileno, incoming in transport._incomingSockets.items():  # dicts keep accept order
        if getattr(incoming.fromAddress, "addressDetails", None) is None:
            del transport._incomingSockets[fileno]
            report(
                "shed",
                f"closed the oldest unauthenticated connection (from {_peer(incoming.socket)}): "
                f"{limit} incoming connections were open",
            )
            incoming.close()
            return True
    return False


def _shed(transport: Any, limit: int) -> None:
    """At the limit with only known peers connected: accept the newcomer and close it at once."""
    transport._check_indicators()
    try:
        conn, peer = transport.socket.accept()
    except OSError as exc:
        _drain_with_spare(transport.socket, exc)
        return None
    conn.close()
    report("shed", f"refused a connection from {peer[0]}:{peer[1]}: {limit} incoming connections already open")
    return None


def _new_socket(original: Any) -> Any:
    def new_socket(self, op, *args, **kw):
        try:
            return original(self, op, *args, **kw)
        except OSError as exc:
            if getattr(self, "socket", None) is not None and op == self.socket.accept:
                _drain_with_spare(self.socket, exc)
            raise

    return new_socket


def _drain_with_spare(listener: Any, exc: OSError) -> None:
    """Out of descriptors: free the spare one, log, accept and close the waiting connection, take the
    spare back (the log line and the accept each need a descriptor for a moment)."""
    if exc.errno not in (errno.EMFILE, errno.ENFILE):
        return
    if _state["spare"] is not None:
        os.close(_state["spare"])
        _state["spare"] = None
    try:
        report(
            "descriptors",
            f"out of file descriptors ({exc.strerror}); a waiting connection was closed unserved",
            logging.ERROR,
        )
        listener.accept()[0].close()
    except OSError:
        pass
    finally:
        _state["spare"] = _open_spare()


def _open_spare() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def _interrupt_guarded(original: Any) -> Any:
    def interrupt_wait(self, signal_shutdown=False, check_children=False):
        try:
            return original(self, signal_shutdown, check_children)
        except OSError as exc:  # the flags are set; the loop sees them on its next turn
            report("descriptors", f"could not wake the transport loop: {exc}", logging.ERROR)
            return None

    return interrupt_wait


def _deadline_enforced(original: Any) -> Any:
    def _handlePossibleIncoming(self, incomingSocket, fileno, closed=False, has_exclusive_flag=False):
        if fileno == -1 and not closed and incomingSocket._expires.view().expired():
            report(
                "idle",
                f"closed a connection from {_peer(incomingSocket.socket)} that sent no whole "
                f"frame within {_state['limits'].frame_deadline_s:g} s",
            )
            incomingSocket.close()
            return None
        return original(self, incomingSocket, fileno, closed, has_exclusive_flag)

    return _handlePossibleIncoming


# ----- installing ---------------------------------------------------------------------------------


def _pinned_objects() -> dict[str, Any]:
    from thespian.system.transport import TCPTransport as tcp
    from thespian.system.transport import streamBuffer

    owner = _state.get("originals") or {}
    transport = tcp.TCPTransport
    found = {
        f"TCPTransport.{name}": owner.get(name, getattr(transport, name))
        for name in (
            "_addedDataToIncoming",
            "_acceptNewIncoming",
            "_handlePossibleIncoming",
            "_handleReadableIncoming",
            "_check_XMIT_4_done",
            "_next_XMIT_3",
            "serializer",
            "new_socket",
            "interrupt_wait",
            "_runWithExpiry",
        )
    }
    found["TCPIncoming_Common"] = tcp.TCPIncoming_Common
    found["IdleSocket"] = tcp.IdleSocket
    found["streamBuffer.ReceiveBuffer"] = streamBuffer.ReceiveBuffer
    return found


def source_digests() -> dict[str, str]:
    """SHA-256 of the current Thespian source of everything in :data:`PINNED`."""
    return {
        name: hashlib.sha256(inspect.getsource(obj).encode()).hexdigest() for name, obj in _pinned_objects().items()
    }


def check_pins() -> dict[str, str]:
    """Return the pinned names whose Thespian source differs (empty: the patch applies as written)."""
    try:
        digests = source_digests()
    except (OSError, TypeError) as exc:
        return {"source": f"unreadable ({exc})"}
    return {name: digests.get(name, "missing") for name, want in PINNED.items() if digests.get(name) != want}


def install_transport(secret: bytes, limits: TransportLimits | None = None) -> None:
    """Seal and check every Thespian TCP frame of this process with ``secret``.

    Patches Thespian once per process (idempotent); a later call with another
    secret re-keys this process (for a process that talks to systems of one
    installation at a time, e.g. a test run joining a daemon).

    Args:
        secret: The installation secret.
        limits: Connection limits; None reads them from the environment
            (:meth:`TransportLimits.from_environ`).

    Raises:
        TransportPatchError: Thespian's source is not the pinned 4.0.1.
        ValueError: the secret is too short, or a limit variable is invalid.
    """
    key = FrameKey(secret)
    limits = limits or TransportLimits.from_environ(os.environ)
    if not _state["patched"]:
        changed = check_pins()
        if changed:
            raise TransportPatchError(
                "Thespian's TCP transport is not the pinned thespian==4.0.1 "
                f"(changed: {', '.join(sorted(changed))}); refusing to run unauthenticated"
            )
        _patch()
    _state["key"], _state["secret"], _state["limits"] = key, bytes(secret), limits
    from thespian.system.transport import TCPTransport as tcp

    tcp.MAX_INCOMING_SOCKET_PERIOD = timedelta(seconds=limits.frame_deadline_s)
    tcp.MAX_IDLE_SOCKET_PERIOD = timedelta(seconds=limits.idle_s)
    tcp.ackMsg = key.seal_constant(tcp.ackPacket)
    tcp.ackDataErrMsg = key.seal_constant("ACK+DATAERR")


def _patch() -> None:
    from thespian.system.transport import TCPTransport as tcp

    transport = tcp.TCPTransport
    originals = {
        name: getattr(transport, name)
        for name in (
            "_addedDataToIncoming",
            "_acceptNewIncoming",
            "new_socket",
            "interrupt_wait",
            "_handlePossibleIncoming",
        )
    }
    _state["originals"] = originals
    transport._addedDataToIncoming = _added_data_to_incoming(originals["_addedDataToIncoming"])
    transport._acceptNewIncoming = _accept_bounded(originals["_acceptNewIncoming"])
    transport.new_socket = _new_socket(originals["new_socket"])
    transport.interrupt_wait = _interrupt_guarded(originals["interrupt_wait"])
    transport._handlePossibleIncoming = _deadline_enforced(originals["_handlePossibleIncoming"])
    tcp.ReceiveBuffer = _receive_buffer_class(tcp.ReceiveBuffer)
    tcp.toSendBuffer = _seal
    tcp.selectors = types.SimpleNamespace(
        DefaultSelector=selectors.PollSelector, EVENT_READ=selectors.EVENT_READ, EVENT_WRITE=selectors.EVENT_WRITE
    )
    _state["spare"] = _open_spare()
    # thesplog evaluates tempfile.gettempdir() at its first call, which creates files and so fails
    # (killing the caller) when descriptors are out; calling it now caches the answer.
    tempfile.gettempdir()
    _state["patched"] = True
