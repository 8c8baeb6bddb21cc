"""The registry of known events, and how it settles the original's user. conflict.

The runtime registers its own events at import; the Thunderline app's are
registered when it loads (this folder's conftest loads it).
"""

from datetime import datetime

import pytest
from event_samples import NOW, emitted
from pydantic import BaseModel

import sagaline.events.known as known_module
from sagaline.events import (
    FAMILIES,
    EventError,
    EventRejected,
    KnownEvent,
    Rule,
    Validated,
    categories_by_domain,
    known_event,
    known_events,
    may_emit,
    new_event,
    register_event,
    validate,
)
from sagaline.events.known import known_versions
from sagaline.events.payloads import Payload
from sagaline.messages.ids import uuid7

# name: (version, sources, reliability, default pipeline, default priority)
APP_EVENTS = {
    "user.onboarding.complete": (1, {"gate"}, "persistent", "cross_domain", "normal"),
    "ai.upm.snapshot.activated": (1, {"bolt"}, "transient", "realtime", "normal"),
    "ml.run.completed": (1, {"bolt"}, "persistent", "cross_domain", "normal"),
    "ml.trial.completed": (1, {"bolt"}, "persistent", "realtime", "normal"),
}
BUILT_INS = {
    "flow.reactor.retry": (1, {"flow"}, "transient", None, "normal"),
    "reactor.saga.complete": (1, {"flow"}, "persistent", "realtime", "normal"),
    "reactor.saga.fail": (1, {"flow"}, "persistent", "realtime", "high"),
    "reactor.saga.stuck": (1, {"flow"}, "persistent", "realtime", "critical"),
    "audit.event_drop": (1, {"flow"}, "persistent", "realtime", "high"),
    "system.storage.fault": (1, {"flow"}, "transient", "realtime", "critical"),
    "system.storage.recovered": (1, {"flow"}, "transient", "realtime", "normal"),
}


class _Note(Payload):
    """A test payload."""

    text: str
    """Some text."""


@pytest.fixture
def scratch_registry(monkeypatch):
    """Let a test register entries without leaking them into other tests."""
    monkeypatch.setattr(known_module, "_ENTRIES", dict(known_module._ENTRIES))


def _entry(**changes):
    fields = dict(
        name="user.profile.updated", version=1, payload=_Note, sources=frozenset({"gate"}), reliability="transient"
    )
    fields.update(changes)
    return KnownEvent(**fields)


def test_the_runtimes_entries_and_the_loaded_apps_are_exactly_these():
    table = {
        name: (e.version, set(e.sources), e.reliability, e.pipeline, e.priority)
        for (name, _), e in known_events().items()
    }

    assert table == {**BUILT_INS, **APP_EVENTS}


def test_the_runtime_registers_only_its_own_flow_events():
    from sagaline.events.known import AUDIT_EVENT_DROP, FLOW_REACTOR_RETRY, REACTOR_SAGA_COMPLETE

    assert {e.name for e in (AUDIT_EVENT_DROP, FLOW_REACTOR_RETRY, REACTOR_SAGA_COMPLETE)} <= set(BUILT_INS)
    assert all(sources == {"flow"} for _, sources, *_ in BUILT_INS.values())


def test_every_entry_has_a_strict_payload_model_that_forbids_unknown_keys():
    for entry in known_events().values():
        assert issubclass(entry.payload, BaseModel)
        assert entry.payload.model_config["extra"] == "forbid"
        assert entry.description


def test_every_entry_is_admitted_by_the_taxonomy_for_each_declared_source():
    for entry in known_events().values():
        assert entry.name.split(".")[0] in FAMILIES
        assert all(may_emit(source, entry.name) for source in entry.sources)


def test_user_is_settled_as_a_family_and_a_category_of_gate_not_as_an_exception():
    assert "user" in FAMILIES
    categories = categories_by_domain()
    assert "user" in categories["gate"]
    assert not any("user" in categories[d] for d in categories if d != "gate")


def test_so_an_unregistered_user_event_from_gate_passes_as_the_map_says():
    event = new_event("user.profile.updated", "gate", {"user_id": "u1"}, uuid7(), now=NOW)

    assert validate(event, "raise") == Validated(event)


def test_and_a_user_event_from_another_domain_is_refused_by_the_map():
    event = emitted("user.onboarding.complete", source="link")

    with pytest.raises(EventRejected) as caught:
        validate(event, "raise")

    assert caught.value.rule is Rule.CATEGORY_NOT_ALLOWED


def test_an_entry_narrows_the_map_to_its_declared_sources():
    # crown may emit ai.* names, but only bolt announces a snapshot activation.
    event = emitted("ai.upm.snapshot.activated", source="crown")

    with pytest.raises(EventRejected) as caught:
        validate(event, "raise")

    assert caught.value.rule is Rule.SOURCE_NOT_REGISTERED


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"sources": frozenset({"block"})}, "does not let"),
        ({"sources": frozenset({"gate", "link"})}, "does not let"),
        ({"sources": frozenset({"Thunderline.Gate"})}, "not registered domains"),
        ({"sources": frozenset()}, "no sources"),
        ({"name": "User.Profile"}, "malformed"),
        ({"name": "billing.invoice.paid"}, "families"),
        ({"version": 0}, "version"),
        ({"reliability": "durable"}, "reliability"),
        ({"pipeline": "fast"}, "pipeline"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_an_entry_that_contradicts_the_taxonomy_cannot_be_registered(scratch_registry, changes, problem):
    with pytest.raises(EventError, match=problem) as caught:
        register_event(_entry(**changes))

    assert not isinstance(caught.value, EventRejected)
    assert known_event(_entry(**changes).name) is None


def test_a_second_different_entry_for_the_same_name_and_version_is_refused(scratch_registry):
    register_event(_entry())

    with pytest.raises(EventError, match="already registered"):
        register_event(_entry(reliability="persistent"))


def test_registering_the_same_entry_twice_is_harmless(scratch_registry):
    register_event(_entry())

    register_event(_entry())

    assert known_versions("user.profile.updated") == (1,)


def test_a_registered_entry_makes_its_payload_schema_binding(scratch_registry):
    register_event(_entry())

    good = new_event("user.profile.updated", "gate", {"text": "hello"}, uuid7(), now=NOW)
    bad = new_event("user.profile.updated", "gate", {"user_id": "u1"}, uuid7(), now=NOW)

    assert validate(good, "raise") == Validated(good)
    with pytest.raises(EventRejected) as caught:
        validate(bad, "raise")
    assert caught.value.rule is Rule.PAYLOAD_SCHEMA


def test_new_events_take_the_newest_version_and_older_versions_still_validate(scratch_registry):
    class _NoteV2(Payload):
        """Version 2 of the test payload."""

        text: str
        """Some text."""
        at: datetime
        """When."""

    register_event(_entry())
    register_event(_entry(version=2, payload=_NoteV2))

    newer = new_event("user.profile.updated", "gate", {"text": "x", "at": NOW}, uuid7(), now=NOW)
    older = newer.model_copy(update={"event_version": 1, "payload": {"text": "x"}})

    assert known_event("user.profile.updated").version == 2
    assert newer.event_version == 2
    assert validate(newer, "raise").event is newer
    assert validate(older, "raise").event is older


def test_an_unknown_name_has_no_entry():
    assert known_event("system.presence.joined") is None
    assert known_versions("system.presence.joined") == ()
    assert known_event("ml.run.completed", 7) is None
