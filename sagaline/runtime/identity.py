"""A client's check of who listens on a port, before it sends or unpickles anything.

:func:`verify_listener` opens a TCP connection, sends a hello frame with a
fresh random nonce (:mod:`sagaline.runtime.frames`) and expects the proof:
HMAC of the nonce and the port under the identity key derived from the
installation secret. Only a listener whose process installed the
authenticated transport with the same secret answers it
(:mod:`sagaline.runtime.transport` answers hellos in every process). A
squatter on the admin port while the daemon is down (finding 2 of issue 16)
cannot, and the client says why. The hello carries nothing a listener could
reuse: no message, no tag, and a proof is bound to the port it was made on.
"""

from __future__ import annotations

import secrets
import socket
import time

from sagaline.runtime.errors import NoSystemListening, NotTheDaemon
from sagaline.runtime.frames import NONCE_BYTES, FrameKey, FrameRejected, parse_header

__all__ = ["verify_listener"]


def verify_listener(host: str, port: int, secret: bytes, timeout: float = 2.0) -> None:
    """Check that whoever listens on ``host:port`` knows ``secret``; send nothing else, unpickle nothing.

    Raises:
        NoSystemListening: nothing accepts connections there.
        NotTheDaemon: something listens but does not prove it knows the secret.
    """
    key, nonce = FrameKey(secret), secrets.token_bytes(NONCE_BYTES)
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise NoSystemListening(f"nothing listens on {host}:{port}: {exc}") from None
    with conn:
        why = _proof_failure(conn, key, nonce, port, time.monotonic() + timeout)
    if why is not None:
        raise NotTheDaemon(
            f"the process listening on {host}:{port} did not prove that it knows this "
            f"installation's secret ({why}): it is not the sagaline daemon of this installation "
            "(a squatter, another installation, or an older daemon), so nothing was sent to it"
        )


def _proof_failure(conn: socket.socket, key: FrameKey, nonce: bytes, port: int, deadline: float) -> str | None:
    """Send the hello, read the answer by ``deadline``; None when it is the right proof, else what was wrong."""
    try:
        conn.sendall(key.hello(nonce))
        body = _read_frame(conn, 64, deadline)
    except TimeoutError:
        return "no answer in time"
    except (OSError, FrameRejected) as exc:
        return f"{type(exc).__name__}: {exc}"
    if body is None:
        return "it closed the connection without an answer"
    return None if key.check_proof(nonce, body, port) else "a wrong answer"


def _read_frame(conn: socket.socket, limit: int, deadline: float) -> bytes | None:
    """One frame's body (None: closed first); a listener that trickles bytes still ends at ``deadline``."""
    data = b""
    while True:
        header = parse_header(data, limit)
        if header is not None and len(data) >= header[0] + header[1]:
            size, start = header
            return data[start : start + size]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no whole answer in time")
        conn.settimeout(remaining)
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
