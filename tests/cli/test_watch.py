"""Following a run live (``--wait`` on a terminal), against a scripted daemon and a fake clock."""

from __future__ import annotations

import io
import threading

import pytest

from sagaline.cli.commands import execute
from sagaline.cli.main import build_parser
from sagaline.cli.output import Output, to_text
from sagaline.cli.watch import Interrupted, follow
from sagaline.client.errors import NotFound, Timeout
from sagaline.messages import admin as a

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


def snapshot(status: str, step: str = "running") -> dict:
    return {
        "correlation_id": CID,
        "saga": "s",
        "status": status,
        "started_at": 100.0,
        "steps": [
            {
                "name": "only",
                "status": step,
                "attempts": 1,
                "started_at": 100.0,
                "finished_at": 101.0 if step == "succeeded" else None,
            }
        ],
    }


class Daemon:
    """Answers the show with each snapshot in turn (the last one again), and the wait with the outcome."""

    def __init__(self, *shots: dict):
        self.shots, self.asked = list(shots), []

    def request(self, request):
        self.asked.append(request)
        if isinstance(request, a.AdminShowRun):
            return a.AdminResult(
                request="AdminShowRun", data=self.shots.pop(0) if len(self.shots) > 1 else self.shots[0]
            )
        if isinstance(request, a.AdminWaitRun):
            return a.AdminResult(
                request="AdminWaitRun", data={"correlation_id": CID, "saga": "s", "status": "completed", "result": 7}
            )
        if isinstance(request, a.AdminStartSaga):
            return a.AdminResult(request="AdminStartSaga", data={"correlation_id": CID, "saga": "s", "existing": False})
        return a.AdminResult(request="AdminCatalog", data={"sagas": []})


def test_following_prints_each_change_once_and_returns_the_outcome_as_sagas_wait_answers_it():
    lines = []
    daemon = Daemon(snapshot("running"), snapshot("running"), snapshot("completed", "succeeded"))
    outcome = follow(daemon, CID, 60, lambda line: lines.append(to_text(line)), poll_s=0)
    assert outcome == {"correlation_id": CID, "saga": "s", "status": "completed", "result": 7}
    assert [line.split()[-1] for line in lines] == ["running", "running", "succeeded", "completed"]


def test_following_gives_up_at_the_timeout_saying_the_run_goes_on():
    now = iter(range(0, 100, 10))
    with pytest.raises(Timeout, match=f"did not end within 15 s .*goes on: see `sagaline sagas show {CID}`"):
        follow(Daemon(snapshot("running")), CID, 15, lambda line: None, clock=lambda: next(now), poll_s=0)


def test_a_stop_ends_following_and_an_unknown_run_is_not_found():
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted, match="stopped following"):
        follow(Daemon(snapshot("running")), CID, 60, lambda line: None, stop=stop, poll_s=0)

    class Unknown:
        def request(self, request):
            return a.AdminError(code="not_found", message=f"no run {CID}")

    with pytest.raises(NotFound):
        follow(Unknown(), CID, 60, lambda line: None)


def test_start_wait_on_a_terminal_starts_without_waiting_then_follows_and_exits_by_the_outcome():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    daemon = Daemon(snapshot("completed", "succeeded"))
    args = build_parser().parse_args(["sagas", "start", "s", "--wait"])
    out, err = io.StringIO(), Terminal()
    assert execute(args.spec, args, daemon, Output(out, err)) == 0
    start = next(r for r in daemon.asked if isinstance(r, a.AdminStartSaga))
    assert start.wait is False and f"run {CID} (s) started" in err.getvalue() and "succeeded" in err.getvalue()
    assert "status      completed" in out.getvalue()
