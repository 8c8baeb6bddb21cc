"""PURE. Times as the CLI shows them: one human format, ISO-8601 UTC in JSON, and ``--since`` values.

* People read ``2026-12-04 16:42:10Z`` (UTC, to the second: the same in
  every table and view, whatever the answer carried: seconds since the
  epoch or an ISO string).
* Scripts read ``2026-12-04T16:42:10.123456Z`` (ISO-8601, UTC, microseconds):
  :func:`json_ready` turns every time field of an answer (a key ``at`` or
  ending in ``_at``) into that form, wherever it is nested.
* ``--since`` / ``--until`` take an ISO-8601 date or time (no zone: UTC) or
  an age: ``90s``, ``15m``, ``2h``, ``3d``, ``1w`` ago (:func:`parse_when`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["human", "iso", "duration", "offset", "epoch", "json_ready", "parse_when", "is_time_key"]

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def epoch(value: Any) -> float | None:
    """Seconds since the epoch of a number or an ISO-8601 string (None: neither)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None


def human(value: Any) -> str:
    """``2026-12-04 16:42:10Z`` for a time (``-`` when unknown; text that is no time as it is)."""
    seconds = epoch(value)
    if seconds is None:
        return "-" if value is None else str(value)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def iso(value: Any) -> Any:
    """``2026-12-04T16:42:10.123456Z`` for a time (anything else unchanged)."""
    seconds = epoch(value)
    if seconds is None:
        return value
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def duration(seconds: float | None) -> str:
    """``0.012s``, ``3.191s``, ``2m05s``, ``1h02m`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def offset(at: Any, start: Any) -> str:
    """``+1.234s`` from ``start`` to ``at`` (``-`` when either is unknown)."""
    first, then = epoch(start), epoch(at)
    if first is None or then is None:
        return "-"
    return f"+{then - first:.3f}s"


def is_time_key(key: str) -> bool:
    """True for the keys whose values are times (``at``, ``started_at``, ``created_at``...)."""
    return key == "at" or key.endswith("_at")


def json_ready(data: Any) -> Any:
    """``data`` with every time field as ISO-8601 UTC (see the module docstring)."""
    if isinstance(data, dict):
        return {k: iso(v) if is_time_key(str(k)) and v is not None else json_ready(v) for k, v in data.items()}
    if isinstance(data, list):
        return [json_ready(v) for v in data]
    return data


def parse_when(text: str, now: float) -> float:
    """Seconds since the epoch for a ``--since`` / ``--until`` value (see the module docstring).

    Raises:
        ValueError: neither an ISO-8601 time nor an age like ``15m``.
    """
    age = _AGE.match(text)
    if age:
        return now - float(age.group(1)) * _UNIT_S[age.group(2)]
    seconds = epoch(text)
    if seconds is None or not text.strip()[:4].isdigit():
        raise ValueError(
            f"{text!r} is no time: give an ISO-8601 time (2026-12-04T16:00Z; no zone: UTC) "
            "or an age (90s, 15m, 2h, 3d, 1w)"
        )
    return seconds
