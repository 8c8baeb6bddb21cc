"""PURE. One run for people: ``sagas show`` / ``wait`` / ``start --wait``, operator answers, live progress.

A run is shown whole::

    run         01a241ef-473b-714d-b7a6-0bd3ea382b62
    saga        user_provisioning
    status      failed
    started     2026-12-04 16:42:10Z
    finished    2026-12-04 16:42:19Z (took 9.571s)
    inputs      email="b@example.com"  magic_link_redirect="/"
    failure     create_default_community: community_join_failed: injected fault on JoinCommunity
    resumed by  01a241f0-0c2e-7b51-9d0e-5b1f2a7e4c11

    #  STEP                      STATUS     ATTEMPTS  STARTED  ENDED    RESULT / ERROR            UNDO
    1  validate_email            succeeded  1         +0.000s  +0.014s  "b@example.com"           -
    2  generate_token            undone     1         +0.014s  +3.200s  {"token": "..."}          undo ok (1 attempt)
    ...
    7  emit_onboarding_event     abandoned  0         -        -        -                         -

Steps are listed in execution order (by first dispatch; steps that never
ran last, in plan order). A field the daemon does not know is left out
(an ended run's inputs, where its host keeps none).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from sagaline.cli.render import cell, fields, styled, table
from sagaline.cli.times import duration, epoch, human, offset

__all__ = [
    "render_run",
    "render_started",
    "render_cancel",
    "render_operator",
    "error_text",
    "execution_order",
    "progress_lines",
    "StepMarks",
]

#: Characters of a run's result shown in the human view (``--json`` has all of it).
RESULT_CHARS = 500

StepMarks = dict[str, tuple[Any, ...]]


def error_text(error: dict | None) -> str | None:
    """``code: message`` (just the code when there is no message; None for no error)."""
    if not error:
        return None
    message = str(error.get("message") or "").strip()
    return f"{error.get('code')}: {message}" if message else str(error.get("code"))


def execution_order(steps: list[dict]) -> list[dict]:
    """Steps by first dispatch; those that never ran after them, in the order given (plan order)."""
    ran = sorted(
        (s for s in steps if epoch(s.get("started_at")) is not None),
        key=lambda s: (epoch(s["started_at"]), steps.index(s)),
    )
    return ran + [s for s in steps if epoch(s.get("started_at")) is None]


def _inputs(inputs: dict) -> str:
    return (
        "  ".join(
            f"{k}={cell(v, 120) if not isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
            for k, v in inputs.items()
        )
        or "(none)"
    )


def _head(data: dict) -> list[tuple[str, Any]]:
    finished = data.get("finished_at")
    end, begin = epoch(finished), epoch(data.get("started_at"))
    took = end - begin if end and begin else None
    pairs: list[tuple[str, Any]] = [
        ("run", data["correlation_id"]),
        ("saga", data["saga"]),
        ("status", styled(data["status"])),
        ("started", human(data.get("started_at"))),
    ]
    if finished is not None:
        pairs.append(("finished", f"{human(finished)} (took {duration(took)})"))
    if data.get("inputs") is not None:
        pairs.append(("inputs", _inputs(data["inputs"])))
    if data.get("error") or data.get("failed_step"):
        where = f"{data['failed_step']}: " if data.get("failed_step") else ""
        pairs.append(("failure", f"{where}{error_text(data.get('error')) or '-'}"))
    if data.get("reason") and data["status"] in ("cancelled", "halted", "rolling_back", "draining"):
        pairs.append(("reason", data["reason"]))
    if data.get("failed_compensations"):
        pairs.append(("stuck on", ", ".join(data["failed_compensations"])))
    pairs += _lineage(data)
    if data.get("status") == "completed" or data.get("result") is not None:
        pairs.append(("result", cell(data.get("result"), RESULT_CHARS) if data.get("result") is not None else "-"))
    return pairs


def _lineage(data: dict) -> list[tuple[str, Any]]:
    pairs = []
    if data.get("resumed_from"):
        pairs.append(("resumes", data["resumed_from"]))
    if data.get("causation_id") and data.get("causation_id") != data.get("resumed_from"):
        pairs.append(("caused by", data["causation_id"]))
    if data.get("successor"):
        pairs.append(("resumed by", data["successor"]))
    return pairs


def _undo(step: dict) -> str | None:
    kind, attempts = step.get("compensation_kind"), step.get("compensation_attempts") or 0
    if kind is None and not step.get("compensation_error"):
        return "undone" if step.get("status") == "undone" else None
    kind = kind or "undo"
    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
    status = step.get("status")
    if step.get("compensation_error") and status in ("undo_failed", "failed"):
        return f"{kind} failed{tries}: {error_text(step['compensation_error'])}"
    if status in ("undoing", "compensating"):
        return f"{kind} in progress (attempt {attempts})"
    return f"{kind} ok{tries}"


def _outcome(step: dict) -> str | None:
    if step.get("error"):
        return error_text(step["error"])
    return None if step.get("result") is None else cell(step["result"])


def _steps(steps: list[dict], run_start: Any) -> RenderableType:
    rows = [
        (
            index,
            s["name"],
            styled(s["status"]),
            s.get("attempts", 0),
            offset(s.get("started_at"), run_start),
            offset(s.get("finished_at"), run_start),
            _outcome(s),
            _undo(s),
        )
        for index, s in enumerate(execution_order(steps), start=1)
    ]
    return table(
        ["#", "STEP", "STATUS", "ATTEMPTS", "STARTED", "ENDED", "RESULT / ERROR", "UNDO"],
        rows,
        empty="(no steps known)",
    )


def render_run(data: dict) -> RenderableType:
    """A run, whole (see the module docstring); an outcome without steps shows its head alone."""
    head = fields(_head(data), 10)
    if "steps" not in data:
        return head
    return Group(head, Text(""), _steps(data["steps"], data.get("started_at")))


def render_started(data: dict) -> RenderableType:
    """A start: the outcome when it was waited for, else one line."""
    if "status" in data:
        return render_run(data)
    verb = "already exists (nothing new was started)" if data["existing"] else "started"
    return Text(f"run {data['correlation_id']} ({data['saga']}) {verb}")


def render_cancel(data: dict) -> RenderableType:
    if data["accepted"]:
        return Text(f"run {data['correlation_id']}: cancelled; it now rolls back (status {data['status']})")
    return Text(f"run {data['correlation_id']}: not running (status {data['status']}); nothing to cancel")


def render_operator(data: dict) -> RenderableType:
    verdict = "accepted" if data["accepted"] else "refused"
    extra = f": {data['message']}" if data.get("message") else ""
    text = f"run {data['correlation_id']}: {verdict} (status {data['status']}){extra}"
    if data.get("successor"):
        text += f"\nresumed as run {data['successor']} (sagaline sagas show {data['successor']})"
    return Text(text)


# ----- live progress ---------------------------------------------------------------------------------


def progress_lines(marks: StepMarks, data: dict, now: float | None = None) -> tuple[StepMarks, list[Text]]:
    """What changed in a run since ``marks`` (from a previous call; ``{}`` at first), one line each.

    A step gets a line when its status changes or it makes another attempt (of its run, or of its
    undo); the run when its status changes. Each line starts with when it happened, from the run's
    start: the step's end for an ended step, else ``now`` (when it was seen; None: its start).

    Returns:
        The new marks and the lines to print.
    """
    lines: list[Text] = []
    seen: StepMarks = {}
    for step in execution_order(data.get("steps") or []):
        mark = (step["status"], step.get("attempts") or 0, step.get("compensation_attempts") or 0)
        before = marks.get(step["name"])
        seen[step["name"]] = mark if before is None else (mark[0], max(mark[1], before[1]), max(mark[2], before[2]))
        if _changed(before, mark):
            lines.append(_progress_line(step, data.get("started_at"), now))
    seen[""] = (data.get("status"),)
    if marks.get("") != seen[""]:
        lines.append(Text("run is ").append(styled(data.get("status"))))
    return seen, lines


def _changed(before: tuple[Any, ...] | None, mark: tuple[Any, ...]) -> bool:
    if before is None:
        return mark[0] != "pending"
    return before[0] != mark[0] or mark[1] > before[1] or mark[2] > before[2]


_ENDED_STEP = ("succeeded", "failed", "undone", "undo_failed", "skipped", "abandoned")


def _progress_line(step: dict, run_start: Any, now: float | None) -> Text:
    status = step["status"]
    at = step.get("finished_at") if status in _ENDED_STEP else (now if now is not None else step.get("started_at"))
    line = Text(f"  {offset(at, run_start):>9}  {step['name']:<28} ")
    line.append(styled(status))
    attempts, undo_attempts = step.get("attempts") or 0, step.get("compensation_attempts") or 0
    if attempts > 1 and status in ("running", "retrying"):
        line.append(f"  attempt {attempts}")
    if undo_attempts > 1 and status in ("undoing", "compensating"):
        line.append(f"  attempt {undo_attempts}")
    detail = step.get("compensation_error") if status == "undo_failed" else step.get("error")
    if detail and status in ("failed", "undo_failed", "retrying"):
        line.append(f"  {error_text(detail)}")
    return line
