"""PURE. Answers of the daemon as text: tables for people, JSON for scripts.

:func:`render` picks the view of an :class:`AdminResult` by its request name;
every view is a function ``data -> str``. ``--json`` prints the ``data``
mapping as is (:func:`as_json`), so scripts never parse tables.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Sequence

from sagaline.messages.admin import AdminError, AdminResult

__all__ = ["render", "render_error", "render_catalog", "render_saga", "render_apps", "as_json", "table", "when",
           "duration"]


def as_json(value: Any) -> str:
    """Pretty JSON (keys in their order, non-ASCII kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)", limit: int = 60) -> str:
    """Left-aligned columns separated by two spaces, cells cut at ``limit``; ``empty`` when there are no rows."""
    if not rows:
        return empty
    cells = [[_cell(v, limit) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def _cell(value: Any, limit: int = 60) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def when(epoch: float | None) -> str:
    """Local wall-clock time of an epoch timestamp (``-`` when unknown)."""
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def duration(start: float | None, end: float | None) -> str:
    """``1.234s`` between two timestamps (``-`` when either is unknown)."""
    if start is None or end is None:
        return "-"
    return f"{end - start:.3f}s"


def _error_text(error: dict | None) -> str | None:
    if not error:
        return None
    return f"{error.get('code')}: {error.get('message', '')}".strip()


# ----- views ---------------------------------------------------------------------------------------

def _runs(data: dict) -> str:
    rows = [(r["correlation_id"], r["saga"], r["status"], when(r["started_at"]),
             duration(r["started_at"], r.get("finished_at")), r.get("failed_step"), r.get("error_code"))
            for r in data["runs"]]
    body = table(["CORRELATION ID", "SAGA", "STATUS", "STARTED", "TOOK", "FAILED STEP", "ERROR"], rows,
                 empty="(no runs)")
    return f"{body}\n{len(rows)} of {data['total']} run(s)"


def _run(data: dict) -> str:
    lines = [f"run       {data['correlation_id']}", f"saga      {data['saga']}", f"status    {data['status']}",
             f"started   {when(data.get('started_at'))}", f"finished  {when(data.get('finished_at'))}",
             f"took      {duration(data.get('started_at'), data.get('finished_at'))}"]
    if data.get("failed_step"):
        lines.append(f"failed at {data['failed_step']}")
    if data.get("error"):
        lines.append(f"error     {_error_text(data['error'])}")
    if data.get("failed_compensations"):
        lines.append(f"stuck on  {', '.join(data['failed_compensations'])}")
    if "steps" in data:
        lines += ["", _steps(data["steps"], data.get("started_at"))]
    elif data.get("status") == "completed":
        lines.append(f"result    {_cell(data.get('result'), 500)}")
    return "\n".join(lines)


def _steps(steps: list[dict], run_start: float | None) -> str:
    def offset(at: float | None) -> str:
        return "-" if at is None or run_start is None else f"+{at - run_start:.3f}s"

    rows = [(s["name"], s["status"], s["attempts"], offset(s.get("started_at")),
             duration(s.get("started_at"), s.get("finished_at")), _error_text(s.get("error")),
             _error_text(s.get("compensation_error"))) for s in steps]
    return table(["STEP", "STATUS", "ATTEMPTS", "STARTED", "TOOK", "ERROR", "COMPENSATION ERROR"], rows)


def _started(data: dict) -> str:
    if "status" in data:
        return _run(data)
    verb = "already exists" if data["existing"] else "started"
    return f"run {data['correlation_id']} ({data['saga']}) {verb}"


def _cancelled(data: dict) -> str:
    if data["accepted"]:
        return f"run {data['correlation_id']}: cancelled; it now rolls back (status {data['status']})"
    return f"run {data['correlation_id']}: not running (status {data['status']}); nothing to cancel"


def _operator(data: dict) -> str:
    verdict = "accepted" if data["accepted"] else "refused"
    extra = f": {data['message']}" if data.get("message") else ""
    return f"run {data['correlation_id']}: {verdict} (status {data['status']}){extra}"


def _tree(data: dict) -> str:
    lines: list[str] = []
    _tree_lines(data["tree"], "", True, lines, top=True)
    return "\n".join(lines)


def _tree_lines(node: dict, prefix: str, last: bool, lines: list[str], top: bool = False) -> None:
    facts = [node["type"], node["status"], f"restarts={node['restarts']}"]
    if node.get("pid"):
        facts.append(f"pid={node['pid']}")
    if node.get("name"):
        facts.append(f"name={node['name']}")
    if node.get("unreachable"):
        facts.append("(did not answer)")
    branch = "" if top else ("└─ " if last else "├─ ")
    lines.append(f"{prefix}{branch}{node['id']}  {' '.join(facts)}")
    children = node.get("children", [])
    inner = prefix if top else prefix + ("   " if last else "│  ")
    for index, child in enumerate(children):
        _tree_lines(child, inner, index == len(children) - 1, lines)


def _entries(data: dict) -> str:
    rows = [(e["key"], e["holder"], e.get("value")) for e in data["entries"]]
    return table(["KEY", "HOLDER", "VALUE"], rows, empty="(no entries)")


def _events(data: dict) -> str:
    rows = [(e["at"], e["name"], e["source"], e.get("correlation_id"), e.get("payload"))
            for e in data["events"]]
    return table(["AT", "NAME", "SOURCE", "CORRELATION ID", "PAYLOAD"], rows, empty="(no events)")


def _decisions(data: dict) -> str:
    rows = [(d["decided_at"], d["action"], d["effect"], f"{d['policy_id']} v{d['policy_version']}",
             "; ".join(d.get("reasons") or []), d.get("correlation_id")) for d in data["decisions"]]
    return table(["DECIDED AT", "ACTION", "EFFECT", "POLICY", "REASONS", "CORRELATION ID"], rows,
                 empty="(no decisions)")


def _nas(data: dict) -> str:
    rows = []
    for run in data["runs"]:
        trials = run.get("trials", [])
        done = sum(1 for t in trials if t["state"] in ("succeeded", "failed", "cancelled"))
        epochs = ", ".join(f"{t['epoch']}/{t['epochs']}" for t in trials if t["state"] == "running")
        rows.append((run["run_id"], run["state"], f"{done}/{run['requested_trials']}", epochs or None,
                     run["created_at"], run.get("correlation_id"), run.get("reason") or None))
    body = table(["RUN ID", "STATE", "TRIALS DONE", "RUNNING (EPOCH)", "CREATED", "CORRELATION ID", "REASON"],
                 rows, empty="(no NAS runs)")
    return body if data.get("trials_known", True) else body + "\n(trial progress unavailable: no bridge)"


def _health(data: dict) -> str:
    d = data["daemon"]
    probes = f"live {'yes' if data.get('live', True) else 'NO'}, ready {'yes' if data.get('ready', True) else 'NO'}"
    head = [f"status     {data['status']} ({probes})"]
    head += [f"problem    {line}" for line in data.get("problems", [])]
    head += [f"daemon     pid {d.get('pid')} {d.get('base')} "
            f"{d.get('bind_address')}:{d.get('admin_port')} v{d.get('version')}",
            f"data       {d.get('data_dir')}", f"apps       {', '.join(d.get('apps') or []) or '-'}",
            f"uptime     {d.get('uptime_s', 0):.0f}s",
            f"registered {data['registered']} key(s)", ""]
    rows = [(c["id"], c["type"], c["status"], c["restarts"], c.get("pid"), c.get("name"))
            for c in data["children"]]
    return "\n".join(head) + table(["CHILD", "TYPE", "STATUS", "RESTARTS", "PID", "NAME"], rows)


def _names(fields: list[dict]) -> str:
    return ", ".join(f["name"] + ("" if f["required"] else "?") for f in fields) or "-"


def render_catalog(data: dict) -> str:
    """The sagas, one line each; ``sagas catalog NAME`` shows one with its typed inputs."""
    rows = [(s["name"], s.get("app"), s["version"], len(s["steps"]), _names(s["inputs"])) for s in data["sagas"]]
    body = table(["SAGA", "APP", "VERSION", "STEPS", "INPUTS (? = optional)"], rows, empty="(no sagas: no app loaded)",
                 limit=120)
    return body + "\n(`sagas catalog NAME`: a saga's inputs with their types, defaults and descriptions)"


def _fields(fields: list[dict], kind: str) -> str:
    rows = [(f["name"], f["type"], "yes" if f["required"] else "no", None if f["required"] else f.get("default"),
             f.get("description") or None) for f in fields]
    return table([kind, "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], rows, empty=f"(no {kind.lower()}s)", limit=120)


def render_saga(data: dict) -> str:
    """One saga (the only one in ``data``): what it does, its steps and its typed inputs."""
    lines = []
    for saga in data["sagas"]:
        lines += [f"saga      {saga['name']} (app {saga.get('app')}, version {saga['version']})",
                  f"about     {saga.get('description') or '-'}", f"steps     {' -> '.join(saga['steps'])}", "",
                  _fields(saga["inputs"], "INPUT")]
    return "\n".join(lines)


def render_apps(data: dict, command: str | None = None) -> str:
    """The loaded apps and their admin commands; with ``command``, that command's arguments."""
    if command is not None:
        found = [c for c in data.get("commands", []) if c["name"] == command]
        if not found:
            known = ", ".join(c["name"] for c in data.get("commands", [])) or "none"
            return f"no command named {command!r} (known: {known})"
        c = found[0]
        return "\n".join([f"command   {c['name']} (app {c['app']}, domain {c['domain']})",
                          f"about     {c['help'] or '-'}", "", _fields(c["args"], "ARGUMENT")])
    apps = [(a["name"], ", ".join(a["sagas"]) or None, ", ".join(a["domains"]) or None, ", ".join(a["uses"]) or None)
            for a in data.get("apps", [])]
    commands = [(c["name"], c["app"], c["domain"], _names(c["args"]), c["help"]) for c in data.get("commands", [])]
    return "\n".join([table(["APP", "SAGAS", "DOMAINS", "USES"], apps, empty="(no apps loaded)", limit=120), "",
                      table(["COMMAND", "APP", "DOMAIN", "ARGUMENTS (? = optional)", "HELP"], commands,
                            empty="(no admin commands)", limit=120),
                      "(`app list COMMAND`: its arguments; `app run COMMAND key=value ...` runs it)"])


def _app_reply(data: dict) -> str:
    """An app command's answer: a table when it is one list of records, else its fields."""
    reply = data.get("reply") or {}
    lists = [(k, v) for k, v in reply.items() if isinstance(v, list)]
    if len(reply) == 1 and lists and all(isinstance(r, dict) for r in lists[0][1]):
        rows = lists[0][1]
        headers = list(rows[0]) if rows else []
        return table([h.upper() for h in headers], [[r.get(h) for h in headers] for r in rows],
                     empty=f"(no {lists[0][0]})")
    if len(reply) == 1 and isinstance(next(iter(reply.values())), dict):
        reply = next(iter(reply.values()))
    width = max((len(k) for k in reply), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v, 200)}" for k, v in reply.items()) or "(done)"


VIEWS: dict[str, Callable[[dict], str]] = {
    "AdminListRuns": _runs, "AdminShowRun": _run, "AdminWaitRun": _run, "AdminStartSaga": _started,
    "AdminCancelRun": _cancelled, "AdminRetryCompensation": _operator, "AdminResumeRun": _operator,
    "AdminTree": _tree, "AdminRegistryLookup": _entries, "AdminRegistrySelect": _entries,
    "AdminTailEvents": _events, "AdminPolicyDecisions": _decisions, "AdminNasRuns": _nas,
    "AdminHealth": _health, "AdminCatalog": render_catalog, "AdminAppCommand": _app_reply,
}


def render(result: AdminResult) -> str:
    """The human view of ``result`` (JSON when no view knows its request)."""
    view = VIEWS.get(result.request)
    return view(result.data) if view else as_json(result.data)


def render_error(error: AdminError) -> str:
    """One line (plus a hint for some codes) describing an admin error."""
    text = f"error ({error.code}): {error.message}"
    if error.details.get("code"):
        text += f" [{error.details['code']}]"
    return text
