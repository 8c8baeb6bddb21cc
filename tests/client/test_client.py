"""sagaline.Client against a scripted daemon: retries, worker choice, errors, typed results."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import sagaline
from sagaline.client import (
    AsyncClient,
    BadInput,
    Busy,
    Client,
    DaemonFault,
    DaemonStarting,
    NotFound,
    OutcomeUnknown,
    Refused,
    RunList,
    RunRecord,
    StartResult,
    Timeout,
)
from sagaline.messages import admin as m
from sagaline.messages.saga import RunOutcome
from sagaline.testing.channel import NO_ANSWER, UNDELIVERED, FakeChannel

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


def ok(request: m.AdminRequest, **data) -> m.AdminResult:
    return m.AdminResult(request=type(request).__name__, data=data)


def fail(request: m.AdminRequest, error_code: str, **details) -> m.AdminError:
    return m.AdminError(code=error_code, message=f"said {error_code}", request=type(request).__name__, details=details)


def started(request: m.AdminStartSaga) -> m.AdminResult:
    if request.wait:
        return ok(
            request,
            correlation_id=request.correlation_id,
            saga=request.saga,
            status="completed",
            result={"user": 1},
            existing=False,
        )
    return ok(request, correlation_id=request.correlation_id, saga=request.saga, existing=False)


def test_the_public_surface_is_pinned():
    assert sagaline.Client is Client and sagaline.OutcomeUnknown is OutcomeUnknown
    assert set(sagaline.__all__) == {
        "__version__",
        "Client",
        "AsyncClient",
        "ClientError",
        "BadInput",
        "Refused",
        "NotFound",
        "Busy",
        "Timeout",
        "OutcomeUnknown",
        "DaemonUnreachable",
        "DaemonStarting",
        "DaemonFault",
        "StartResult",
        "RunRecord",
        "RunList",
        "Health",
    }


def test_a_start_gets_a_client_made_id_and_with_wait_answers_its_outcome():
    channel = FakeChannel(lambda worker, request: started(request))
    result = Client(channel=channel).start("s", {"k": 1}, wait=True)
    assert isinstance(result, StartResult) and isinstance(result.outcome, RunOutcome)
    assert result.outcome.status == "completed" and result.outcome.result == {"user": 1}
    sent = channel.asked[0][1]
    assert sent.correlation_id == result.correlation_id and len(sent.correlation_id) == 36


def test_a_start_whose_answer_never_came_is_sent_again_with_the_same_id():
    answers = iter([NO_ANSWER, "ok"])
    channel = FakeChannel(lambda worker, request: started(request) if next(answers) == "ok" else NO_ANSWER)
    result = Client(channel=channel).start("s", correlation_id=CID)
    assert result.correlation_id == CID
    assert [r.correlation_id for _, r in channel.asked] == [CID, CID]


def test_a_start_still_unanswered_after_the_second_send_is_an_unknown_outcome_naming_the_id():
    channel = FakeChannel(lambda worker, request: NO_ANSWER)
    with pytest.raises(OutcomeUnknown) as caught:
        Client(channel=channel).start("s")
    sent = [r.correlation_id for _, r in channel.asked]
    assert len(sent) == 2 and sent[0] == sent[1] == caught.value.correlation_id
    assert f"sagaline sagas show {sent[0]}" in str(caught.value) and isinstance(caught.value, Timeout)


def test_a_start_the_daemon_timed_out_is_sent_again_but_a_waited_start_that_timed_out_is_unknown_at_once():
    replies = iter([fail(m.AdminStartSaga(saga="s"), "timeout", waited_s=10.0)])
    channel = FakeChannel(lambda worker, request: next(replies, None) or started(request))
    assert Client(channel=channel).start("s").existing is False and len(channel.asked) == 2
    waited = FakeChannel(lambda worker, request: fail(request, "timeout", waited_s=3.02))
    with pytest.raises(OutcomeUnknown, match="did not end in time") as caught:
        Client(channel=waited).start("s", wait=True, timeout=3)
    assert len(waited.asked) == 1 and caught.value.waited_s == 3.02


def test_a_busy_worker_sends_the_call_to_the_next_and_all_busy_is_busy():
    channel = FakeChannel(
        lambda worker, request: fail(request, "busy") if worker == "w1" else ok(request, x=1), workers=("w1", "w2")
    )
    client = Client(channel=channel)
    assert client.request(m.AdminTree()).data == {"x": 1}
    everyone = FakeChannel(lambda worker, request: fail(request, "busy"), workers=("w1", "w2", "w3"))
    with pytest.raises(Busy):
        Client(channel=everyone).health()
    assert sorted(w for w, _ in everyone.asked) == ["w1", "w2", "w3"]


def test_a_worker_that_went_away_is_dropped_and_the_door_asked_again():
    channel = FakeChannel(
        lambda worker, request: UNDELIVERED if worker == "w1" else ok(request, status="ok"), workers=("w1", "w2")
    )
    client = Client(channel=channel)
    channel.retire("w1")
    assert client.request(m.AdminHealth()).data == {"status": "ok"}
    assert channel.opens == 2 and [w for w, _ in channel.asked] == ["w1", "w2"]
    assert client.capacity == 1


def test_a_worker_that_answered_timeout_is_not_asked_again():
    channel = FakeChannel(
        lambda worker, request: (
            fail(request, "timeout", waited_s=0.2)
            if worker == "w1"
            else ok(request, status="completed", correlation_id=CID, saga="s")
        )
    )
    client = Client(channel=channel)
    assert client.request(m.AdminWaitRun(correlation_id=CID)).code == "timeout"
    client.wait(CID)
    assert [w for w, _ in channel.asked] == ["w1", "w2"] and client.capacity == 1


def test_an_unanswered_read_is_a_timeout_saying_how_long_it_really_waited():
    channel = FakeChannel(lambda worker, request: NO_ANSWER)  # "no answer" at once: no time passes
    with pytest.raises(Timeout, match=r"did not answer AdminShowRun within 15 s \(waited 0\.0\d s\)") as caught:
        Client(channel=channel).get(CID)
    assert len(channel.asked) == 1 and caught.value.waited_s < 0.1


@pytest.mark.parametrize(
    "answer, error",
    [
        (dict(code="not_found", code_="unknown_run"), NotFound),
        (dict(code="invalid"), BadInput),
        (dict(code="too_large"), BadInput),
        (dict(code="refused", code_="invalid_input"), BadInput),
        (dict(code="refused", code_="max_children"), Refused),
        (dict(code="unavailable"), DaemonFault),
        (dict(code="internal"), DaemonFault),
    ],
)
def test_each_error_answer_raises_the_class_a_caller_would_catch(answer, error):
    details = {"code": answer["code_"]} if "code_" in answer else {}
    channel = FakeChannel(lambda worker, request: fail(request, answer["code"], **details))
    with pytest.raises(error) as caught:
        Client(channel=channel).start("s")
    assert caught.value.code == answer["code"] and type(caught.value) is error


def test_bad_arguments_are_refused_before_anything_is_sent():
    channel = FakeChannel(lambda worker, request: pytest.fail("sent"))
    client = Client(channel=channel)
    with pytest.raises(BadInput, match="timeout_s"):
        client.wait(CID, timeout=0)
    with pytest.raises(BadInput, match="cannot be encoded"):
        client.start("s", {"when": object()})
    with pytest.raises(BadInput, match="not an address"):
        Client(address="localhost")
    assert channel.asked == []


def test_a_daemon_that_is_starting_says_so_when_connecting():
    with pytest.raises(DaemonStarting):
        Client(channel=FakeChannel(lambda worker, request: None, starting=True))


def test_typed_results_of_get_list_and_the_operator_actions():
    def answer(worker, request):
        if isinstance(request, m.AdminShowRun):
            return ok(
                request,
                correlation_id=CID,
                saga="s",
                status="failed",
                started_at=1.0,
                finished_at=2.0,
                steps=[{"name": "a", "status": "undone", "attempts": 1}],
                error={"code": "x"},
                failed_step="b",
                failed_compensations=[],
                result=None,
            )
        if isinstance(request, m.AdminListRuns):
            rows = [{"correlation_id": CID, "saga": "s", "status": "failed", "started_at": 1.0}]
            return ok(request, runs=rows, total=3, offset=request.offset)
        return ok(request, correlation_id=CID, accepted=False, status="completed", message="not stuck")

    client = Client(channel=FakeChannel(answer))
    record = client.get(CID)
    assert isinstance(record, RunRecord) and record.ended and record.steps[0].name == "a"
    page = client.list(status="failed", limit=1, offset=1)
    assert isinstance(page, RunList) and page.next_offset == 2 and page.runs[0].status == "failed"
    with pytest.raises(Refused, match="not stuck") as caught:
        client.retry(CID)
    assert caught.value.reason == "completed"


def test_a_client_runs_at_most_one_call_per_worker_and_the_rest_wait_their_turn():
    in_flight, most, lock = [0], [0], threading.Lock()

    def answer(worker, request):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return ok(request, status="ok")

    client = Client(channel=FakeChannel(answer, workers=("w1", "w2")))
    threads = [threading.Thread(target=client.health) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_the_async_client_awaits_the_same_calls():
    async def main():
        async with AsyncClient(channel=FakeChannel(lambda worker, request: started(request))) as client:
            return await asyncio.gather(*(client.start("s", wait=True) for _ in range(3)))

    results = asyncio.run(main())
    assert [r.outcome.status for r in results] == ["completed"] * 3
    assert len({r.correlation_id for r in results}) == 3


def test_a_client_whose_daemon_went_away_says_so_and_connects_again_on_the_next_call():
    state = {"gone": False}

    class Restarting(FakeChannel):
        def open(self):
            if state["gone"]:
                state["gone"] = False
                from sagaline.client import DaemonUnreachable

                raise DaemonUnreachable("gone", "unreachable")
            return super().open()

    channel = Restarting(
        lambda worker, request: UNDELIVERED if worker == "old" else ok(request, status="ok"), workers=("old",)
    )
    client = Client(channel=channel)
    state["gone"], channel.workers = True, ["new"]
    with pytest.raises(sagaline.DaemonUnreachable):
        client.health()
    assert client.health().status == "ok" and channel.opens == 2  # the first and the reconnect


def _runs_with_ids(*ids: str):
    def answer(worker, request):
        rows = [
            {"correlation_id": i, "saga": "s", "status": "running", "started_at": 1.0}
            for i in ids
            if i.startswith(request.id_prefix or "")
        ]
        return ok(request, runs=rows[: request.limit], total=len(rows), offset=0)

    return answer


def test_an_unambiguous_id_prefix_resolves_to_the_full_id_through_the_list_request():
    channel = FakeChannel(_runs_with_ids(CID, "01a21fb3-7777-70d5-8287-d58af4977855"))
    assert Client(channel=channel).resolve("01A21FB3-6E") == CID
    assert channel.asked[0][1].id_prefix == "01a21fb3-6e"


def test_an_ambiguous_prefix_names_the_candidates_and_an_unknown_one_is_not_found():
    other = "01a21fb3-7777-70d5-8287-d58af4977855"
    client = Client(channel=FakeChannel(_runs_with_ids(CID, other)))
    with pytest.raises(BadInput, match="ambiguous: 2 runs match") as caught:
        client.resolve("01a21fb3")
    assert caught.value.code == "ambiguous" and caught.value.details["candidates"] == [CID, other]
    assert CID in str(caught.value) and other in str(caught.value)
    with pytest.raises(NotFound, match="no run whose id starts with 'ff'"):
        client.resolve("ff")


def test_the_async_client_resolves_prefixes_and_lists_with_the_new_filters():
    async def main():
        async with AsyncClient(channel=FakeChannel(_runs_with_ids(CID))) as client:
            return await client.resolve("01a21fb3"), await client.list(id_prefix="01a2", started_after=1.0)

    resolved, page = asyncio.run(main())
    assert resolved == CID and page.total == 1
