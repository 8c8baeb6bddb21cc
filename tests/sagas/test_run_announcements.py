"""The bus announcements of a run's end and of its retries (pure): right event, payload, ids, keys,
and every one passes the taxonomy."""

from datetime import UTC, datetime

import pytest

from sagaline.events import validate
from sagaline.messages.ids import uuid7
from sagaline.saga import Driver, Fail, Ok, Saga, StepError, local
from sagaline.saga.shell import outcome
from sagaline.sagas.announcements import compensated_steps, finish_announcement, retry_announcement

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def trip(fail_at: str | None = None, undo_fails: bool = False):
    """reserve -> charge -> confirm; ``fail_at`` fails that step, ``undo_fails`` makes reserve's undo fail."""

    def step(name):
        return local(
            lambda a, c: Fail(StepError("card_declined")) if name == fail_at else Ok(name),
            undo=lambda v, a, c: Fail(StepError("undo_broken")) if undo_fails and name == "reserve" else Ok(),
        )

    s = Saga("trip")
    s.step("reserve", step("reserve"))
    s.step("charge", step("charge"), wait_for=["reserve"])
    s.step("confirm", step("confirm"), wait_for=["charge"])
    s.returns("confirm")
    return s.build()


def ended(definition, causation_id=None):
    report = Driver(definition).run({}, run_id=uuid7(), causation_id=causation_id)
    return report.state, outcome(report.state, report.finished)


def test_a_completed_run_announces_reactor_saga_complete_in_its_own_correlation_caused_as_the_run_was():
    cause = uuid7()
    state, out = ended(trip(), causation_id=cause)
    command = finish_announcement(state, out, seq=7, now=NOW)
    event = command.event
    assert (event.name, event.source, event.payload) == ("reactor.saga.complete", "flow", {"saga": "trip"})
    assert (event.correlation_id, event.causation_id, event.at) == (state.run_id, cause, NOW)
    assert command.headers.idempotency_key == f"{state.run_id}:reactor.saga.complete:7"
    assert validate(event, "raise").event is event


def test_a_failed_run_announces_the_failing_step_its_code_and_the_steps_undone_last_completed_first():
    state, out = ended(trip(fail_at="confirm"))
    event = finish_announcement(state, out, seq=9, now=NOW).event
    assert event.name == "reactor.saga.fail" and event.priority == "high"
    assert event.payload == {
        "saga": "trip",
        "failed_step": "confirm",
        "reason": "card_declined",
        "compensated_steps": ["charge", "reserve"],
    }
    assert compensated_steps(state) == ["charge", "reserve"]
    validate(event, "raise")


def test_a_stuck_run_announces_reactor_saga_stuck_with_the_failed_compensations():
    state, out = ended(trip(fail_at="confirm", undo_fails=True))
    assert out.status == "stuck"
    event = finish_announcement(state, out, seq=3, now=NOW).event
    assert (event.name, event.payload["failed_compensations"], event.priority) == (
        "reactor.saga.stuck",
        ["reserve"],
        "critical",
    )
    validate(event, "raise")


def test_a_cancelled_run_is_announced_as_a_failure_without_a_failing_step():
    definition = trip()
    report = Driver(definition, cancel_when=lambda s: s.steps["reserve"].status == "succeeded").run({})
    assert report.status == "cancelled"
    event = finish_announcement(report.state, outcome(report.state, report.finished), seq=1, now=NOW).event
    assert (event.name, event.payload["failed_step"], event.payload["reason"]) == (
        "reactor.saga.fail",
        None,
        "cancelled",
    )
    assert event.payload["compensated_steps"] == ["confirm", "charge", "reserve"]
    validate(event, "raise")


def test_a_halted_run_announces_nothing():
    state, out = ended(trip())
    assert finish_announcement(state, out.model_copy(update={"status": "halted"}), seq=1) is None


@pytest.mark.parametrize("reason", ["timeout", ""])
def test_a_retry_is_announced_with_the_next_attempts_number_and_why_the_last_failed(reason):
    state, _ = ended(trip())
    command = retry_announcement(state, "charge", 2, reason, now=NOW)
    event = command.event
    assert (event.name, event.source) == ("flow.reactor.retry", "flow")
    assert event.payload == {"reactor": "trip", "step": "charge", "attempt": 2, "reason": reason or "failed"}
    assert command.headers.idempotency_key == f"{state.run_id}:flow.reactor.retry:charge:2"
    assert validate(event, "raise").event.meta["reliability"] == "transient"
