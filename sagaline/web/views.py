"""PURE. What the console's pages show, computed from the daemon's answers (no I/O, no clock).

* :class:`RunFilter` -- the runs page's filters, parsed from the query
  string; :meth:`RunFilter.list_request` says what the daemon filters itself
  (saga, status, paging) and :meth:`RunFilter.keep` what the console filters
  among the newest ``scan_limit`` runs (a time range and an id prefix: the
  admin request has no such fields yet).
* :func:`run_facts` -- one run's record (``AdminShowRun``'s data) as the run
  page shows it: steps with durations and attempts, the failure, the
  lineage, and :func:`run_actions`, the operator actions its status allows.
  Fields a newer daemon adds (``inputs``, step ``result``, ``undo_attempts``,
  ``resumed_from``, ``successor``) are shown when present.
* :func:`tree_rows` -- the supervision tree flattened for a table.
* :func:`event_rows` -- events for the live tail.

Times are shown in UTC, ISO-8601 (``2026-12-04 16:40:38.466Z``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sagaline.web.redact import redact

__all__ = [
    "STATUSES",
    "ENDED",
    "WINDOWS",
    "RunFilter",
    "FilterProblem",
    "run_facts",
    "run_actions",
    "tree_rows",
    "event_rows",
    "fmt_time",
    "fmt_duration",
    "pretty",
    "count_rows",
    "Action",
]

#: Every run status, in the order the counts show them.
STATUSES = (
    "running",
    "draining",
    "rolling_back",
    "halted",
    "completed",
    "failed",
    "cancelled",
    "stuck",
    "needs_operator",
)
#: Statuses after which a run changes no more by itself.
ENDED = frozenset({"completed", "failed", "cancelled", "stuck", "halted", "needs_operator"})
#: The "last ..." choices of the time filter: label -> seconds.
WINDOWS = {"5m": 300, "1h": 3600, "24h": 86400, "7d": 7 * 86400}
#: Longest id prefix or saga name accepted in a filter (the admin models' own limits).
_MAX_TEXT = 200


class FilterProblem(ValueError):
    """A filter value is not understood; the message names the field."""


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def fmt_time(epoch: float | None) -> str:
    """``2026-12-04 16:40:38.466Z`` (empty for None)."""
    moment = _utc(epoch)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fmt_duration(seconds: float | None) -> str:
    """``84.2 ms``, ``3.21 s``, ``2 min 5 s`` (empty for None)."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def pretty(value: Any) -> str:
    """Masked, indented JSON of ``value`` for a ``<pre>``."""
    return json.dumps(redact(value), indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _parse_time(text: str, name: str) -> float | None:
    """``2026-12-04T16:40`` (a datetime-local field, read as UTC) or any ISO-8601 time -> epoch seconds."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterProblem(f"{name}: not a time (want YYYY-MM-DDTHH:MM, UTC): {text[:40]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class RunFilter:
    """The runs page's filters and page number."""

    saga: str = ""
    statuses: tuple[str, ...] = ()
    id_prefix: str = ""
    last: str = ""
    """One of :data:`WINDOWS` (the window ends now), or empty."""
    since: float | None = None
    """Started at or after this time (epoch seconds)."""
    until: float | None = None
    """Started before this time."""
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> RunFilter:
        """From the query string (``status`` may repeat or be comma-separated).

        Raises:
            FilterProblem: an unknown status or window, a bad time or page, a value too long.
        """
        statuses = tuple(dict.fromkeys(s.strip() for v in _all(query, "status") for s in v.split(",") if s.strip()))
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise FilterProblem(f"status: unknown {unknown[0]!r} (known: {', '.join(STATUSES)})")
        last = _one(query, "last")
        if last and last not in WINDOWS:
            raise FilterProblem(f"last: unknown window {last!r} (known: {', '.join(WINDOWS)})")
        saga, prefix = _one(query, "saga").strip(), _one(query, "id").strip().lower()
        if len(saga) > _MAX_TEXT or len(prefix) > 64:
            raise FilterProblem("saga or id: too long")
        if prefix and not all(c in "0123456789abcdef-" for c in prefix):
            raise FilterProblem(f"id: a run id has only hex digits and dashes, got {prefix[:40]!r}")
        try:
            page = int(_one(query, "page") or 1)
        except ValueError:
            raise FilterProblem("page: not a number") from None
        if not 1 <= page <= 10_000:
            raise FilterProblem("page: out of range (1-10000)")
        return cls(
            saga,
            statuses,
            prefix,
            last,
            _parse_time(_one(query, "from"), "from"),
            _parse_time(_one(query, "to"), "to"),
            page,
        )

    @property
    def scans(self) -> bool:
        """True when the console filters rows itself (time range or id prefix)."""
        return bool(self.id_prefix or self.last or self.since is not None or self.until is not None)

    @property
    def from_text(self) -> str:
        """``since`` as the ``from`` field shows it (UTC)."""
        return _iso_input(self.since)

    @property
    def to_text(self) -> str:
        """``until`` as the ``to`` field shows it (UTC)."""
        return _iso_input(self.until)

    def window(self, now: float) -> tuple[float | None, float | None]:
        """The time range as (since, until) epoch seconds, ``last`` resolved against ``now``."""
        since = now - WINDOWS[self.last] if self.last else self.since
        return since, self.until

    def list_request(self, page_size: int, scan_limit: int) -> dict[str, Any]:
        """The fields of the ``AdminListRuns`` to send: one page, or the newest ``scan_limit`` rows to filter."""
        base = {"status": list(self.statuses), "saga": self.saga or None}
        if self.scans:
            return {**base, "limit": scan_limit, "offset": 0}
        return {**base, "limit": page_size, "offset": (self.page - 1) * page_size}

    def keep(self, row: Mapping[str, Any], now: float) -> bool:
        """Does ``row`` (a RunSummary's data) pass the filters the console applies itself?"""
        since, until = self.window(now)
        started = row.get("started_at") or 0.0
        return (
            str(row.get("correlation_id", "")).startswith(self.id_prefix)
            and (since is None or started >= since)
            and (until is None or started < until)
        )

    def query(self, **changes: Any) -> str:
        """This filter as a query string (``changes`` applied: ``page=2``)."""
        me = replace(self, **changes)
        pairs = [
            ("saga", me.saga),
            ("id", me.id_prefix),
            ("last", me.last),
            ("from", _iso_input(me.since)),
            ("to", _iso_input(me.until)),
        ]
        pairs += [("status", s) for s in me.statuses]
        pairs += [("page", str(me.page))] if me.page != 1 else []
        return urlencode([(k, v) for k, v in pairs if v])


def _iso_input(epoch: float | None) -> str:
    """Epoch seconds as a ``datetime-local`` field value (UTC)."""
    moment = _utc(epoch)
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M")


def _one(query: Mapping[str, Any], key: str) -> str:
    """The first value of ``key`` as text (empty when absent)."""
    values = _all(query, key)
    return values[0] if values else ""


def _all(query: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(query, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(key)]
    value = query.get(key)
    return [] if value is None else [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def count_rows(totals: Mapping[str, int]) -> list[dict[str, Any]]:
    """Counts by status in :data:`STATUSES` order (statuses with none left out), and the sum."""
    rows = [{"status": s, "count": totals[s]} for s in STATUSES if totals.get(s)]
    return rows + [{"status": "all", "count": sum(totals.get(s, 0) for s in STATUSES)}]


# ----- one run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """An operator action a run's page offers."""

    name: str
    """cancel | retry | resume (the URL's last part)."""
    label: str
    """The button's text."""
    question: str
    """What the confirmation asks."""


def run_actions(status: str, successor: str | None = None) -> list[Action]:
    """The operator actions ``status`` allows (the daemon decides again when asked)."""
    actions = []
    if status == "running":
        actions.append(Action("cancel", "Cancel run", "Cancel this run? Its completed steps will be undone."))
    if status == "stuck":
        actions.append(Action("retry", "Retry compensations", "Retry the failed compensations of this run?"))
    if status == "halted" or (status in ("failed", "cancelled") and not successor):
        actions.append(Action("resume", "Resume", "Resume this run from where it stopped?"))
    return actions


@dataclass(frozen=True)
class StepRow:
    """One step of a run as the run page lists it."""

    name: str
    status: str
    attempts: int
    started: str
    took: str
    error: str = ""
    compensation_error: str = ""
    undo_attempts: int | None = None
    result: str | None = None


def _error_text(error: Mapping[str, Any] | None) -> str:
    if not error:
        return ""
    code, message = error.get("code") or "", error.get("message") or ""
    return f"{code}: {message}" if code and message and message != code else str(code or message)


def _step_row(step: Mapping[str, Any]) -> StepRow:
    started, finished = step.get("started_at"), step.get("finished_at")
    took = fmt_duration(finished - started) if started is not None and finished is not None else ""
    undo = step.get("undo_attempts", step.get("compensation_attempts"))
    result = pretty(step["result"]) if step.get("result") is not None else None
    return StepRow(
        str(step.get("name")),
        str(step.get("status")),
        int(step.get("attempts") or 0),
        fmt_time(started),
        took,
        _error_text(step.get("error")),
        _error_text(step.get("compensation_error")),
        None if undo is None else int(undo),
        result,
    )


@dataclass(frozen=True)
class RunFacts:
    """One run as its page shows it."""

    correlation_id: str
    saga: str
    status: str
    ended: bool
    started: str
    finished: str
    took: str
    steps: list[StepRow]
    states: dict[str, str]
    """Step name -> status (for the graph)."""
    failed_step: str | None
    error: str
    error_details: str | None
    result: str | None
    inputs: str | None
    """Masked JSON, or None when the daemon does not report a run's inputs."""
    resumed_from: str | None
    successor: str | None
    causation_id: str | None
    failed_compensations: list[str]
    actions: list[Action] = field(default_factory=list)


def run_facts(data: Mapping[str, Any], summary: Mapping[str, Any] | None = None) -> RunFacts:
    """``AdminShowRun``'s data (and the run's list row, for lineage an older daemon only lists)."""
    summary = summary or {}
    status = str(data.get("status"))
    started, finished = data.get("started_at"), data.get("finished_at")
    steps = [_step_row(s) for s in data.get("steps") or ()]
    error = data.get("error") or None
    successor = data.get("successor", summary.get("successor"))
    return RunFacts(
        correlation_id=str(data.get("correlation_id")),
        saga=str(data.get("saga")),
        status=status,
        ended=status in ENDED,
        started=fmt_time(started),
        finished=fmt_time(finished),
        took=fmt_duration(finished - started) if started is not None and finished is not None else "",
        steps=steps,
        states={s.name: s.status for s in steps},
        failed_step=data.get("failed_step"),
        error=_error_text(error),
        error_details=pretty(error["details"]) if error and error.get("details") else None,
        result=pretty(data["result"]) if data.get("result") is not None else None,
        inputs=pretty(data["inputs"]) if "inputs" in data else None,
        resumed_from=data.get("resumed_from", summary.get("resumed_from")),
        successor=successor,
        causation_id=data.get("causation_id"),
        failed_compensations=list(data.get("failed_compensations") or ()),
        actions=run_actions(status, successor),
    )


# ----- the tree, events ------------------------------------------------------------------------


def tree_rows(node: Mapping[str, Any], depth: int = 0, path: str = "") -> list[dict[str, Any]]:
    """The tree depth-first: id, path, depth, type, status, pid, restarts, name, last exit (when reported)."""
    here = f"{path}/{node.get('id')}" if path else str(node.get("id"))
    row = {
        "id": node.get("id"),
        "path": here,
        "depth": depth,
        "type": node.get("type"),
        "status": node.get("status"),
        "pid": node.get("pid"),
        "restarts": node.get("restarts", 0),
        "name": node.get("name"),
        "last_exit": node.get("last_exit"),
        "unreachable": bool(node.get("unreachable")),
    }
    rows = [row]
    for child in node.get("children") or ():
        rows.extend(tree_rows(child, depth + 1, here))
    return rows


def event_rows(events: Iterable[Mapping[str, Any]], name_prefix: str = "", correlation_id: str = "") -> list[dict]:
    """Events newest first, filtered (the daemon filters too; this keeps a merged tail honest), payloads masked."""
    rows = []
    for event in events:
        name, cid = str(event.get("name", "")), event.get("correlation_id") or ""
        if not name.startswith(name_prefix) or (correlation_id and cid != correlation_id):
            continue
        rows.append(
            {
                "id": event.get("id"),
                "at": str(event.get("at", "")).replace("T", " "),
                "name": name,
                "source": event.get("source"),
                "correlation_id": cid,
                "priority": event.get("priority"),
                "payload": json.dumps(redact(event.get("payload")), sort_keys=True, default=str, ensure_ascii=False),
            }
        )
    return list(reversed(rows))
