"""The journal's run filters (``ListRuns`` -> SQL): an id prefix (how an abbreviated run id is resolved)
and absolute start times, on a table of the journal's ``runs`` columns that matter here."""

from __future__ import annotations

import sqlite3

import pytest

from sagaline.messages.saga import ListRuns
from sagaline.storage.journal_sqlite import _filters

RUNS = [
    ("01a2aaaa-0000-7000-8000-000000000001", "s", "completed", 1000.0),
    ("01a2aaaa-1111-7000-8000-000000000002", "s", "failed", 2000.0),
    ("01a2bbbb-0000-7000-8000-000000000003", "t", "completed", 3000.0),
]


@pytest.fixture
def runs():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE runs (correlation_id TEXT PRIMARY KEY, saga TEXT, status TEXT, started_at REAL)")
    db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?)", RUNS)
    yield lambda query: [
        row[0]
        for row in db.execute(
            f"SELECT correlation_id FROM runs WHERE {_filters(query, 6000.0)[0]} ORDER BY started_at DESC",
            _filters(query, 6000.0)[1],
        )
    ]
    db.close()


def test_an_id_prefix_keeps_the_runs_whose_id_starts_with_it(runs):
    assert runs(ListRuns(id_prefix="01a2aaaa-1")) == [RUNS[1][0]]
    assert runs(ListRuns(id_prefix="01a2aaaa")) == [RUNS[1][0], RUNS[0][0]]
    assert runs(ListRuns(id_prefix=RUNS[2][0])) == [RUNS[2][0]]
    assert runs(ListRuns(id_prefix="zz")) == [] and runs(ListRuns(id_prefix="01a2_")) == []


def test_start_times_bound_the_runs_at_or_after_and_before(runs):
    assert runs(ListRuns(started_after=2000.0, started_before=3000.0)) == [RUNS[1][0]]
    assert runs(ListRuns(started_after=1500.0)) == [RUNS[2][0], RUNS[1][0]]
    assert runs(ListRuns(started_before=1000.0)) == []


def test_the_filters_combine(runs):
    assert runs(ListRuns(id_prefix="01a2", status=["completed"], saga="s")) == [RUNS[0][0]]
