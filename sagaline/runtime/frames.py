"""Authenticated frames: what travels on a Thespian TCP connection once
:mod:`sagaline.runtime.transport` is installed. Pure: no sockets, no Thespian.

Thespian frames a message as ``b"<length>>" + body``. We keep that framing
and change the body. Three kinds, told apart by their first byte:

* **data** ``0x01 | tag(32) | pickle``: every message and every ACK. ``tag``
  is HMAC-SHA256 of the pickle under the frame key. A receiver checks the tag
  (:func:`hmac.compare_digest`) before a single byte is unpickled.
* **hello** ``0x02 | nonce(32)``: a client asking a listener to prove that it
  knows the installation secret, before the client sends or unpickles
  anything (port squatting: a fake listener on the admin port).
* **proof** ``0x03 | HMAC-SHA256(identity key, nonce | port)``: the answer,
  bound to the port the listener accepted the connection on (so a squatter
  on one port cannot pass on the proof of a daemon listening on another).

Two keys are derived from the installation secret, one per purpose
(``HMAC(secret, label)``), so a proof can never pass as a data tag nor the
other way round.

What this does not give: secrecy (frames travel in clear; anyone who can read
loopback traffic, i.e. root, sees them) and replay protection (a captured
data frame is valid again later: only a process that can capture traffic
can replay it). See SECURITY.md.

Errors::

    SagalineError
    +-- FrameRejected        a frame failed a check; nothing of it was used
        +-- PayloadRefused   the frame is authentic, its pickle is not allowed
"""

from __future__ import annotations

import hmac
import pickle

from sagaline.errors import SagalineError

__all__ = [
    "FrameKey",
    "FrameRejected",
    "PayloadRefused",
    "KIND_DATA",
    "KIND_HELLO",
    "KIND_PROOF",
    "TAG_BYTES",
    "NONCE_BYTES",
    "MAX_FRAME_BYTES",
    "MIN_SECRET_BYTES",
    "frame",
    "parse_header",
]

KIND_DATA, KIND_HELLO, KIND_PROOF = 1, 2, 3
TAG_BYTES = NONCE_BYTES = 32
#: Largest body a receiver buffers. A peer is only known after the whole body
#: arrived (the tag covers all of it), so this bounds what an unauthenticated
#: peer can make a process hold per connection. Admin answers are at most
#: 16 MiB (``cli.connect.MAX_ANSWER_BYTES``); saga messages are kilobytes.
MAX_FRAME_BYTES = 64 << 20
#: A secret shorter than this (bytes) is refused: HMAC-SHA256's key strength.
MIN_SECRET_BYTES = 32
_DATA = bytes([KIND_DATA])
_HELLO = bytes([KIND_HELLO])
_PROOF = bytes([KIND_PROOF])
_FRAME_LABEL = b"sagaline transport frame v1"
_IDENTITY_LABEL = b"sagaline daemon identity v1"


class FrameRejected(SagalineError):
    """A received frame failed a check (kind, size, tag, or the allow-list);
    it was dropped without being used. Raised by :meth:`FrameKey.open` and by
    the restricted unpickler; the transport logs it (rate-limited) and closes
    the connection it came on."""


class PayloadRefused(FrameRejected):
    """An authentic frame (its tag matched) whose pickle names a class off the
    allow-list, or does not unpickle. Raised by the restricted unpickler. The
    sender holds the secret, so it is told (Thespian's error ACK) instead of
    being left to retry."""


def frame(body: bytes) -> bytes:
    """Thespian's framing: ``b"<len>>" + body``."""
    return b"%d>" % len(body) + body


def parse_header(data: bytes, limit: int = MAX_FRAME_BYTES) -> tuple[int, int] | None:
    """Parse a frame header at the start of ``data``.

    Returns:
        ``(body_length, header_length)``, or None while the header is incomplete.

    Raises:
        FrameRejected: not a header, or a body longer than ``limit``.
    """
    end = data.find(b">", 0, 24)
    if end < 0:
        if len(data) >= 24:
            raise FrameRejected("no frame header in the first 24 bytes")
        return None
    digits = data[:end]
    if not digits.isdigit():
        raise FrameRejected("malformed frame header")
    size = int(digits)
    if size > limit:
        raise FrameRejected(f"frame of {size} bytes exceeds the {limit}-byte limit")
    return size, end + 1


class FrameKey:
    """The two keys derived from one installation secret, and what they do.

    Args:
        secret: The installation secret (at least :data:`MIN_SECRET_BYTES`).

    Raises:
        ValueError: The secret is too short.
    """

    __slots__ = ("_frame_key", "_identity_key", "ack_bodies")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the installation secret must be at least {MIN_SECRET_BYTES} bytes")
        self._frame_key = hmac.digest(secret, _FRAME_LABEL, "sha256")
        self._identity_key = hmac.digest(secret, _IDENTITY_LABEL, "sha256")
        #: body -> value of the two constant ACK frames (a fast path: no HMAC, no unpickling).
        self.ack_bodies: dict[bytes, str] = {}

    def tag(self, payload: bytes) -> bytes:
        """HMAC-SHA256 of ``payload`` under the frame key."""
        return hmac.digest(self._frame_key, payload, "sha256")

    def seal(self, payload: bytes) -> bytes:
        """A whole framed data frame carrying ``payload`` (header included)."""
        return b"%d>" % (len(payload) + 1 + TAG_BYTES) + _DATA + self.tag(payload) + payload

    def seal_constant(self, value: str) -> bytes:
        """A framed data frame for a constant string (Thespian's ACKs), remembered for :meth:`open`."""
        payload = pickle.dumps(value)
        sealed = self.seal(payload)
        self.ack_bodies[sealed[sealed.index(b">") + 1 :]] = value
        return sealed

    def open(self, body: bytes) -> bytes:
        """Check a data frame's body; return its payload (still pickled).

        Raises:
            FrameRejected: not a data frame, or its tag does not match.
        """
        if body[:1] != _DATA or len(body) < 1 + TAG_BYTES:
            raise FrameRejected("not an authenticated sagaline frame")
        payload = body[1 + TAG_BYTES :]
        if not hmac.compare_digest(body[1 : 1 + TAG_BYTES], self.tag(payload)):
            raise FrameRejected("frame tag does not match this installation's secret")
        return payload

    def proof(self, nonce: bytes, port: int) -> bytes:
        """The identity proof for ``nonce`` from a listener on ``port`` (the answer to a hello)."""
        return hmac.digest(self._identity_key, nonce + port.to_bytes(2, "big"), "sha256")

    @staticmethod
    def hello(nonce: bytes) -> bytes:
        """A framed hello carrying ``nonce``."""
        return frame(_HELLO + nonce)

    def answer(self, body: bytes, port: int) -> bytes | None:
        """The framed proof answering a hello ``body`` received on ``port``; None when ``body`` is no hello."""
        if body[:1] != _HELLO or len(body) != 1 + NONCE_BYTES:
            return None
        return frame(_PROOF + self.proof(body[1:], port))

    def check_proof(self, nonce: bytes, body: bytes, port: int) -> bool:
        """True when ``body`` is the proof for ``nonce`` from a listener on ``port`` under this secret."""
        return body[:1] == _PROOF and hmac.compare_digest(body[1:], self.proof(nonce, port))
