"""The desk of a saga host, driven by a fake host: the worker's answers, its trust boundary, its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from sagaline.hosts.host_desk import DeskTicket, HostDesk
from sagaline.messages import codec
from sagaline.messages.admin import AdminError, AdminListRuns, AdminResult, AdminStartSaga, AdminWaitRun
from sagaline.messages.ids import uuid7
from sagaline.messages.saga import AwaitRun, RunOutcome, SagaAccepted, SagaRefused, StartSaga
from sagaline.saga.placement import partition_of

CLIENT = "client-address"


class FakeHost:
    """Records what the desk delivers, posts and arms; answers tickets when told to."""

    def __init__(self) -> None:
        self.delivered: list[tuple[Any, Any]] = []
        self.posted: list[tuple[Any, Any]] = []
        self.timers: dict[int, float] = {}
        self.desk: HostDesk | None = None
        self.standing_by = False

    def stands_by(self) -> bool:
        return self.standing_by

    def deliver(self, message: Any, sender: Any) -> None:
        self.delivered.append((message, sender))

    def post(self, address: Any, message: Any) -> None:
        if isinstance(address, DeskTicket):
            self.desk.answer(address, message)
        else:
            self.posted.append((address, message))

    def desk_timer(self, ticket: int, seconds: float) -> None:
        self.timers[ticket] = seconds

    def cancel_desk_timer(self, ticket: int) -> None:
        self.timers.pop(ticket, None)

    def answers(self) -> list[Any]:
        return [codec.decode(m) for _, m in self.posted]


def desk(partition: int = 0, partitions: int = 1) -> tuple[HostDesk, FakeHost]:
    host = FakeHost()
    host.desk = HostDesk(host, partition, partitions)
    return host.desk, host


def cid_in(partition: int, partitions: int) -> str:
    while True:
        cid = uuid7()
        if partition_of(cid, partitions) == partition:
            return cid


def test_a_start_with_wait_is_answered_with_the_outcome_as_a_worker_would():
    d, host = desk()
    cid = uuid7()
    d.receive(codec.encode(AdminStartSaga(saga="s", inputs={"k": 1}, correlation_id=cid, wait=True)), CLIENT)
    ((start, ticket),) = host.delivered
    assert isinstance(start, StartSaga) and start.correlation_id == cid and start.wait and start.inputs == {"k": 1}
    assert host.posted == [] and ticket.number in host.timers
    host.post(ticket, RunOutcome(correlation_id=cid, saga="s", status="completed", result={"ok": True}))
    (answer,) = host.answers()
    assert isinstance(answer, AdminResult) and answer.data["status"] == "completed"
    assert answer.data["correlation_id"] == cid and answer.data["existing"] is False
    assert host.timers == {} and d.open == {} and d.served == 1 and host.posted[0][0] == CLIENT


def test_a_start_without_wait_and_a_refusal_are_answered_like_the_workers_answer_them():
    d, host = desk()
    cid = uuid7()
    d.receive(codec.encode(AdminStartSaga(saga="s", correlation_id=cid)), CLIENT)
    host.post(host.delivered[-1][1], SagaAccepted(correlation_id=cid, saga="s", existing=False))
    d.receive(codec.encode(AdminStartSaga(saga="s", correlation_id=uuid7())), CLIENT)
    host.post(host.delivered[-1][1], SagaRefused(code="max_children", message="full"))
    accepted, refused = host.answers()
    assert accepted.data == {"correlation_id": cid, "saga": "s", "existing": False}
    assert isinstance(refused, AdminError) and refused.code == "refused" and refused.details["code"] == "max_children"


def test_a_wait_is_served_too():
    d, host = desk()
    cid = uuid7()
    d.receive(codec.encode(AdminWaitRun(correlation_id=cid)), CLIENT)
    ((wait, ticket),) = host.delivered
    assert isinstance(wait, AwaitRun) and wait.correlation_id == cid
    host.post(ticket, RunOutcome(correlation_id=cid, saga="s", status="failed", error={"message": "no"}))
    assert host.answers()[0].data["status"] == "failed"


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"\x00not msgpack", "malformed"),
        (codec.encode(AdminListRuns()), "unsupported"),
        (codec.encode(AdminStartSaga(saga="s")), "unsupported"),  # no correlation id: it could belong anywhere
        ("a str", "malformed"),
    ],
)
def test_what_the_desk_does_not_serve_is_answered_at_once_and_nothing_runs(payload, code):
    d, host = desk()
    d.receive(payload, CLIENT)
    assert host.delivered == [] and [a.code for a in host.answers()] == [code]


def test_a_run_of_another_partition_is_answered_unavailable_so_the_client_asks_again():
    d, host = desk(partition=0, partitions=4)
    d.receive(codec.encode(AdminStartSaga(saga="s", correlation_id=cid_in(3, 4))), CLIENT)
    (answer,) = host.answers()
    assert answer.code == "unavailable" and "saga host 3" in answer.message and host.delivered == []


def test_a_request_unanswered_at_its_deadline_gets_timeout_and_a_late_answer_is_dropped():
    d, host = desk()
    cid = uuid7()
    d.receive(codec.encode(AdminStartSaga(saga="s", correlation_id=cid, wait=True, timeout_s=2.5)), CLIENT)
    ((_, ticket),) = host.delivered
    assert host.timers[ticket.number] == 2.5
    d.expire(ticket.number)
    host.post(ticket, RunOutcome(correlation_id=cid, saga="s", status="completed"))
    (answer,) = host.answers()
    assert answer.code == "timeout" and "waited_s" in answer.details


def test_a_host_standing_by_sends_the_client_to_a_worker_whose_request_is_forwarded_to_the_owner():
    d, host = desk()
    host.standing_by = True
    d.receive(codec.encode(AdminStartSaga(saga="s", inputs={}, correlation_id=uuid7())), CLIENT)
    (answer,) = host.answers()
    assert host.delivered == [] and answer.code == "unavailable" and "admin worker" in answer.message
