"""UUID version 7 identifiers (RFC 9562, section 5.7) and their validation.

Correlation ids, event ids and magic-link tokens are UUID v7: 48 bits of
Unix time in milliseconds, the version nibble ``7``, 12 bits of sub-millisecond
sequence, the variant bits ``10`` and 62 random bits. They sort by creation
time, which keeps journal and event tables in insertion order.

Ids are written lowercase, ``8-4-4-4-12`` hex; :func:`is_uuid7` accepts
nothing else (no braces, no uppercase, no other version or variant, no
trailing newline: the whole string must match).

Letter case at the boundary: the original system accepted an id in any
case. A caller may still give one in upper or mixed case wherever a run is
started or looked up: :func:`canonical_uuid7` (and the :data:`GivenId`
field type of the request messages) turns it into the lowercase form, which
is the only form stored, compared and sent on. So ``0190...-7ABC-...`` and
``0190...-7abc-...`` name the same run.

Monotonicity: within one process, ids generated in the same millisecond
take increasing 12-bit sequence values (RFC 9562 method 1, "fixed bit-length
dedicated counter"), so they still sort in generation order; when the
counter overflows, the timestamp is advanced by one millisecond.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Annotated, TypeGuard

from pydantic import AfterValidator, BeforeValidator

__all__ = ["uuid7", "is_uuid7", "canonical_uuid7", "uuid7_time_ms", "CorrelationId", "Uuid7", "GivenId"]

# Matched with fullmatch: ``$`` would also accept a trailing newline.
_UUID7_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_lock = threading.Lock()
_last_ms = 0
_seq = 0


def _next_stamp(now_ms: int) -> tuple[int, int]:
    """Return (ms, seq) strictly after the previous pair issued in this process."""
    global _last_ms, _seq
    with _lock:
        if now_ms > _last_ms:
            _last_ms, _seq = now_ms, int.from_bytes(os.urandom(2), "big") & 0x1FF
        else:
            _seq += 1
            if _seq > 0xFFF:
                _last_ms, _seq = _last_ms + 1, 0
        return _last_ms, _seq


def uuid7(now_ms: int | None = None) -> str:
    """Return a new UUID v7 as a lowercase string.

    Args:
        now_ms: Unix time in milliseconds; the wall clock when omitted
            (tests pass a value to get a reproducible timestamp prefix).

    Returns:
        A string that :func:`is_uuid7` accepts, greater than every id this
        process generated before.
    """
    ms, seq = _next_stamp(time.time_ns() // 1_000_000 if now_ms is None else now_ms)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_uuid7(value: object) -> TypeGuard[str]:
    """True when ``value`` is a string holding a canonical lowercase UUID v7, and nothing else."""
    return isinstance(value, str) and _UUID7_RE.fullmatch(value) is not None


def canonical_uuid7(value: object) -> str | None:
    """The canonical (lowercase) form of a UUID v7 written in any letter case.

    Returns:
        The lowercase id, or None when ``value`` is no UUID v7 in any case
        (braces, another version, non-ASCII look-alikes, junk, not a string).
    """
    if not isinstance(value, str) or not value.isascii():
        return None
    lowered = value.lower()
    return lowered if is_uuid7(lowered) else None


def _lower_if_uuid7(value: object) -> object:
    return canonical_uuid7(value) or value


def uuid7_time_ms(value: str) -> int:
    """Return the Unix-millisecond timestamp embedded in a UUID v7.

    Raises:
        ValueError: ``value`` is not a canonical UUID v7.
    """
    if not is_uuid7(value):
        raise ValueError(f"not a UUID v7: {value!r}")
    return int(value.replace("-", "")[:12], 16)


def _check_uuid7(value: str) -> str:
    if not is_uuid7(value):
        raise ValueError("must be a lowercase UUID v7 (8-4-4-4-12 hex, version 7, variant 10xx)")
    return value


#: A pydantic field type that accepts only canonical UUID v7 strings.
Uuid7 = Annotated[str, AfterValidator(_check_uuid7)]

#: The id that ties every message, event and journal row of one saga run.
CorrelationId = Uuid7

#: A run id as a caller gives it (start and look-up requests): a UUID v7 in
#: any letter case becomes its lowercase form; anything else is kept as given,
#: for the receiver to refuse with its own error (``invalid_correlation_id``,
#: ``unknown_run``).
GivenId = Annotated[str, BeforeValidator(_lower_if_uuid7)]
