"""The three modes: raise (tests), warn (log and pass), drop (count and audit)."""

import logging
from datetime import datetime

import pytest
from event_samples import NOW, emitted, event_fields

from sagaline.errors import SagalineError
from sagaline.events import (
    DropCounter,
    Dropped,
    Event,
    EventError,
    EventRejected,
    Rule,
    Validated,
    reliability_of,
    select_pipeline,
    validate,
)
from sagaline.events.validator import MAX_DROPPED_BYTES
from sagaline.messages.codec import pack_value
from sagaline.messages.ids import is_uuid7

MODES = ["raise", "warn", "drop"]


def _misrouted():
    """A well-typed event from a domain that may not send it."""
    return emitted("ml.run.completed", source="gate")


@pytest.mark.parametrize("mode", MODES)
def test_in_every_mode_a_valid_event_passes_unchanged_and_nothing_is_counted_or_logged(mode, caplog):
    event = emitted("user.onboarding.complete")
    drops = DropCounter()

    with caplog.at_level(logging.DEBUG, logger="sagaline.events"):
        outcome = validate(event, mode, drops=drops)

    assert outcome == Validated(event) and outcome.event is event
    assert drops.total == 0
    assert caplog.records == []


def test_in_raise_mode_a_broken_rule_raises_a_sagaline_value_error():
    with pytest.raises(EventRejected) as caught:
        validate(_misrouted(), "raise")

    assert isinstance(caught.value, EventError)
    assert isinstance(caught.value, SagalineError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.retryable is False


def test_raise_is_the_default_mode():
    with pytest.raises(EventRejected):
        validate(_misrouted())


def test_in_warn_mode_a_broken_rule_is_logged_and_the_event_passes(caplog):
    event = _misrouted()
    drops = DropCounter()

    with caplog.at_level(logging.WARNING, logger="sagaline.events"):
        outcome = validate(event, "warn", drops=drops)

    assert isinstance(outcome, Validated) and outcome.event is event
    assert outcome.violation.rule is Rule.CATEGORY_NOT_ALLOWED
    assert drops.total == 0
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "ml.run.completed" in record.getMessage()
    assert "category_not_allowed" in record.getMessage()


def test_in_warn_mode_input_that_is_not_an_event_cannot_pass_and_is_dropped():
    drops = DropCounter()

    outcome = validate(event_fields(source="Thunderline.Gate"), "warn", drops=drops, now=NOW)

    assert isinstance(outcome, Dropped)
    assert outcome.violation.rule is Rule.UNKNOWN_SOURCE
    assert drops.by_rule() == {Rule.UNKNOWN_SOURCE: 1}


def test_in_warn_mode_an_event_built_unchecked_with_a_broken_envelope_is_dropped():
    unchecked = Event.model_construct(**event_fields(correlation_id="run-7"))

    outcome = validate(unchecked, "warn", now=NOW)

    assert isinstance(outcome, Dropped)
    assert outcome.violation.rule is Rule.ID


def test_in_drop_mode_a_broken_rule_is_counted_and_an_audit_event_replaces_the_event(caplog):
    event = _misrouted()
    drops = DropCounter()

    with caplog.at_level(logging.WARNING, logger="sagaline.events"):
        outcome = validate(event, "drop", drops=drops, now=NOW)

    assert isinstance(outcome, Dropped)
    assert outcome.violation.rule is Rule.CATEGORY_NOT_ALLOWED
    assert drops.total == 1
    assert "dropped" in caplog.records[0].getMessage()
    audit = outcome.audit_event
    assert (audit.name, audit.source, audit.at) == ("audit.event_drop", "flow", NOW)
    assert audit.payload == {
        "dropped_name": "ml.run.completed",
        "reason": "category_not_allowed",
        "detail": outcome.violation.detail,
        "event": event.model_dump(),
    }


def test_the_drop_audit_event_carries_the_dropped_event_whole_and_still_passes_validation():
    event = _misrouted()
    audit = validate(event, "drop", now=NOW).audit_event
    assert Event.model_validate(audit.payload["event"]) == event
    assert validate(audit, "raise").event is audit


def test_a_dropped_event_too_big_to_carry_whole_keeps_its_envelope_and_says_it_was_truncated():
    event = _misrouted().model_copy(update={"payload": {"blob": "x" * (MAX_DROPPED_BYTES + 1)}})
    carried = validate(event, "drop", now=NOW).audit_event.payload["event"]
    assert carried["truncated"] is True and "payload" not in carried
    assert (carried["id"], carried["name"], carried["correlation_id"]) == (event.id, event.name, event.correlation_id)
    assert len(pack_value(carried)) < MAX_DROPPED_BYTES


def test_a_dropped_map_the_codec_cannot_carry_is_audited_with_what_it_can():
    fields = event_fields(payload={"when": datetime(2025, 1, 1)}, correlation_id="run-7", huge=1 << 70)
    carried = validate(fields, "drop", now=NOW).audit_event.payload["event"]
    assert carried["truncated"] is True and carried["correlation_id"] == "run-7"
    assert "payload" not in carried and "huge" not in carried
    pack_value(carried)


def test_the_drop_audit_event_stays_in_the_dropped_events_run_caused_by_it():
    event = _misrouted()

    audit = validate(event, "drop", now=NOW).audit_event

    assert audit.correlation_id == event.correlation_id
    assert audit.causation_id == event.id


def test_the_drop_audit_event_is_persistent_realtime_and_high_priority():
    audit = validate(_misrouted(), "drop", now=NOW).audit_event

    assert reliability_of(audit) == "persistent"
    assert select_pipeline(audit) == "realtime"
    assert audit.priority == "high"


def test_a_dropped_map_without_usable_ids_gets_a_fresh_correlation_and_no_causation():
    outcome = validate(event_fields(correlation_id="run-7", id="nope"), "drop", now=NOW)

    assert outcome.violation.rule is Rule.ID
    assert is_uuid7(outcome.audit_event.correlation_id)
    assert outcome.audit_event.causation_id is None


def test_a_dropped_thing_that_is_not_even_a_map_is_audited_as_unnamed():
    outcome = validate(["not", "an", "event"], "drop", now=NOW)  # type: ignore[arg-type]

    assert outcome.violation.rule is Rule.ENVELOPE
    assert outcome.audit_event.payload["dropped_name"] == "<unnamed>"


def test_a_hostile_long_name_is_clipped_in_the_audit_payload():
    event = emitted("reactor.saga.complete").model_copy(update={"name": "x" * 100_000})

    outcome = validate(event, "drop", now=NOW)

    assert outcome.violation.rule is Rule.NAME_FORMAT
    assert len(outcome.audit_event.payload["dropped_name"]) < 400


def test_drop_mode_works_without_a_counter():
    assert isinstance(validate(_misrouted(), "drop", now=NOW), Dropped)


def test_the_drop_counter_counts_per_rule():
    drops = DropCounter()
    for candidate in (_misrouted(), _misrouted(), event_fields(priority="urgent")):
        validate(candidate, "drop", drops=drops, now=NOW)

    assert drops.total == 3
    assert drops.by_rule() == {Rule.CATEGORY_NOT_ALLOWED: 2, Rule.PRIORITY: 1}


def test_an_unknown_mode_is_a_programming_error_not_a_rejection():
    with pytest.raises(EventError, match="unknown validation mode") as caught:
        validate(emitted("reactor.saga.complete"), "strict")  # type: ignore[arg-type]

    assert not isinstance(caught.value, EventRejected)
