"""PURE. A run's timeline as Gantt rows: from its trace spans, or from its steps' times.

:func:`from_spans` takes the parsed span lines of one trace (what
``sagaline runs trace`` reads) and returns a :class:`Timeline`: one
:class:`Bar` per span, children under their parent in start order, each
placed as a percentage of the run's whole time. A bar's ``kind`` says
what it is (``run``, ``step``, ``compensate``, ``undo``, ``command``) and
``rollback`` marks compensations, undos and the commands they sent, so a
page colours the way back differently; every retry and every undo attempt
is its own span, labelled with its attempt number (``step provision_vault
#2``). A span whose parent is missing (its saga actor was killed before it
exported the root) sits at the top level.

:func:`from_steps` draws the same picture, coarser, from the steps'
``started_at``/``finished_at`` when no spans were written (telemetry off or
sent elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Bar", "Timeline", "from_spans", "from_steps", "MIN_WIDTH_PCT"]

#: Narrowest bar drawn, in percent of the run (a 0.1 ms span stays visible).
MIN_WIDTH_PCT = 0.4
_ROLLBACK = ("compensate", "undo")


@dataclass(frozen=True)
class Bar:
    """One row of the timeline."""

    label: str
    depth: int
    kind: str
    """run | step | compensate | undo | command | other."""
    start_pct: float
    width_pct: float
    duration: str
    rollback: bool = False
    error: str = ""
    """The span's error (status message), if it failed."""
    attempt: int | None = None
    inferred: bool = False
    """The end was inferred (the process exported no end)."""


@dataclass(frozen=True)
class Timeline:
    """A run's bars and the axis under them."""

    source: str
    """spans | steps | none."""
    total: str
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    processes: int = 0


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.1f} ms" if ns < 10e9 else f"{ns / 1e9:.2f} s"


def _ticks(total_ns: float, count: int = 5) -> list[tuple[float, str]]:
    return [(100.0 * i / (count - 1), _ms(total_ns * i / (count - 1))) for i in range(count)]


def _place(start: float, end: float, t0: float, total: float) -> tuple[float, float]:
    if total <= 0:
        return 0.0, 100.0
    left = min(100.0 - MIN_WIDTH_PCT, max(0.0, 100.0 * (start - t0) / total))
    width = max(MIN_WIDTH_PCT, min(100.0 - left, 100.0 * (end - start) / total))
    return round(left, 3), round(width, 3)


def _kind(span: Mapping[str, Any]) -> str:
    attrs = span.get("attributes") or {}
    invocation = attrs.get("sagaline.invocation.kind")
    if invocation in ("step", "compensate", "undo"):
        return str(invocation)
    if "sagaline.command" in attrs:
        return "command"
    if "sagaline.saga" in attrs and not span.get("parent_span_id"):
        return "run"
    first = str(span.get("name", "")).split(" ")[0]
    return first if first in ("saga", "step", "compensate", "undo") else "other"


def _order(spans: list[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """(depth, span) in tree order: children under parents, siblings by start."""
    ids = {s.get("span_id") for s in spans}
    children: dict[Any, list[Mapping[str, Any]]] = {}
    for span in spans:
        parent = span.get("parent_span_id") if span.get("parent_span_id") in ids else None
        children.setdefault(parent, []).append(span)
    out: list[tuple[int, Mapping[str, Any]]] = []
    stack = [(0, s) for s in reversed(_by_start(children.get(None, [])))]
    seen: set[Any] = set()
    while stack:
        depth, span = stack.pop()
        if span.get("span_id") in seen:
            continue
        seen.add(span.get("span_id"))
        out.append((depth, span))
        stack.extend((depth + 1, c) for c in reversed(_by_start(children.get(span.get("span_id"), []))))
    return out


def _by_start(spans: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(spans, key=lambda s: (int(s.get("start_ns") or 0), int(s.get("end_ns") or 0), str(s.get("name"))))


def _rollback(span: Mapping[str, Any], by_id: Mapping[Any, Mapping[str, Any]]) -> bool:
    """A compensate/undo span, a span under one, or a command sent with an undo/compensate key."""
    key = str((span.get("attributes") or {}).get("sagaline.idempotency_key", ""))
    if any(f":{word}:" in key for word in _ROLLBACK):
        return True
    seen = 0
    at: Mapping[str, Any] | None = span
    while at is not None and seen < 64:
        if _kind(at) in _ROLLBACK:
            return True
        at, seen = by_id.get(at.get("parent_span_id")), seen + 1
    return False


def _label(span: Mapping[str, Any], kind: str) -> tuple[str, int | None]:
    attrs = span.get("attributes") or {}
    attempt = attrs.get("sagaline.attempt")
    attempt = int(attempt) if isinstance(attempt, (int, float)) else None
    name = str(span.get("name", "?"))
    if kind in ("step", "compensate", "undo") and attempt and attempt > 1:
        name = f"{name} #{attempt}"
    return name, attempt


def from_spans(spans: Iterable[Mapping[str, Any]]) -> Timeline:
    """The timeline of one trace's spans (parsed JSON lines, any order)."""
    spans = [s for s in spans if s.get("span_id")]
    if not spans:
        return Timeline("none", "", [], [])
    starts = [int(s.get("start_ns") or 0) for s in spans]
    ends = [int(s.get("end_ns") or s.get("start_ns") or 0) for s in spans]
    t0, total = min(starts), max(ends) - min(starts)
    by_id = {s.get("span_id"): s for s in spans}
    bars = []
    for depth, span in _order(spans):
        start = int(span.get("start_ns") or 0)
        end = max(start, int(span.get("end_ns") or start))
        kind = _kind(span)
        label, attempt = _label(span, kind)
        left, width = _place(start, end, t0, total)
        error = (span.get("status_message") or "error") if span.get("status") == "error" else ""
        inferred = (span.get("attributes") or {}).get("sagaline.span.end") in ("inferred", "superseded", "evicted")
        bars.append(
            Bar(
                label, depth, kind, left, width, _ms(end - start), _rollback(span, by_id), str(error), attempt, inferred
            )
        )
    pids = {s.get("pid") for s in spans if s.get("pid") is not None}
    return Timeline("spans", _ms(total), bars, _ticks(total), len(pids))


def from_steps(
    steps: Iterable[Mapping[str, Any]], started_at: float | None, finished_at: float | None, now: float
) -> Timeline:
    """A coarser timeline from the steps' own times (a running step's bar ends at ``now``)."""
    timed = [s for s in steps if s.get("started_at") is not None]
    if not timed or started_at is None:
        return Timeline("none", "", [], [])
    t0 = started_at
    t1 = max([finished_at or now] + [s.get("finished_at") or now for s in timed])
    total = max(t1 - t0, 1e-9)
    bars = [Bar("run", 0, "run", 0.0, 100.0, _ms((t1 - t0) * 1e9))]
    for step in sorted(timed, key=lambda s: s["started_at"]):
        end = step.get("finished_at") or now
        left, width = _place(step["started_at"], end, t0, total)
        status = str(step.get("status"))
        bars.append(
            Bar(
                f"step {step.get('name')}",
                1,
                "step",
                left,
                width,
                _ms((end - step["started_at"]) * 1e9),
                rollback=status in ("undone", "undoing", "compensating", "undo_failed"),
                error="failed" if status in ("failed", "undo_failed") else "",
                attempt=int(step.get("attempts") or 0) or None,
            )
        )
    return Timeline("steps", _ms(total * 1e9), bars, _ticks(total * 1e9))
