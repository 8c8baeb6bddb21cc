"""The console's pure views: run filters, counts, a run's facts and actions, the tree, events."""

import pytest

from sagaline.web.views import (
    STATUSES,
    FilterProblem,
    RunFilter,
    count_rows,
    event_rows,
    fmt_duration,
    fmt_time,
    run_actions,
    run_facts,
    tree_rows,
)
from tests.web.samples import CID, DONE, EVENTS, T0, TREE, completed_run, running_run, summary


def test_a_filter_is_read_from_repeated_and_comma_separated_statuses():
    flt = RunFilter.from_query({"status": ["failed,stuck", "failed"], "saga": " onboard ", "page": "2"})
    assert (flt.statuses, flt.saga, flt.page) == (("failed", "stuck"), "onboard", 2)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "bogus"}, "status"),
        ({"last": "3w"}, "last"),
        ({"from": "yesterday"}, "from"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"id": "zz<script>"}, "id"),
    ],
)
def test_a_filter_value_that_is_not_understood_is_refused_naming_the_field(query, field):
    with pytest.raises(FilterProblem, match=field):
        RunFilter.from_query(query)


def test_saga_status_and_paging_go_to_the_daemon_and_a_page_is_asked_for_directly():
    flt = RunFilter.from_query({"status": "failed", "saga": "onboard", "page": "3"})
    assert not flt.scans
    assert flt.list_request(50, 2000) == {"status": ["failed"], "saga": "onboard", "limit": 50, "offset": 100}


def test_a_time_range_or_an_id_prefix_scans_the_newest_runs_and_filters_them_here():
    flt = RunFilter.from_query({"id": "01A2", "from": "2026-12-04T16:00", "to": "2026-12-04T17:00"})
    assert flt.scans and flt.list_request(50, 2000)["limit"] == 2000
    inside = summary("01a2-x", started=RunFilter.from_query({"from": "2026-12-04T16:30"}).since)
    assert flt.keep(inside, now=0)
    assert not flt.keep(summary("01a3-x", started=inside["started_at"]), now=0)
    assert not flt.keep(summary("01a2-y", started=inside["started_at"] + 3600), now=0)


def test_the_last_window_ends_now():
    flt = RunFilter.from_query({"last": "5m"})
    assert flt.keep(summary(started=1000.0), now=1200.0) and not flt.keep(summary(started=800.0), now=1200.0)


def test_a_filter_round_trips_through_its_query_string():
    flt = RunFilter.from_query({"status": ["failed", "stuck"], "id": "01a", "last": "1h", "from": "2026-12-04T16:00"})
    from urllib.parse import parse_qs

    again = RunFilter.from_query({k: v for k, v in parse_qs(flt.query(page=4)).items()})
    assert again == RunFilter(flt.saga, flt.statuses, flt.id_prefix, flt.last, flt.since, flt.until, 4)


def test_counts_follow_the_status_order_and_leave_out_empty_ones():
    rows = count_rows({"failed": 2, "completed": 5, "stuck": 0})
    assert rows == [
        {"status": "completed", "count": 5},
        {"status": "failed", "count": 2},
        {"status": "all", "count": 7},
    ]
    assert set(STATUSES) >= {"running", "needs_operator"}


@pytest.mark.parametrize(
    "status, successor, actions",
    [
        ("running", None, ["cancel"]),
        ("stuck", None, ["retry"]),
        ("failed", None, ["resume"]),
        ("cancelled", None, ["resume"]),
        ("cancelled", "next-run", []),
        ("halted", None, ["resume"]),
        ("completed", None, []),
        ("draining", None, []),
        ("needs_operator", None, []),
    ],
)
def test_a_run_offers_only_the_operator_actions_its_status_allows(status, successor, actions):
    assert [a.name for a in run_actions(status, successor)] == actions


def test_a_running_run_shows_its_steps_and_can_be_cancelled():
    facts = run_facts(running_run())
    assert (facts.status, facts.ended, [a.name for a in facts.actions]) == ("running", False, ["cancel"])
    assert facts.states["provision_vault"] == "running" and facts.steps[2].attempts == 2
    assert facts.inputs is None and facts.result is None
    assert facts.steps[0].took == "16.0 ms"


def test_a_completed_run_shows_its_inputs_and_result_with_secrets_masked():
    facts = run_facts(completed_run())
    assert facts.ended and facts.actions == []
    assert "ada@example.com" in facts.inputs and "hunter2-input" not in facts.inputs
    assert "u-1" in facts.result and "s3cr3t-token-value" not in facts.result


def test_lineage_comes_from_the_record_else_from_the_runs_list_row():
    data = {**running_run(), "status": "failed"}
    facts = run_facts(data, summary(status="failed", successor=DONE, resumed_from="older"))
    assert (facts.successor, facts.resumed_from, facts.actions) == (DONE, "older", [])
    assert run_facts({**data, "successor": None, "resumed_from": None}, summary(successor=DONE)).successor is None


def test_fields_a_newer_daemon_adds_to_steps_are_shown():
    data = running_run()
    data["steps"][1].update(undo_attempts=3, result={"user_id": "u-9", "password": "x"})
    row = run_facts(data).steps[1]
    assert row.undo_attempts == 3 and "u-9" in row.result and '"x"' not in row.result


def test_a_step_error_shows_its_code_and_message():
    data = running_run()
    data["steps"][2]["error"] = {"code": "vault_quota", "message": "no space left"}
    assert run_facts(data).steps[2].error == "vault_quota: no space left"


def test_the_tree_is_flattened_depth_first_with_restarts_and_last_exits():
    rows = tree_rows(TREE["tree"])
    assert [(r["path"], r["depth"]) for r in rows] == [
        ("root", 0),
        ("root/gate", 1),
        ("root/sagas", 1),
        ("root/sagas/saga-1", 2),
    ]
    assert (rows[1]["restarts"], rows[1]["last_exit"], rows[1]["pid"]) == (2, "killed", 4242)


def test_events_are_shown_newest_first_filtered_with_payload_secrets_masked():
    rows = event_rows(EVENTS["events"])
    assert [r["id"] for r in rows] == ["e2", "e1"]
    assert "tok-abc" not in rows[1]["payload"] and "u-1" in rows[1]["payload"]
    assert [r["id"] for r in event_rows(EVENTS["events"], "user.")] == ["e1"]
    assert [r["id"] for r in event_rows(EVENTS["events"], correlation_id=CID)] == ["e2"]


def test_times_are_utc_iso_and_durations_readable():
    assert fmt_time(T0) == "2026-12-04 16:40:41.730Z" and fmt_time(None) == ""
    assert (fmt_duration(0.0842), fmt_duration(3.214), fmt_duration(125)) == ("84.2 ms", "3.21 s", "2 min 5 s")
