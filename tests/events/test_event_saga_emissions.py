"""Every event the sagas and the runtime emit passes the validator.

The original's saga events never passed its own validator (a string source,
``user.`` refused for gate). These tests are the proof that ours do.
"""

import pytest
from event_samples import NOW, SAGA_EMISSIONS, emitted

from sagaline.events import Dropped, Validated, derive, known_events, validate
from sagaline.messages.ids import uuid7


@pytest.mark.parametrize("name", sorted(SAGA_EMISSIONS))
def test_each_saga_event_with_a_realistic_payload_passes_validation_in_raise_mode(name):
    event = emitted(name)

    outcome = validate(event, "raise")

    assert outcome == Validated(event)
    assert outcome.violation is None


def test_every_registered_event_has_a_realistic_sample_here():
    assert {name for name, _ in known_events()} <= set(SAGA_EMISSIONS)


def test_the_onboarding_chain_of_one_run_passes_with_one_correlation_id():
    run = uuid7()
    retried = emitted("flow.reactor.retry", run)
    onboarded = derive(
        retried, "user.onboarding.complete", "gate", SAGA_EMISSIONS["user.onboarding.complete"][1], now=NOW
    )
    finished = derive(onboarded, "reactor.saga.complete", "flow", {"saga": "UserProvisioning"}, now=NOW)

    for event in (retried, onboarded, finished):
        assert validate(event, "raise").event is event
    assert {e.correlation_id for e in (retried, onboarded, finished)} == {run}


def test_the_audit_event_that_a_drop_produces_itself_passes_validation():
    bad = emitted("reactor.saga.complete", source="bolt")

    dropped = validate(bad, "drop", now=NOW)

    assert isinstance(dropped, Dropped)
    assert validate(dropped.audit_event, "raise") == Validated(dropped.audit_event)
