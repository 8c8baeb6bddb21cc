"""Fault plans are pure: which command meets which rule, and what a ``fail`` rule answers."""

from __future__ import annotations

from sagaline.domains.faults import FaultPlan
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from tests.saga.support import Echo

CID = uuid7()


def command() -> Echo:
    return Echo(headers=Headers(correlation_id=CID, idempotency_key="k1"), text="hi")


def test_a_fail_rule_answers_with_its_code_and_retryability_in_the_command_s_headers():
    plan = FaultPlan.from_data([{"command": "Echo", "code": "disk_busy", "retryable": True}])
    fault = plan.check(command())
    assert fault is not None
    refusal = fault.refusal(command())
    assert (refusal.code, refusal.retryable) == ("disk_busy", True)
    assert refusal.headers == command().headers
    assert refusal.message == "injected fault on Echo"


def test_a_rule_fires_only_for_its_command_and_only_as_often_as_it_may():
    plan = FaultPlan.from_data([{"command": "Echo", "times": 1}])
    assert plan.check(object()) is None
    assert plan.check(command()) is not None
    assert plan.check(command()) is None
