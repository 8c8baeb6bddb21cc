"""The envelope: what new_event fills in, what derive keeps, what the codec carries."""

import doctest
import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest
from event_samples import NOW, SAGA_EMISSIONS, emitted, event_fields
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import sagaline.events.envelope
from sagaline.events import (
    TAXONOMY_VERSION,
    Event,
    EventRejected,
    Rule,
    derive,
    new_event,
    parse_event,
)
from sagaline.events.payloads import SagaComplete
from sagaline.messages import codec, message_type
from sagaline.messages.ids import is_uuid7, uuid7, uuid7_time_ms


def test_new_event_fills_id_time_versions_and_meta_from_the_registry():
    run = uuid7()

    event = new_event("ml.run.completed", "bolt", SAGA_EMISSIONS["ml.run.completed"][1], run, now=NOW)

    assert is_uuid7(event.id)
    assert event.at == NOW
    assert event.correlation_id == run and event.causation_id is None
    assert (event.taxonomy_version, event.event_version) == (TAXONOMY_VERSION, 1)
    assert event.meta == {"reliability": "persistent", "pipeline": "cross_domain"}
    assert event.priority == "normal"


def test_new_event_takes_the_registered_default_priority():
    assert emitted("reactor.saga.stuck").priority == "critical"
    assert emitted("reactor.saga.fail").priority == "high"


def test_an_unregistered_name_gets_version_one_transient_and_no_pipeline():
    event = new_event("system.presence.joined", "gate", {"user_id": "u1"}, uuid7(), now=NOW)

    assert event.event_version == 1
    assert event.meta == {"reliability": "transient"}
    assert event.priority == "normal"


def test_caller_meta_and_priority_override_the_defaults():
    event = emitted("ml.run.completed", meta={"pipeline": "general", "flags": {"beta": True}}, priority="low")

    assert event.meta == {"reliability": "persistent", "pipeline": "general", "flags": {"beta": True}}
    assert event.priority == "low"


def test_a_payload_model_is_carried_as_its_map():
    event = new_event("reactor.saga.complete", "flow", SagaComplete(saga="UPMActivation"), uuid7(), now=NOW)

    assert event.payload == {"saga": "UPMActivation"}


def test_the_id_time_prefix_is_not_earlier_than_the_event_time():
    event = emitted("reactor.saga.complete")

    assert uuid7_time_ms(event.id) >= int(NOW.timestamp() * 1000)


def test_without_now_the_event_is_stamped_with_the_wall_clock():
    before = datetime.now(UTC)
    event = new_event("reactor.saga.complete", "flow", {"saga": "S"}, uuid7())
    after = datetime.now(UTC)

    assert before <= event.at <= after


def test_an_aware_time_in_another_zone_is_stored_in_utc():
    paris = timezone(timedelta(hours=2))

    event = emitted("reactor.saga.complete", now=NOW.astimezone(paris))

    assert event.at == NOW and event.at.tzinfo == UTC


def test_a_naive_time_is_refused_as_a_broken_envelope():
    with pytest.raises(EventRejected) as caught:
        emitted("reactor.saga.complete", now=datetime(2025, 10, 27, 14, 30))

    assert caught.value.rule is Rule.ENVELOPE
    assert "at" in caught.value.violation.detail


def test_a_malformed_correlation_id_is_refused_when_the_event_is_made():
    with pytest.raises(EventRejected) as caught:
        new_event("reactor.saga.complete", "flow", {"saga": "S"}, "run-42", now=NOW)

    assert caught.value.rule is Rule.ID


def test_a_module_name_as_source_is_refused_when_the_event_is_made():
    with pytest.raises(EventRejected) as caught:
        new_event(
            "user.onboarding.complete",
            "Thunderline.Thunderbolt.Sagas.UserProvisioningSaga",
            SAGA_EMISSIONS["user.onboarding.complete"][1],
            uuid7(),
            now=NOW,
        )

    assert caught.value.rule is Rule.UNKNOWN_SOURCE


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("id", "not-a-uuid", Rule.ID),
        ("correlation_id", "0199F2A4-7C1E-7A3B-9D2E-5B8C1F0A6E42", Rule.ID),
        ("causation_id", "3b241101-e2bb-4255-8caf-4136c566a962", Rule.ID),
        ("priority", "urgent", Rule.PRIORITY),
        ("source", "Thunderline.Gate", Rule.UNKNOWN_SOURCE),
        ("taxonomy_version", 0, Rule.TAXONOMY_VERSION),
        ("event_version", 0, Rule.EVENT_VERSION),
        ("event_version", "1", Rule.EVENT_VERSION),
        ("event_version", True, Rule.EVENT_VERSION),
        ("payload", ["saga", "S"], Rule.ENVELOPE),
        ("meta", None, Rule.ENVELOPE),
        ("name", 42, Rule.ENVELOPE),
        ("stray", "field", Rule.ENVELOPE),
    ],
)
def test_parse_event_names_the_rule_of_the_first_bad_field(field, value, rule):
    with pytest.raises(EventRejected) as caught:
        parse_event(event_fields(**{field: value}))

    assert caught.value.rule is rule


def test_parse_event_refuses_something_that_is_not_a_map():
    with pytest.raises(EventRejected) as caught:
        parse_event(["reactor.saga.complete"])  # type: ignore[arg-type]

    assert caught.value.rule is Rule.ENVELOPE


def test_derive_keeps_the_correlation_id_and_sets_causation_to_the_parent_id():
    parent = emitted("flow.reactor.retry")

    child = derive(parent, "reactor.saga.complete", "flow", {"saga": "UserProvisioning"}, now=NOW)

    assert child.correlation_id == parent.correlation_id
    assert child.causation_id == parent.id
    assert child.id != parent.id


def test_a_chain_of_derived_events_never_re_bases_the_correlation_id():
    root = emitted("reactor.saga.complete")
    chain = [root]
    for _ in range(3):
        chain.append(derive(chain[-1], "system.audit.recorded", "block", {}, now=NOW))

    assert {event.correlation_id for event in chain} == {root.correlation_id}
    assert [event.causation_id for event in chain[1:]] == [event.id for event in chain[:-1]]


def test_derive_offers_no_way_to_choose_a_correlation_id():
    assert "correlation_id" not in inspect.signature(derive).parameters


def test_derive_takes_meta_and_priority_from_the_new_name_not_the_parent():
    parent = emitted("reactor.saga.stuck")

    child = derive(parent, "flow.reactor.retry", "flow", SAGA_EMISSIONS["flow.reactor.retry"][1], now=NOW)

    assert child.priority == "normal"
    assert child.meta == {"reliability": "transient"}


def test_the_event_is_the_codec_message_registered_as_event():
    assert message_type("Event") is Event


@pytest.mark.parametrize("name", sorted(SAGA_EMISSIONS))
def test_each_saga_event_round_trips_through_the_codec(name):
    event = emitted(name, causation_id=uuid7(), meta={"flags": {"replayed": False}, "targets": ["link"]})

    assert codec.decode(codec.encode(event)) == event


_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(payload=st.dictionaries(st.text(max_size=12), _plain, max_size=6))
def test_any_plain_payload_round_trips_through_the_codec(payload):
    event = new_event("system.sample.recorded", "block", payload, uuid7(), now=NOW)

    assert codec.decode(codec.encode(event)) == event


def test_the_event_is_frozen():
    event = emitted("reactor.saga.complete")

    with pytest.raises(ValidationError):
        event.name = "reactor.saga.fail"  # type: ignore[misc]


def test_every_envelope_field_is_documented():
    undocumented = [name for name, info in Event.model_fields.items() if not info.description]

    assert undocumented == []


def test_the_envelope_module_examples_run():
    result = doctest.testmod(sagaline.events.envelope)

    assert result.attempted > 0 and result.failed == 0
