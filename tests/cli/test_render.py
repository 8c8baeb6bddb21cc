"""Human views of the daemon's answers (pure)."""

from __future__ import annotations

from sagaline.cli.render import render, render_error, table
from sagaline.messages.admin import AdminError, AdminResult

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


def test_tables_align_columns_and_show_missing_values_as_dashes():
    text = table(["A", "LONGER"], [("x", None), ("yyyy", {"k": 1})])
    assert text.splitlines() == ["A     LONGER", "x     -", 'yyyy  {"k": 1}']
    assert table(["A"], [], empty="(nothing)") == "(nothing)"


def test_a_running_run_shows_each_step_with_offsets_timings_and_errors():
    data = {"correlation_id": CID, "saga": "s", "status": "rolling_back", "started_at": 100.0, "finished_at": None,
            "steps": [{"name": "one", "status": "undone", "attempts": 1, "started_at": 100.5, "finished_at": 101.0,
                       "error": None, "compensation_error": None},
                      {"name": "two", "status": "failed", "attempts": 3, "started_at": 101.0, "finished_at": None,
                       "error": {"code": "boom", "message": "it broke"}, "compensation_error": None}]}
    text = render(AdminResult(request="AdminShowRun", data=data))
    assert "status    rolling_back" in text
    assert any(line.split()[:5] == ["one", "undone", "1", "+0.500s", "0.500s"] for line in text.splitlines())
    assert "boom: it broke" in text


def test_an_ended_run_shows_its_failure_and_stuck_compensations():
    data = {"correlation_id": CID, "saga": "s", "status": "stuck", "started_at": 1.0, "finished_at": 3.5,
            "failed_step": "two", "error": {"code": "boom", "message": "m"}, "failed_compensations": ["one"]}
    text = render(AdminResult(request="AdminWaitRun", data=data))
    assert "took      2.500s" in text and "failed at two" in text and "stuck on  one" in text


def test_the_tree_is_drawn_with_restart_counts():
    tree = {"id": "root", "type": "supervisor", "status": "running", "restarts": 0, "pid": None, "name": None,
            "children": [{"id": "flow", "type": "worker", "status": "running", "restarts": 2, "pid": 7,
                          "name": "domain:flow", "children": []},
                         {"id": "sagas", "type": "supervisor", "status": "running", "restarts": 0, "pid": 8,
                          "name": "sagas", "unreachable": True,
                          "children": [{"id": "saga-1", "type": "worker", "status": "running", "restarts": 0,
                                        "pid": 9, "name": None, "children": []}]}]}
    lines = render(AdminResult(request="AdminTree", data={"tree": tree})).splitlines()
    assert lines[0] == "root  supervisor running restarts=0"
    assert lines[1] == "├─ flow  worker running restarts=2 pid=7 name=domain:flow"
    assert lines[2].startswith("└─ sagas") and lines[2].endswith("(did not answer)")
    assert lines[3] == "   └─ saga-1  worker running restarts=0 pid=9"


def test_runs_nas_runs_and_health_render():
    runs = {"runs": [{"correlation_id": CID, "saga": "s", "status": "completed", "started_at": 1.0,
                      "finished_at": 2.0, "failed_step": None, "error_code": None}], "total": 4}
    assert "1 of 4 run(s)" in render(AdminResult(request="AdminListRuns", data=runs))
    nas = {"runs": [{"run_id": "r", "state": "running", "requested_trials": 3, "created_at": "t",
                     "trials": [{"state": "succeeded", "epoch": 4, "epochs": 4},
                                {"state": "running", "epoch": 1, "epochs": 4}]}], "trials_known": True}
    line = render(AdminResult(request="AdminNasRuns", data=nas)).splitlines()[1]
    assert line.split()[:4] == ["r", "running", "1/3", "1/4"]
    health = {"status": "ok", "registered": 3, "daemon": {"pid": 1, "uptime_s": 2.0},
              "children": [{"id": "flow", "type": "worker", "status": "running", "restarts": 0}]}
    assert render(AdminResult(request="AdminHealth", data=health)).startswith("status     ok")


def test_an_error_is_one_line_with_the_daemons_own_code():
    error = AdminError(code="refused", message="email: required", details={"code": "invalid_input"})
    assert render_error(error) == "error (refused): email: required [invalid_input]"
