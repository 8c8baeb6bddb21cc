"""The timeline: a pure rendering of a trace's spans, and the readers of the JSON-lines files."""

import json

from sagaline.telemetry.context import root_span_id, trace_id_for
from sagaline.telemetry.timeline import SpanRecord, load_trace, metric_totals, render_timeline, trace_timeline

CID = "0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b"
TRACE = trace_id_for(CID)
MS = 1_000_000


def span(name, span_id, parent, start_ms, end_ms, **extra):
    attrs = extra.pop("attributes", {})
    kind = name.split(" ")[0]
    if kind in ("step", "compensate", "undo"):
        attrs.setdefault("sagaline.invocation.kind", kind)
    return {
        "type": "span",
        "trace_id": extra.pop("trace_id", TRACE),
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_ns": start_ms * MS,
        "end_ns": end_ms * MS,
        "status": extra.pop("status", "ok"),
        "status_message": extra.pop("status_message", None),
        "attributes": attrs,
        "pid": extra.pop("pid", 1),
    }


ROOT = root_span_id(CID)
FAILED_RUN = [
    span(
        "saga user_provisioning",
        ROOT,
        None,
        0,
        100,
        status="error",
        status_message="community_join_failed",
        attributes={
            "sagaline.saga": "user_provisioning",
            "sagaline.correlation_id": CID,
            "sagaline.run.status": "failed",
        },
    ),
    span("step create_user", "a" * 16, ROOT, 10, 30, pid=1),
    span("gate CreateUser", "b" * 16, "a" * 16, 12, 28, pid=2),
    span("step create_default_community", "c" * 16, ROOT, 30, 50, status="error", status_message="join failed"),
    span("link JoinCommunity", "d" * 16, "c" * 16, 32, 34, pid=3),
    span("undo create_user", "e" * 16, ROOT, 60, 90, attributes={"sagaline.span.end": "inferred"}),
    span("gate DeleteUser", "f" * 16, "e" * 16, 62, 88, pid=2),
]


def rows(text):
    return text.splitlines()[2:]


def test_the_header_names_the_run_saga_status_duration_and_processes():
    header = render_timeline(FAILED_RUN).splitlines()[0]
    assert header == f"run {CID}  saga user_provisioning  failed  100.0 ms  7 spans, 3 processes"


def test_children_sit_under_their_parent_in_start_order_whatever_the_input_order():
    names = [r.split("|")[0].rstrip() for r in rows(render_timeline(list(reversed(FAILED_RUN))))]
    assert names == [
        "saga user_provisioning",
        "  step create_user",
        "    gate CreateUser",
        "  step create_default_community",
        "    link JoinCommunity",
        "  undo create_user",
        "    gate DeleteUser",
    ]


def test_bars_are_placed_and_sized_by_time():
    bars = {r.split("|")[0].strip(): r.split("|")[1] for r in rows(render_timeline(FAILED_RUN, width=10))}
    assert bars["saga user_provisioning"] == "##########"
    assert bars["step create_user"] == " ##       "
    assert bars["gate DeleteUser"] == "      <<< "


def test_rollback_spans_and_their_commands_are_drawn_backwards_and_marked():
    lines = {r.split("|")[0].strip(): r for r in rows(render_timeline(FAILED_RUN))}
    assert "<" in lines["undo create_user"] and "(rollback)" in lines["undo create_user"]
    assert "<" in lines["gate DeleteUser"] and "(rollback)" in lines["gate DeleteUser"]
    assert "<" not in lines["gate CreateUser"] and "(rollback)" not in lines["gate CreateUser"]


def test_durations_errors_and_inferred_ends_are_shown():
    lines = {r.split("|")[0].strip(): r.split("|")[2] for r in rows(render_timeline(FAILED_RUN))}
    assert lines["step create_user"].split() == ["20.0", "ms"]
    assert lines["step create_default_community"].split()[:4] == ["20.0", "ms!", "ERROR", "join"]
    assert "ms ~" in lines["undo create_user"]


def test_a_span_whose_parent_is_missing_is_shown_at_the_top():
    text = render_timeline(FAILED_RUN[1:3], CID)
    assert rows(text)[0].startswith("step create_user") and "unfinished" in text.splitlines()[0]


def test_no_spans_says_so():
    assert render_timeline([], CID) == f"no spans for run {CID}"


def test_records_parse_from_lines_and_durations_never_go_negative():
    record = SpanRecord.from_dict({"trace_id": TRACE, "span_id": "1" * 16, "start_ns": 5, "end_ns": 3})
    assert record.duration_ns == 0 and record.parent_span_id is None and record.name == "?"


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_reader_keeps_only_the_runs_spans_across_files(tmp_path):
    other = span("saga other", "9" * 16, None, 0, 1, trace_id="1" * 32)
    write(tmp_path / "spans-2026-01-01.jsonl", FAILED_RUN[:3] + [other])
    write(tmp_path / "spans-2026-01-02.jsonl", FAILED_RUN[3:])
    write(tmp_path / "metrics-2026-01-01.jsonl", [{"type": "metric", "name": TRACE}])
    spans = load_trace(tmp_path, CID)
    assert sorted(s.name for s in spans) == sorted(s["name"] for s in FAILED_RUN)
    assert "undo create_user" in trace_timeline(tmp_path, CID)
    assert trace_timeline(tmp_path, "0190f3a2-0000-7000-8000-000000000000").startswith("no spans for run")


def test_metric_totals_add_up_delta_lines_from_every_process(tmp_path):
    line = {
        "type": "metric",
        "name": "sagaline.saga.runs.started",
        "kind": "sum",
        "temporality": "delta",
        "attributes": {"saga": "s"},
        "value": 1,
    }
    hist = {
        "type": "metric",
        "name": "sagaline.saga.step.duration",
        "kind": "histogram",
        "temporality": "delta",
        "attributes": {"step": "a"},
        "count": 2,
        "sum": 0.5,
    }
    write(tmp_path / "metrics-2026-01-01.jsonl", [line, {**line, "pid": 2}, hist, hist])
    totals = metric_totals(tmp_path)
    assert totals[("sagaline.saga.runs.started", (("saga", "s"),))] == 2
    assert totals[("sagaline.saga.step.duration", (("step", "a"),))] == 1.0
    assert totals[("sagaline.saga.step.duration.count", (("step", "a"),))] == 4


def test_a_run_rebuilt_after_a_retry_shows_each_span_once_under_the_part_of_the_run_it_belongs_to():
    stuck = {"sagaline.saga": "user_provisioning", "sagaline.correlation_id": CID, "sagaline.run.status": "stuck"}
    rebuilt = {
        "sagaline.saga": "user_provisioning",
        "sagaline.correlation_id": CID,
        "sagaline.run.status": "failed",
        "sagaline.recovered": True,
    }
    spans = [
        span("saga user_provisioning", ROOT, None, 0, 100, attributes=stuck),
        span("step create_user", "a" * 16, ROOT, 10, 30),
        span("undo create_user", "e" * 16, ROOT, 60, 90, status="error", status_message="boom"),
        span("saga user_provisioning", ROOT, None, 500, 600, attributes=rebuilt),  # same id, reopened
        span("undo create_user", "7" * 16, ROOT, 520, 580),
    ]
    text = render_timeline(spans)
    names = [r.split("|")[0].rstrip() for r in rows(text)]
    assert names == [
        "saga user_provisioning",
        "  step create_user",
        "  undo create_user",
        "saga user_provisioning",
        "  undo create_user",
    ]
    assert text.splitlines()[0].split("  ")[2] == "failed"  # the latest part says how the run ended
    assert rows(text)[3].endswith("(rebuilt)")


def test_a_run_id_prefix_finds_its_trace_in_the_files(tmp_path):
    from sagaline.telemetry.timeline import find_runs

    other = span("saga other", "9" * 16, None, 0, 1, trace_id="0190f3a2" + "1" * 24)
    write(tmp_path / "spans-2026-01-01.jsonl", FAILED_RUN + [other])
    assert find_runs(tmp_path, "0190f3a2-7c") == [CID]
    assert len(find_runs(tmp_path, "0190f3a2")) == 2 and find_runs(tmp_path, "ffff") == []
