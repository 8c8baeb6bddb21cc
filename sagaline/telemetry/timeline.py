"""A run's trace as a text timeline, read from the JSON-lines files.

:func:`trace_timeline` ``(directory, correlation_id)`` is what
``sagaline runs trace <cid>`` prints: it reads every ``spans-*.jsonl`` of
the telemetry directory (:func:`load_trace`), keeps the spans of that run's
trace (trace id = correlation id without dashes) and renders them with the
pure :func:`render_timeline`::

    run 0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b  saga user_provisioning  failed  84.2 ms  16 spans, 5 processes
                                         |0                                       84.2 ms|
    saga user_provisioning               |########################################|   84.2 ms  ERROR community_join_failed
      step validate_email                |#                                       |    0.1 ms
      step generate_token                | ###                                    |    6.0 ms
        gate IssueMagicLink              | ##                                     |    4.9 ms
      ...
      undo create_user                   |                               <<<<     |    7.5 ms  (rollback)
        gate DeleteUser                  |                                <<<     |    5.8 ms  (rollback)

Bars use ``#``; compensations, undos and the commands they send use ``<``
and are marked ``(rollback)``. ``!`` after a duration marks an error, ``~``
an end the bridge inferred (no stop event). Children sit under their parent
span, in start order; a span whose parent is missing (e.g. the root was
never exported because its saga actor was killed) is shown at the top level.

:func:`metric_totals` sums the delta metric lines of ``metrics-*.jsonl``.
"""  # noqa: E501  (the sample timeline above is printed at its real width)

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaline.runtime.pidfile import DEFAULT_DATA_DIR
from sagaline.telemetry.context import trace_id_for

__all__ = [
    "telemetry_directory",
    "SpanRecord",
    "read_records",
    "load_trace",
    "render_timeline",
    "trace_timeline",
    "metric_totals",
    "find_runs",
]

_ROLLBACK = ("compensate", "undo")


def telemetry_directory(data_dir: str | None, environ: dict[str, str] | None = None) -> Path | None:
    """Where the spans are: ``SAGALINE_TELEMETRY_DIR``, else ``<data dir>/telemetry``."""
    environ = dict(os.environ if environ is None else environ)
    environ["SAGALINE_DATA_DIR"] = str(Path(data_dir or environ.get("SAGALINE_DATA_DIR") or DEFAULT_DATA_DIR))
    from sagaline.telemetry.setup import config_from_env

    return config_from_env(environ).directory


@dataclass(frozen=True)
class SpanRecord:
    """One exported span, as read from a ``spans-*.jsonl`` line."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    status: str = "unset"
    status_message: str | None = None
    attributes: dict = field(default_factory=dict)
    pid: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> SpanRecord:
        """Build from a parsed line (unknown keys ignored)."""
        return cls(
            data["trace_id"],
            data["span_id"],
            data.get("parent_span_id"),
            data.get("name", "?"),
            int(data.get("start_ns") or 0),
            int(data.get("end_ns") or data.get("start_ns") or 0),
            data.get("status", "unset"),
            data.get("status_message"),
            dict(data.get("attributes") or {}),
            data.get("pid"),
        )

    @property
    def duration_ns(self) -> int:
        """End minus start (never negative)."""
        return max(0, self.end_ns - self.start_ns)


def read_records(directory: str | Path, stem: str = "spans", contains: str | None = None) -> Iterator[dict]:
    """Parsed lines of ``<directory>/<stem>-*.jsonl``, oldest file first.

    Args:
        contains: only lines containing this text are parsed (a cheap filter).

    A line that does not parse (cut short by a crash mid-write) is skipped.
    """
    for path in sorted(Path(directory).glob(f"{stem}-*.jsonl")):
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if contains is not None and contains not in line:
                    continue
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def load_trace(directory: str | Path, correlation_id: str) -> list[SpanRecord]:
    """Every span of the run's trace found under ``directory`` (unordered)."""
    trace_id = trace_id_for(correlation_id)
    return [
        SpanRecord.from_dict(r)
        for r in read_records(directory, "spans", trace_id)
        if r.get("type") == "span" and r.get("trace_id") == trace_id
    ]


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


def _order(spans: list[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """(depth, span) in tree order: children under parents, siblings by start.

    A span id may be exported more than once: a run rebuilt after a retry or a
    restart reopens its root span under the same id. Each child then goes under
    the latest occurrence of its parent that started before it, so every span
    is shown once, under the part of the run it belongs to.
    """
    occurrences: dict[str, list[SpanRecord]] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        occurrences.setdefault(span.span_id, []).append(span)
    children: dict[int | None, list[SpanRecord]] = {}
    for span in spans:
        parent = _parent_of(span, occurrences.get(span.parent_span_id or ""))
        children.setdefault(None if parent is None else id(parent), []).append(span)
    out: list[tuple[int, SpanRecord]] = []

    def walk(parent: SpanRecord | None, depth: int) -> None:
        for span in sorted(
            children.get(None if parent is None else id(parent), []), key=lambda s: (s.start_ns, s.end_ns, s.name)
        ):
            out.append((depth, span))
            walk(span, depth + 1)

    walk(None, 0)
    return out


def _parent_of(span: SpanRecord, candidates: list[SpanRecord] | None) -> SpanRecord | None:
    """The occurrence of ``span``'s parent it belongs under (None: a top-level span)."""
    if not candidates:
        return None
    earlier = [c for c in candidates if c.start_ns <= span.start_ns and c is not span]
    chosen = earlier[-1] if earlier else candidates[0]
    return None if chosen is span else chosen


def _rollback(span: SpanRecord, parents: dict[str, SpanRecord]) -> bool:
    """True for a compensate/undo span or a command sent by one."""
    at: SpanRecord | None = span
    while at is not None:
        if at.attributes.get("sagaline.invocation.kind") in _ROLLBACK or at.name.split(" ")[0] in _ROLLBACK:
            return True
        at = parents.get(at.parent_span_id or "")
    return False


def _bar(span: SpanRecord, t0: int, total: int, width: int, char: str) -> str:
    scale = width / total if total > 0 else 0.0
    first = min(width - 1, int((span.start_ns - t0) * scale))
    last = max(first + 1, min(width, math.ceil((span.end_ns - t0) * scale)))
    return " " * first + char * (last - first) + " " * (width - last)


def _note(span: SpanRecord, rollback: bool) -> str:
    notes = ["(rebuilt)"] if span.attributes.get("sagaline.recovered") is True else []
    if span.status == "error":
        notes.append(f"ERROR {span.status_message or ''}".strip())
    if rollback:
        notes.append("(rollback)")
    return "  ".join(notes)


def _header(spans: list[SpanRecord], correlation_id: str | None, t0: int, t1: int) -> str:
    roots = [s for s in spans if s.parent_span_id is None and "sagaline.saga" in s.attributes]
    root = max(roots, key=lambda s: s.start_ns, default=None)  # the latest part of the run says how it ended
    attrs = root.attributes if root else {}
    cid = correlation_id or attrs.get("sagaline.correlation_id") or spans[0].trace_id
    pids = {s.pid for s in spans if s.pid is not None}
    parts = [
        f"run {cid}",
        f"saga {attrs.get('sagaline.saga', '?')}",
        attrs.get("sagaline.run.status", "unfinished"),
        _ms(t1 - t0),
        f"{len(spans)} spans, {len(pids)} process{'es' if len(pids) != 1 else ''}",
    ]
    return "  ".join(parts)


def render_timeline(
    spans: Iterable[SpanRecord | dict], correlation_id: str | None = None, width: int = 40, name_width: int = 36
) -> str:
    """The text timeline of one trace's spans (pure; format in the module docstring).

    Args:
        spans: the trace's spans (records or parsed lines), any order.
        correlation_id: shown in the header (else taken from the root span).
        width: bar columns.
        name_width: columns for the indented span names (longer names are cut).
    """
    records = [s if isinstance(s, SpanRecord) else SpanRecord.from_dict(s) for s in spans]
    if not records:
        return f"no spans for run {correlation_id}" if correlation_id else "no spans"
    t0, t1 = min(s.start_ns for s in records), max(s.end_ns for s in records)
    parents = {s.span_id: s for s in records}
    lines = [_header(records, correlation_id, t0, t1), " " * name_width + f" |0{_ms(t1 - t0).rjust(width - 1)}|"]
    for depth, span in _order(records):
        rollback = _rollback(span, parents)
        label = ("  " * depth + span.name)[:name_width].ljust(name_width)
        flags = ("!" if span.status == "error" else " ") + (
            "~" if span.attributes.get("sagaline.span.end") in ("inferred", "superseded", "evicted") else " "
        )
        bar = _bar(span, t0, t1 - t0, width, "<" if rollback else "#")
        lines.append(f"{label} |{bar}| {_ms(span.duration_ns).rjust(10)}{flags} {_note(span, rollback)}".rstrip())
    return "\n".join(lines)


def find_runs(directory: str | Path, prefix: str) -> list[str]:
    """The correlation ids of the traces under ``directory`` whose id starts with ``prefix`` (dashes optional)."""
    wanted = prefix.replace("-", "").lower()
    found: set[str] = set()
    for record in read_records(directory, "spans", wanted or None):
        trace = str(record.get("trace_id", ""))
        if trace.startswith(wanted) and len(trace) == 32:
            found.add(f"{trace[:8]}-{trace[8:12]}-{trace[12:16]}-{trace[16:20]}-{trace[20:]}")
    return sorted(found)


def trace_timeline(directory: str | Path, correlation_id: str, width: int = 40) -> str:
    """Read the run's spans from ``directory`` and render them (:func:`render_timeline`)."""
    spans = load_trace(directory, correlation_id)
    if not spans:
        return f"no spans for run {correlation_id} under {directory}"
    return render_timeline(spans, correlation_id, width)


def metric_totals(directory: str | Path) -> dict[tuple[str, tuple[tuple[str, Any], ...]], float]:
    """Totals of the delta metric lines: (name, sorted attributes) -> sum of values
    (for histograms, of their ``sum``; their ``count`` is under ``name + ".count"``)."""
    totals: dict[tuple[str, tuple[tuple[str, Any], ...]], float] = {}
    for record in read_records(directory, "metrics"):
        if record.get("type") != "metric" or record.get("temporality") not in ("delta", None):
            continue
        attrs = tuple(sorted((record.get("attributes") or {}).items()))
        if record.get("kind") == "histogram":
            for name, value in ((record["name"], record["sum"]), (record["name"] + ".count", record["count"])):
                totals[(name, attrs)] = totals.get((name, attrs), 0) + value
        elif record.get("kind") == "sum":
            totals[(record["name"], attrs)] = totals.get((record["name"], attrs), 0) + record["value"]
    return totals
