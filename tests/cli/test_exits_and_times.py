"""The exit-status contract as data (held to the README) and the CLI's one way of showing times (pure)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagaline.cli.exits import EXIT_TABLE, Exit, for_error
from sagaline.cli.times import duration, human, iso, json_ready, parse_when
from sagaline.client.errors import (
    BadInput,
    Busy,
    DaemonFault,
    DaemonStarting,
    DaemonUnreachable,
    NotFound,
    OutcomeUnknown,
    Refused,
    Timeout,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_exactly_the_exit_statuses_of_the_table():
    text = README.read_text()
    section = text[text.index("### The contract") :]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section[: section.index("Streams:")], re.M)
    assert [int(code) for code, _ in rows] == [int(code) for code, _ in EXIT_TABLE]


@pytest.mark.parametrize(
    "error, status",
    [
        (NotFound("x", "not_found"), Exit.NOT_FOUND),
        (Refused("x", "refused"), Exit.REFUSED),
        (BadInput("x", "invalid"), Exit.BAD_INPUT),
        (Timeout("x"), Exit.TIMEOUT),
        (OutcomeUnknown("x", "cid"), Exit.TIMEOUT),
        (DaemonUnreachable("x", "unreachable"), Exit.UNREACHABLE),
        (DaemonStarting("x", "starting"), Exit.UNREACHABLE),
        (Busy("x", "busy"), Exit.FAILED),
        (DaemonFault("x", "internal"), Exit.FAILED),
    ],
)
def test_each_client_error_has_its_exit_status(error, status):
    assert for_error(error) == status


def test_people_read_one_utc_format_whatever_the_answer_carried():
    assert human(1796402530.25) == "2026-12-04 16:42:10Z"
    assert human("2026-12-04T17:42:10.9+01:00") == "2026-12-04 16:42:10Z"
    assert human("2026-12-04T16:42:10") == "2026-12-04 16:42:10Z"  # no zone: UTC
    assert human(None) == "-" and human("soon") == "soon"


def test_scripts_read_iso_8601_utc_with_microseconds_at_any_depth():
    assert iso(1796402530.25) == "2026-12-04T16:42:10.250000Z"
    data = {
        "started_at": 1796402530.25,
        "nested": [{"at": "2026-12-04T17:42:10+01:00", "count": 3}],
        "finished_at": None,
        "name_at_rest": "x",
        "not_a_time": 12.5,
    }
    assert json_ready(data) == {
        "started_at": "2026-12-04T16:42:10.250000Z",
        "nested": [{"at": "2026-12-04T16:42:10.000000Z", "count": 3}],
        "finished_at": None,
        "name_at_rest": "x",
        "not_a_time": 12.5,
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90s", 1000.0 - 90),
        ("15m", 1000.0 - 900),
        ("2h", 1000.0 - 7200),
        ("1d", 1000.0 - 86400),
        ("2026-12-04T16:42:10Z", 1796402530.0),
        ("2026-12-04", 1796342400.0),
    ],
)
def test_since_and_until_take_an_iso_time_or_an_age(text, expected):
    assert parse_when(text, now=1000.0) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "15 minutes", "-5m", "12"])
def test_anything_else_is_refused_saying_what_would_do(text):
    with pytest.raises(ValueError, match="give an ISO-8601 time"):
        parse_when(text, now=1000.0)


def test_durations_read_short():
    assert [duration(s) for s in (0.0123, 3.191, 125, 3720, None)] == ["0.012s", "3.191s", "2m05s", "1h02m", "-"]
