"""Each rule of the taxonomy has a case that breaks it, and the error names it."""

import pytest
from event_samples import NOW, SAGA_EMISSIONS, emitted, event_fields
from hypothesis import given
from hypothesis import strategies as st

from sagaline.events import (
    FAMILIES,
    Event,
    EventRejected,
    Rule,
    Validated,
    Violation,
    check,
    new_event,
    validate,
)
from sagaline.messages.ids import uuid7


def _payload(name, **changes):
    payload = dict(SAGA_EMISSIONS[name][1])
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not _GONE}


_GONE = object()


def _unchecked(**overrides):
    """An Event built without checks (``model_construct``), as buggy code might."""
    return Event.model_construct(**event_fields(**overrides))


# (case, how to build the candidate, the rule it breaks)
CASES = [
    # the envelope
    ("a map without a payload", lambda: {k: v for k, v in event_fields().items() if k != "payload"}, Rule.ENVELOPE),
    ("an unexpected field", lambda: event_fields(type="audit_event_drop"), Rule.ENVELOPE),
    ("a naive time on an unchecked event", lambda: _unchecked(at=NOW.replace(tzinfo=None)), Rule.ENVELOPE),
    ("a payload that is not a map", lambda: _unchecked(payload=[1, 2]), Rule.ENVELOPE),
    ("a correlation id that is not a UUID", lambda: event_fields(correlation_id="corr-42"), Rule.ID),
    ("a UUID v4 correlation id", lambda: _unchecked(correlation_id="3b241101-e2bb-4255-8caf-4136c566a962"), Rule.ID),
    ("an uppercase causation id", lambda: _unchecked(causation_id=uuid7().upper()), Rule.ID),
    ("an event id that is empty", lambda: _unchecked(id=""), Rule.ID),
    ("a priority outside the four", lambda: _unchecked(priority="urgent"), Rule.PRIORITY),
    ("a module name as source", lambda: event_fields(source="Thunderline.Thunderbolt.Sagas.Base"), Rule.UNKNOWN_SOURCE),
    ("a source atom spelled as the original did", lambda: _unchecked(source=":bolt"), Rule.UNKNOWN_SOURCE),
    ("a well-formed source no app registered", lambda: event_fields(source="thunderbolt"), Rule.UNKNOWN_SOURCE),
    ("taxonomy version zero", lambda: event_fields(taxonomy_version=0), Rule.TAXONOMY_VERSION),
    (
        "a taxonomy version from the future",
        lambda: emitted("reactor.saga.complete").model_copy(update={"taxonomy_version": 2}),
        Rule.TAXONOMY_VERSION,
    ),
    ("event version zero", lambda: event_fields(event_version=0), Rule.EVENT_VERSION),
    (
        "a known event at an unregistered version",
        lambda: emitted("ml.run.completed").model_copy(update={"event_version": 2}),
        Rule.EVENT_VERSION,
    ),
    # the name
    (
        "an uppercase name",
        lambda: emitted("reactor.saga.complete").model_copy(update={"name": "Reactor.Saga.Complete"}),
        Rule.NAME_FORMAT,
    ),
    ("a one-segment name", lambda: new_event("onboarded", "gate", {}, uuid7(), now=NOW), Rule.NAME_FORMAT),
    ("an empty segment", lambda: new_event("system..done", "gate", {}, uuid7(), now=NOW), Rule.NAME_FORMAT),
    (
        "a name outside the families",
        lambda: new_event("billing.invoice.paid", "gate", {}, uuid7(), now=NOW),
        Rule.UNKNOWN_FAMILY,
    ),
    (
        "an old-style Elixir event name",
        lambda: new_event("thunderline.saga.completed", "flow", {}, uuid7(), now=NOW),
        Rule.UNKNOWN_FAMILY,
    ),
    # who sent it
    ("ml.run.completed from gate", lambda: emitted("ml.run.completed", source="gate"), Rule.CATEGORY_NOT_ALLOWED),
    (
        "reactor.saga.complete from bolt, the original's domain",
        lambda: emitted("reactor.saga.complete", source="bolt"),
        Rule.CATEGORY_NOT_ALLOWED,
    ),
    (
        "a grid event, which no domain may emit",
        lambda: new_event("grid.zone.updated", "flow", {}, uuid7(), now=NOW),
        Rule.CATEGORY_NOT_ALLOWED,
    ),
    (
        "a snapshot activation from crown",
        lambda: emitted("ai.upm.snapshot.activated", source="crown"),
        Rule.SOURCE_NOT_REGISTERED,
    ),
    ("a trial result from bridge", lambda: emitted("ml.trial.completed", source="bridge"), Rule.CATEGORY_NOT_ALLOWED),
    # what it says
    (
        "onboarding without a vault",
        lambda: emitted("user.onboarding.complete", payload=_payload("user.onboarding.complete", vault_id=_GONE)),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "onboarding with an extra key",
        lambda: emitted("user.onboarding.complete", payload=_payload("user.onboarding.complete", password="hunter2")),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "onboarding with a bad email",
        lambda: emitted(
            "user.onboarding.complete", payload=_payload("user.onboarding.complete", email="ada at example")
        ),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "a retry attempt given as text",
        lambda: emitted("flow.reactor.retry", payload=_payload("flow.reactor.retry", attempt="2")),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "a stuck run with no failed compensation",
        lambda: emitted("reactor.saga.stuck", payload=_payload("reactor.saga.stuck", failed_compensations=[])),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "more trials completed than dispatched",
        lambda: emitted("ml.trial.completed", payload=_payload("ml.trial.completed", completed_trials=4)),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "a naive activation time",
        lambda: emitted(
            "ai.upm.snapshot.activated",
            payload=_payload("ai.upm.snapshot.activated", activated_at=NOW.replace(tzinfo=None)),
        ),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "an infinite best score",
        lambda: emitted("ml.run.completed", payload=_payload("ml.run.completed", best_score=float("inf"))),
        Rule.PAYLOAD_SCHEMA,
    ),
    (
        "a drop reason that is no rule",
        lambda: emitted("audit.event_drop", payload=_payload("audit.event_drop", reason="because")),
        Rule.PAYLOAD_SCHEMA,
    ),
    ("an unknown pipeline", lambda: emitted("reactor.saga.complete", meta={"pipeline": "fast"}), Rule.META),
    (
        "an unknown reliability",
        lambda: new_event("system.x.done", "block", {}, uuid7(), now=NOW, meta={"reliability": "durable"}),
        Rule.META,
    ),
    (
        "a persistent event marked transient",
        lambda: emitted("user.onboarding.complete", meta={"reliability": "transient"}),
        Rule.META,
    ),
    (
        "flags that are not booleans",
        lambda: emitted("reactor.saga.complete", meta={"flags": {"beta": "yes"}}),
        Rule.META,
    ),
    ("flags given as a list", lambda: emitted("reactor.saga.complete", meta={"flags": ["beta"]}), Rule.META),
    ("a target that is not a domain", lambda: emitted("reactor.saga.complete", meta={"target": "billing"}), Rule.META),
    ("an empty targets list", lambda: emitted("reactor.saga.complete", meta={"targets": []}), Rule.META),
]


@pytest.mark.parametrize(("case", "build", "rule"), CASES, ids=[case for case, _, _ in CASES])
def test_when_an_event_breaks_a_rule_raise_mode_names_that_rule(case, build, rule):
    with pytest.raises(EventRejected) as caught:
        validate(build(), "raise")

    assert caught.value.rule is rule
    assert caught.value.violation.detail


def test_every_rule_has_at_least_one_breaking_case():
    assert {rule for _, _, rule in CASES} == set(Rule)


def test_the_first_broken_rule_is_the_one_reported():
    event = new_event("Bad.Name", "gate", {}, uuid7(), now=NOW, meta={"pipeline": "fast"})

    with pytest.raises(EventRejected) as caught:
        validate(event, "raise")

    assert caught.value.rule is Rule.NAME_FORMAT


def test_the_rejection_names_the_event_and_the_rule():
    with pytest.raises(EventRejected, match=r"ml\.run\.completed: category_not_allowed: gate"):
        validate(emitted("ml.run.completed", source="gate"), "raise")


def test_check_is_the_pure_judgement_behind_validate():
    assert check(emitted("ml.run.completed")) is None
    violation = check(emitted("ml.run.completed", source="gate"))
    assert violation == Violation(Rule.CATEGORY_NOT_ALLOWED, violation.detail, "ml.run.completed")


def test_a_valid_map_is_accepted_as_an_event():
    outcome = validate(event_fields("ml.run.completed"), "raise")

    assert isinstance(outcome, Validated) and isinstance(outcome.event, Event)
    assert outcome.event.name == "ml.run.completed"


@given(
    family=st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True).filter(lambda f: f not in FAMILIES),
    rest=st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True),
)
def test_any_well_formed_name_outside_the_families_breaks_the_family_rule(family, rest):
    event = new_event(f"{family}.{rest}", "block", {}, uuid7(), now=NOW)

    assert check(event).rule is Rule.UNKNOWN_FAMILY


@given(name=st.text(max_size=40).filter(lambda n: "." not in n or not n.islower()))
def test_any_name_without_lowercase_dotted_segments_breaks_the_format_rule(name):
    event = emitted("reactor.saga.complete").model_copy(update={"name": name})

    assert check(event).rule is Rule.NAME_FORMAT
