"""PURE. The daemon's answers as views for people: rich tables and text (``--json`` bypasses these).

:func:`render` picks the view of an :class:`AdminResult` by its request name;
every view is a function ``data -> renderable``. Times are shown one way
everywhere (:func:`sagaline.cli.times.human`, UTC); a missing value is ``-``.
Run views (``sagas show``, ``wait``, ``start``, operator answers) are in
:mod:`sagaline.cli.render_run`; the supervision tree in
:mod:`sagaline.cli.render_tree`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sagaline.cli.times import duration, epoch, human
from sagaline.messages.admin import AdminResult

__all__ = [
    "render",
    "render_catalog",
    "render_saga",
    "render_apps",
    "table",
    "cell",
    "styled",
    "fields",
    "STATUS_STYLES",
]

#: Colour of each run and step status (only on a terminal; see :mod:`sagaline.cli.output`).
STATUS_STYLES = {
    "completed": "green",
    "succeeded": "green",
    "ok": "green",
    "allow": "green",
    "failed": "red",
    "stuck": "bold red",
    "needs_operator": "bold red",
    "undo_failed": "bold red",
    "down": "bold red",
    "deny": "red",
    "running": "yellow",
    "retrying": "yellow",
    "compensating": "yellow",
    "draining": "yellow",
    "rolling_back": "yellow",
    "undoing": "blue",
    "undone": "blue",
    "degraded": "yellow",
    "cancelled": "magenta",
    "halted": "magenta",
    "pending": "dim",
    "abandoned": "dim",
    "skipped": "dim",
    "restarting": "yellow",
    "undefined": "red",
}


def cell(value: Any, limit: int = 60) -> str:
    """A table cell: ``-`` for nothing, JSON for structures, cut at ``limit`` characters."""
    if value is None or value == "":
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def styled(status: Any) -> Text:
    """A status word in its colour."""
    return Text(cell(status), style=STATUS_STYLES.get(str(status), ""))


#: Columns whose cells are never wrapped (on a terminal narrower than the table, the others wrap).
_WHOLE = frozenset(
    {
        "#",
        "CORRELATION ID",
        "RUN ID",
        "STARTED",
        "ENDED",
        "TOOK",
        "AT",
        "DECIDED AT",
        "CREATED",
        "CREATED AT",
        "UPDATED AT",
        "TRIAL ID",
        "DECISION ID",
        "PID",
        "RESTARTS",
    }
)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)", limit: int = 60
) -> RenderableType:
    """Columns separated by two blanks under bold headers; ``empty`` when there are no rows.
    Cells are text (:func:`cell`) unless already rich text."""
    if not rows:
        return Text(empty)
    grid = Table(box=None, padding=(0, 2, 0, 0), pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        whole = header in _WHOLE  # ids and times are never broken over lines on a narrow terminal
        grid.add_column(header, overflow="fold", no_wrap=whole, min_width=None if whole else min(len(header), 10))
    for row in rows:
        grid.add_row(*(value if isinstance(value, Text) else cell(value, limit) for value in row))
    return grid


def fields(pairs: Sequence[tuple[str, Any]], width: int | None = None) -> RenderableType:
    """``label  value`` lines, labels padded to one width (values may be rich text)."""
    width = width or max((len(label) for label, _ in pairs), default=0)
    lines = []
    for label, value in pairs:
        line = Text(label.ljust(width) + "  ")
        line.append(value if isinstance(value, Text) else str(value))
        lines.append(line)
    return Group(*lines)


# ----- views ---------------------------------------------------------------------------------------


def _runs(data: dict) -> RenderableType:
    rows = [
        (
            r["correlation_id"],
            r["saga"],
            styled(r["status"]),
            human(r.get("started_at")),
            _took(r.get("started_at"), r.get("finished_at")),
            r.get("failed_step"),
            r.get("error_code"),
            _lineage(r),
        )
        for r in data["runs"]
    ]
    body = table(
        ["CORRELATION ID", "SAGA", "STATUS", "STARTED", "TOOK", "FAILED STEP", "ERROR", "LINEAGE"],
        rows,
        empty="(no runs)",
    )
    first, total = data.get("offset", 0), data["total"]
    shown = f"showing {first + 1}-{first + len(rows)} of {total} run(s)" if rows else f"0 of {total} run(s)"
    following = first + len(rows)
    more = f"; next page: --offset {following}" if rows and following < total else ""
    return Group(body, Text(shown + more))


def _took(start: Any, end: Any) -> str:
    first, last = epoch(start), epoch(end)
    return "-" if first is None or last is None else duration(last - first)


def _lineage(row: dict) -> str | None:
    parts = []
    if row.get("resumed_from"):
        parts.append(f"resumes {row['resumed_from']}")
    if row.get("successor"):
        parts.append(f"resumed by {row['successor']}")
    return ", ".join(parts) or None


def _entries(data: dict) -> RenderableType:
    rows = [
        (
            e["key"],
            e.get("holder_id") or "(not in the tree)",
            e.get("pid"),
            styled(e["status"]) if e.get("status") else None,
            e.get("value"),
        )
        for e in data["entries"]
    ]
    return table(["KEY", "HOLDER", "PID", "STATE", "VALUE"], rows, empty="(no entries)")


def _convention(data: dict) -> RenderableType:
    me = data.get("self") or {}
    members = [[m["admin"], m["role"], json.dumps(m["capabilities"], sort_keys=True)] for m in data["members"]]
    leases = [
        [
            lease["resource"],
            lease["member"],
            lease["host"],
            lease["expires_in_s"],
            lease["token"],
            "live" if lease["live"] else "expired",
        ]
        for lease in data["leases"]
    ]
    return Group(
        fields(
            [
                ("role", me.get("role")),
                ("member", me.get("member")),
                ("join", me.get("join")),
                ("capabilities", json.dumps(me.get("capabilities"), sort_keys=True)),
            ]
        ),
        Text(""),
        table(["MEMBER ADMIN", "ROLE", "CAPABILITIES"], members, empty="(no other actor system)"),
        Text(""),
        table(
            ["PARTITION", "MEMBER", "HOST", "EXPIRES IN S", "TOKEN", "STATE"],
            leases,
            empty="(no leases: one daemon per journal)",
        ),
    )


def _events(data: dict) -> RenderableType:
    rows = [(human(e["at"]), e["name"], e["source"], e.get("correlation_id"), e.get("payload")) for e in data["events"]]
    return table(["AT", "NAME", "SOURCE", "CORRELATION ID", "PAYLOAD"], rows, empty="(no events)")


def _health(data: dict) -> RenderableType:
    d = data["daemon"]
    probes = f"live {'yes' if data.get('live', True) else 'NO'}, ready {'yes' if data.get('ready', True) else 'NO'}"
    status = styled(data["status"]).append(f" ({probes})", style="")
    pairs: list[tuple[str, Any]] = [("status", status)]
    pairs += [("problem", line) for line in data.get("problems", [])]
    storage = data.get("storage")
    if storage is not None:
        pairs.append(
            ("storage", "ok" if storage.get("ok", True) else Text(f"FAULT: {storage.get('reason')}", style="bold red"))
        )
    pairs += [
        (
            "daemon",
            f"pid {d.get('pid')} {d.get('base')} {d.get('bind_address')}:{d.get('admin_port')} v{d.get('version')}",
        ),
        ("started", human(d.get("started_at"))),
        ("data", d.get("data_dir")),
        ("apps", ", ".join(d.get("apps") or []) or "-"),
        ("uptime", duration(d.get("uptime_s", 0))),
        ("registered", f"{data['registered']} key(s)"),
    ]
    rows = [
        (c["id"], c["type"], styled(c["status"]), c["restarts"], c.get("pid"), c.get("name")) for c in data["children"]
    ]
    return Group(fields(pairs, 10), Text(""), table(["CHILD", "TYPE", "STATE", "RESTARTS", "PID", "NAME"], rows))


def _names(rows: list[dict]) -> str:
    return ", ".join(f["name"] + ("" if f["required"] else "?") for f in rows) or "-"


def render_catalog(data: dict) -> RenderableType:
    """The sagas, one line each; ``sagas catalog NAME`` shows one with its typed inputs."""
    rows = [(s["name"], s.get("app"), s["version"], len(s["steps"]), _names(s["inputs"])) for s in data["sagas"]]
    body = table(
        ["SAGA", "APP", "VERSION", "STEPS", "INPUTS (? = optional)"], rows, empty="(no sagas: no app loaded)", limit=120
    )
    return Group(body, Text("(`sagas catalog NAME`: a saga's inputs with their types, defaults and descriptions)"))


def _typed(rows: list[dict], kind: str) -> RenderableType:
    cells = [
        (
            f["name"],
            f["type"],
            "yes" if f["required"] else "no",
            None if f["required"] else f.get("default"),
            f.get("description") or None,
        )
        for f in rows
    ]
    return table([kind, "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], cells, empty=f"(no {kind.lower()}s)", limit=120)


def render_saga(data: dict) -> RenderableType:
    """One saga (the only one in ``data``): what it does, its steps and its typed inputs."""
    parts: list[RenderableType] = []
    for saga in data["sagas"]:
        parts += [
            fields(
                [
                    ("saga", f"{saga['name']} (app {saga.get('app')}, version {saga['version']})"),
                    ("about", saga.get("description") or "-"),
                    ("steps", " -> ".join(saga["steps"])),
                ],
                9,
            ),
            Text(""),
            _typed(saga["inputs"], "INPUT"),
        ]
    return Group(*parts)


def render_apps(data: dict, command: str | None = None) -> RenderableType:
    """The loaded apps and their admin commands; with ``command``, that command's arguments."""
    if command is not None:
        c = next(c for c in data.get("commands", []) if c["name"] == command)
        return Group(
            fields(
                [("command", f"{c['name']} (app {c['app']}, domain {c['domain']})"), ("about", c["help"] or "-")], 9
            ),
            Text(""),
            _typed(c["args"], "ARGUMENT"),
        )
    apps = [
        (a["name"], ", ".join(a["sagas"]) or None, ", ".join(a["domains"]) or None, ", ".join(a["uses"]) or None)
        for a in data.get("apps", [])
    ]
    commands = [(c["name"], c["app"], c["domain"], _names(c["args"]), c["help"]) for c in data.get("commands", [])]
    return Group(
        table(["APP", "SAGAS", "DOMAINS", "USES"], apps, empty="(no apps loaded)", limit=120),
        Text(""),
        table(
            ["COMMAND", "APP", "DOMAIN", "ARGUMENTS (? = optional)", "HELP"],
            commands,
            empty="(no admin commands)",
            limit=120,
        ),
        Text("(`app list COMMAND`: its arguments; `app run COMMAND key=value ...` runs it)"),
    )


def _app_reply(data: dict) -> RenderableType:
    """An app command's answer: a table when it is one list of records (its ``columns``, when the
    command names them, else every field of the first record), else its fields."""
    reply = data.get("reply") or {}
    lists = [(k, v) for k, v in reply.items() if isinstance(v, list)]
    if len(reply) == 1 and lists and all(isinstance(r, dict) for r in lists[0][1]):
        rows = lists[0][1]
        headers = list(data.get("columns") or (rows[0] if rows else []))
        return table(
            [h.upper().replace("_", " ") for h in headers],
            [[_value(h, r.get(h)) for h in headers] for r in rows],
            empty=f"(no {lists[0][0]})",
        )
    if len(reply) == 1 and isinstance(next(iter(reply.values())), dict):
        reply = next(iter(reply.values()))
    if not reply:
        return Text("(done)")
    return fields([(k, human(v) if k.endswith("_at") else cell(v, 200)) for k, v in reply.items()])


def _value(name: str, value: Any) -> Any:
    """A record's cell: times shown as times, statuses and effects in their colour, lists of words joined."""
    if name.endswith("_at"):
        return human(value)
    if name in ("state", "status", "effect") and isinstance(value, str):
        return styled(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value) or None
    return value


def _views() -> dict[str, Callable[[dict], RenderableType]]:
    from sagaline.cli.render_run import render_cancel, render_operator, render_run, render_started
    from sagaline.cli.render_tree import render_tree

    return {
        "AdminListRuns": _runs,
        "AdminShowRun": render_run,
        "AdminWaitRun": render_run,
        "AdminStartSaga": render_started,
        "AdminCancelRun": render_cancel,
        "AdminRetryCompensation": render_operator,
        "AdminResumeRun": render_operator,
        "AdminTree": render_tree,
        "AdminRegistryLookup": _entries,
        "AdminRegistrySelect": _entries,
        "AdminTailEvents": _events,
        "AdminHealth": _health,
        "AdminConvention": _convention,
        "AdminCatalog": render_catalog,
        "AdminAppCommand": _app_reply,
    }


def render(result: AdminResult) -> RenderableType:
    """The human view of ``result`` (its JSON when no view knows its request)."""
    view = _views().get(result.request)
    return view(result.data) if view else Text(json.dumps(result.data, indent=2, default=str))
