"""Human views of the daemon's answers (pure): tables through rich, one time format, runs shown whole."""

from __future__ import annotations

import io

from sagaline.cli.output import Output, console_for, to_text
from sagaline.cli.render import render, table
from sagaline.cli.render_run import error_text, execution_order, progress_lines
from sagaline.messages.admin import AdminResult

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"
SUCCESSOR = "01a21fb4-0000-7000-8000-000000000001"


def text(request: str, data: dict) -> str:
    return to_text(render(AdminResult(request=request, data=data)))


def test_tables_align_columns_show_missing_values_as_dashes_and_leave_no_trailing_blanks():
    lines = to_text(table(["A", "LONGER"], [("x", None), ("yyyy", {"k": 1})])).splitlines()
    assert lines == ["A     LONGER", "x     -", 'yyyy  {"k": 1}']
    assert to_text(table(["A"], [], empty="(nothing)")) == "(nothing)"


def test_a_wide_table_is_never_wrapped_off_a_terminal():
    long = "x" * 300
    assert to_text(table(["A", "B"], [(long, "end")], limit=400)).splitlines()[1] == f"{long}  end"


def test_no_colour_off_a_terminal_and_none_with_no_color_on_one(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    out = Terminal()
    Output(out, io.StringIO()).show(render(AdminResult(request="AdminListRuns", data=RUNS)))
    assert "\x1b[32m" in out.getvalue()  # a terminal gets colour (completed is green)...
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    Output(out, io.StringIO()).show(render(AdminResult(request="AdminListRuns", data=RUNS)))
    assert "\x1b[32m" not in out.getvalue() and "completed" in out.getvalue()  # ...unless NO_COLOR is set
    piped = io.StringIO()
    Output(piped, io.StringIO()).show(render(AdminResult(request="AdminListRuns", data=RUNS)))
    assert "\x1b" not in piped.getvalue()
    assert console_for(io.StringIO()).is_terminal is False


RUNS = {
    "runs": [
        {
            "correlation_id": CID,
            "saga": "s",
            "status": "completed",
            "started_at": 1796402530.25,
            "finished_at": 1796402533.5,
            "failed_step": None,
            "error_code": None,
            "resumed_from": None,
            "successor": SUCCESSOR,
        }
    ],
    "total": 4,
    "offset": 0,
}


def test_runs_are_listed_with_utc_times_durations_lineage_and_the_next_page():
    lines = text("AdminListRuns", RUNS).splitlines()
    assert lines[1].split()[:6] == [CID, "s", "completed", "2026-12-04", "16:42:10Z", "3.250s"]
    assert lines[1].endswith(f"resumed by {SUCCESSOR}")
    assert lines[-1] == "showing 1-1 of 4 run(s); next page: --offset 1"


WHOLE = {
    "correlation_id": CID,
    "saga": "user_provisioning",
    "status": "failed",
    "started_at": 100.0,
    "finished_at": 109.5,
    "inputs": {"email": "b@example.com", "tries": 3},
    "result": None,
    "error": {"code": "community_join_failed", "message": "injected fault"},
    "failed_step": "join",
    "failed_compensations": [],
    "resumed_from": None,
    "successor": SUCCESSOR,
    "causation_id": None,
    "steps": [
        {
            "name": "validate",
            "status": "succeeded",
            "attempts": 1,
            "started_at": 100.0,
            "finished_at": 100.01,
            "result": "b@example.com",
            "error": None,
            "compensation_kind": None,
            "compensation_attempts": 0,
        },
        {"name": "never", "status": "abandoned", "attempts": 0, "started_at": None, "finished_at": None},
        {
            "name": "vault",
            "status": "undone",
            "attempts": 2,
            "started_at": 100.5,
            "finished_at": 109.0,
            "result": {"vault_id": "v1"},
            "compensation_kind": "undo",
            "compensation_attempts": 1,
        },
        {
            "name": "user",
            "status": "undo_failed",
            "attempts": 1,
            "started_at": 100.2,
            "finished_at": 109.4,
            "compensation_kind": "undo",
            "compensation_attempts": 3,
            "compensation_error": {"code": "boom", "message": "still there"},
        },
        {
            "name": "join",
            "status": "failed",
            "attempts": 1,
            "started_at": 100.5,
            "finished_at": 100.6,
            "error": {"code": "community_join_failed", "message": "injected fault"},
        },
    ],
}


def test_a_run_is_shown_whole_inputs_failure_lineage_and_steps_in_execution_order_with_results_and_undo():
    shown = text("AdminShowRun", WHOLE)
    assert 'inputs      email="b@example.com"  tries=3' in shown
    assert "failure     join: community_join_failed: injected fault" in shown
    assert f"resumed by  {SUCCESSOR}" in shown
    assert "finished    1970-01-01 00:01:49Z (took 9.500s)" in shown
    steps = [line.split()[1] for line in shown.splitlines() if line[:1].isdigit()]
    assert steps == ["validate", "user", "vault", "join", "never"]  # by first dispatch; never-run last
    assert "undo ok after 1 attempt" in shown and "undo failed after 3 attempts: boom: still there" in shown
    assert '{"vault_id": "v1"}' in shown and "b@example.com" in shown


def test_an_error_without_a_message_is_its_code_alone_never_a_dangling_colon():
    assert error_text({"code": "user_creation_failed", "message": ""}) == "user_creation_failed"
    assert error_text({"code": "user_creation_failed"}) == "user_creation_failed"
    assert error_text({"code": "x", "message": "m"}) == "x: m"
    shown = text("AdminShowRun", {**WHOLE, "error": {"code": "user_creation_failed", "message": ""}})
    assert "user_creation_failed:" not in shown


def test_steps_that_never_ran_keep_the_order_they_came_in_not_the_alphabet():
    steps = [{"name": n, "started_at": None} for n in ("zeta", "alpha", "mid")]
    assert [s["name"] for s in execution_order(steps)] == ["zeta", "alpha", "mid"]


def test_an_ended_outcome_without_steps_shows_its_failure_and_stuck_compensations():
    data = {
        "correlation_id": CID,
        "saga": "s",
        "status": "stuck",
        "started_at": 1.0,
        "finished_at": 3.5,
        "failed_step": "two",
        "error": {"code": "boom", "message": "m"},
        "failed_compensations": ["one"],
    }
    shown = text("AdminWaitRun", data)
    assert "(took 2.500s)" in shown and "failure     two: boom: m" in shown and "stuck on    one" in shown


def test_progress_prints_a_line_per_step_change_then_the_run_and_nothing_when_nothing_changed():
    run = {
        "status": "running",
        "started_at": 10.0,
        "steps": [
            {"name": "a", "status": "succeeded", "attempts": 1, "started_at": 10.0, "finished_at": 10.5},
            {"name": "b", "status": "running", "attempts": 1, "started_at": 10.5},
            {"name": "c", "status": "pending", "attempts": 0},
        ],
    }
    marks, lines = progress_lines({}, run, now=11.0)
    assert [to_text(line) for line in lines] == [
        "    +0.500s  a                            succeeded",
        "    +1.000s  b                            running",
        "run is running",
    ]
    assert progress_lines(marks, run, now=12.0)[1] == []
    retried = {
        **run,
        "steps": [run["steps"][0], {**run["steps"][1], "status": "running", "attempts": 2}, run["steps"][2]],
    }
    assert [to_text(line).split()[1:] for line in progress_lines(marks, retried, now=13.0)[1]] == [
        ["b", "running", "attempt", "2"]
    ]


def test_the_tree_is_drawn_with_names_states_restart_counts_and_pids_never_addresses():
    tree = {
        "id": "root",
        "type": "supervisor",
        "status": "running",
        "restarts": 0,
        "pid": None,
        "name": None,
        "children": [
            {
                "id": "flow",
                "type": "worker",
                "status": "running",
                "restarts": 2,
                "pid": 7,
                "name": "domain:flow",
                "children": [],
            },
            {
                "id": "sagas",
                "type": "supervisor",
                "status": "running",
                "restarts": 0,
                "pid": 8,
                "name": "sagas",
                "unreachable": True,
                "children": [
                    {
                        "id": "saga-1",
                        "type": "worker",
                        "status": "running",
                        "restarts": 0,
                        "pid": 9,
                        "name": None,
                        "children": [],
                    }
                ],
            },
        ],
    }
    lines = text("AdminTree", {"tree": tree}).splitlines()
    assert lines[0] == "root  supervisor running restarts=0"
    assert lines[1] == "├─ flow  worker running restarts=2 pid=7 name=domain:flow"
    assert lines[2].startswith("└─ sagas") and lines[2].endswith("(did not answer)")
    assert lines[3] == "   └─ saga-1  worker running restarts=0 pid=9"


def test_registry_entries_name_the_holder_by_its_place_in_the_tree_with_pid_and_state():
    data = {
        "entries": [
            {
                "key": "domain:gate",
                "holder": "ActorAddr-(T|:41119)",
                "value": None,
                "holder_id": "root/gate",
                "pid": 42,
                "status": "running",
            },
            {
                "key": "ghost",
                "holder": "ActorAddr-(T|:1)",
                "value": None,
                "holder_id": None,
                "pid": None,
                "status": None,
            },
        ]
    }
    shown = text("AdminRegistryLookup", data)
    assert "ActorAddr" not in shown
    assert shown.splitlines()[1].split() == ["domain:gate", "root/gate", "42", "running", "-"]
    assert "(not in the tree)" in shown


def test_app_command_listings_events_and_health_show_times_one_way():
    decision = {
        "decision_id": "d1",
        "decided_at": "2026-12-04T16:42:10Z",
        "action": "upm.activate",
        "subject": {"snapshot_id": "s"},
        "effect": "deny",
        "reasons": ["drift too high", "untrusted"],
        "policy_id": "upm",
        "policy_version": 2,
        "failed": [],
        "correlation_id": CID,
    }
    listing = {
        "app": "thunderline",
        "command": "list_decisions",
        "domain": "crown",
        "reply": {"decisions": [decision]},
        "columns": ["decided_at", "action", "effect", "reasons"],
    }
    header, line = text("AdminAppCommand", listing).splitlines()
    assert header.split() == ["DECIDED", "AT", "ACTION", "EFFECT", "REASONS"]
    assert line.split() == ["2026-12-04", "16:42:10Z", "upm.activate", "deny", "drift", "too", "high;", "untrusted"]
    every = text("AdminAppCommand", {**listing, "columns": []}).splitlines()[0]
    assert every.split()[:4] == ["DECISION", "ID", "DECIDED", "AT"] and "SUBJECT" in every
    events = {
        "events": [
            {
                "at": "2026-12-04T16:42:10.5+00:00",
                "name": "user.created",
                "source": "gate",
                "correlation_id": CID,
                "payload": {},
            }
        ]
    }
    assert text("AdminTailEvents", events).splitlines()[1].startswith("2026-12-04 16:42:10Z  user.created")
    health = {
        "status": "ok",
        "registered": 3,
        "daemon": {"pid": 1, "uptime_s": 2.0, "started_at": 1796402530.0},
        "children": [{"id": "flow", "type": "worker", "status": "running", "restarts": 0}],
    }
    shown = text("AdminHealth", health)
    assert shown.startswith("status      ok (live yes, ready yes)") and "started     2026-12-04 16:42:10Z" in shown
    faulted = text(
        "AdminHealth",
        {
            **health,
            "status": "degraded",
            "ready": False,
            "storage": {"ok": False, "reason": "host 1: read-only filesystem: /j"},
        },
    )
    assert "storage     FAULT: host 1: read-only filesystem: /j" in faulted
