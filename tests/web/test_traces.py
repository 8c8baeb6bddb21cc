"""Spans read from the daemon's JSON-lines files, incrementally."""

import json

from sagaline.web.traces import TraceCache, TraceReader

CID = "01a241ed-edd8-711a-8f75-0276e8c84833"
TID = CID.replace("-", "")


def _line(span_id, trace_id=TID):
    return (
        json.dumps(
            {"type": "span", "trace_id": trace_id, "span_id": span_id, "name": "step a", "start_ns": 1, "end_ns": 2}
        )
        + "\n"
    )


def test_only_the_runs_spans_are_read(tmp_path):
    (tmp_path / "spans-2026-12-04.jsonl").write_text(_line("a") + _line("b", "f" * 32) + "not json " + TID + "\n")
    assert [s["span_id"] for s in TraceReader(tmp_path, CID).read()] == ["a"]


def test_a_second_read_takes_only_what_was_appended_and_waits_for_a_cut_line(tmp_path):
    path = tmp_path / "spans-2026-12-04.jsonl"
    path.write_text(_line("a"))
    reader = TraceReader(tmp_path, CID)
    assert len(reader.read()) == 1
    whole = _line("b")
    with open(path, "a") as handle:
        handle.write(whole[:20])
    assert len(reader.read()) == 1
    with open(path, "a") as handle:
        handle.write(whole[20:])
    assert sorted(s["span_id"] for s in reader.read()) == ["a", "b"]


def test_files_from_before_the_run_are_skipped_and_a_missing_directory_gives_nothing(tmp_path):
    (tmp_path / "spans-2020-01-01.jsonl").write_text(_line("old"))
    (tmp_path / "spans-2026-12-04.jsonl").write_text(_line("new"))
    assert [s["span_id"] for s in TraceReader(tmp_path, CID, started_at=1796402441.0).read()] == ["new"]
    assert TraceReader(tmp_path / "nope", CID).read() == [] and TraceReader(None, CID).read() == []


def test_the_cache_keeps_the_runs_being_looked_at(tmp_path):
    (tmp_path / "spans-2026-12-04.jsonl").write_text(_line("a"))
    cache = TraceCache(tmp_path, size=1)
    assert len(cache.spans(CID)) == 1 and len(cache.spans("01a241ed-0000-7000-8000-000000000000")) == 0
