"""The event bus: validation modes, drops, storage, subscriptions, tail."""

from __future__ import annotations

import pytest

from sagaline.domains.flow import FlowConfig, FlowService, InvalidPattern, Pattern
from sagaline.events import new_event
from sagaline.events.flow import EventPublished, EventsPage, PublishEvent, TailEvents
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.storage.flow_store import FlowStore

ONBOARDED = {"user_id": "u1", "email": "ada@example.org", "vault_id": "v1"}


def onboarding(clock, correlation_id=None, source="gate"):
    return new_event("user.onboarding.complete", source, ONBOARDED, correlation_id or uuid7(), now=clock.now)


def activation(clock):
    return new_event(
        "ai.upm.snapshot.activated",
        "bolt",
        {"snapshot_id": "s1", "activated_at": clock.now, "adapter_count": 2},
        uuid7(),
        now=clock.now,
    )


def publish(run, flow, event, key="pub-1"):
    headers = Headers(correlation_id=event.correlation_id, idempotency_key=key)
    return run(flow.publish(PublishEvent(headers=headers, event=event)))


def tail(run, flow, **kw):
    return run(flow.handle(TailEvents(**kw))).events


def test_a_valid_persistent_event_is_stored_and_routed(run, flow, clock):
    event = onboarding(clock)
    out = publish(run, flow, event)
    assert isinstance(out.reply, EventPublished)
    assert (out.reply.event_id, out.reply.accepted, out.reply.stored, out.reply.pipeline) == (
        event.id,
        True,
        True,
        "cross_domain",
    )
    assert out.event == event and tail(run, flow) == [event]
    assert run(flow.store.rows_per_key()) == {"events": {"pub-1": 1}}


def test_a_republished_event_is_answered_from_the_ledger_stored_once_and_not_redelivered(run, flow, clock):
    flow.subscribe("bob", "user.#")
    event = onboarding(clock)
    first = publish(run, flow, event)
    again = publish(run, flow, event)
    assert again.reply == first.reply and len(first.deliveries) == 1 and again.deliveries == ()
    assert run(flow.store.count()) == 1


def test_a_publish_without_a_key_is_deduplicated_by_event_id(run, flow, clock):
    event = onboarding(clock)
    command = PublishEvent(headers=Headers(correlation_id=event.correlation_id), event=event)
    first = run(flow.handle(command))
    assert run(flow.handle(command)) == first and run(flow.store.count()) == 1


def test_a_transient_event_is_not_stored_but_tail_shows_it_from_the_ring(run, flow, clock):
    event = activation(clock)
    out = publish(run, flow, event)
    assert (out.reply.accepted, out.reply.stored, out.reply.pipeline) == (True, False, "realtime")
    assert run(flow.store.count()) == 0
    assert tail(run, flow) == [event]


def test_in_drop_mode_a_broken_event_is_counted_and_its_audit_event_stored(run, flow, clock):
    bad = onboarding(clock, source="block")  # block may not announce user events
    out = publish(run, flow, bad)
    assert isinstance(out.reply, EventPublished) and not out.reply.accepted
    assert "category_not_allowed" in out.reply.reason
    assert out.event.name == "audit.event_drop" and out.event.causation_id == bad.id
    assert out.reply.event_id == out.event.id and out.reply.stored
    assert flow.drop_counts() == {"category_not_allowed": 1}
    assert [e.name for e in tail(run, flow)] == ["audit.event_drop"]


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_no_mode_fails_the_publisher(run, tmp_path, clock, mode):
    store = run(FlowStore.open(tmp_path / f"{mode}.db"))
    try:
        flow = FlowService(store, clock, FlowConfig(mode=mode))
        out = publish(run, flow, onboarding(clock, source="block"))
        assert isinstance(out.reply, EventPublished)
        if mode == "raise":
            assert not out.reply.accepted and out.event.name == "audit.event_drop"
            assert flow.drops.total == 1
        else:  # warn: logged, passed on as is
            assert out.reply.accepted and out.event.name == "user.onboarding.complete"
            assert flow.drops.total == 0
    finally:
        run(store.close())


@pytest.mark.parametrize(
    "pattern, name, matches",
    [
        ("user.onboarding.complete", "user.onboarding.complete", True),
        ("user.onboarding.complete", "user.onboarding.completed", False),
        ("user.*.complete", "user.onboarding.complete", True),
        ("user.*", "user.onboarding.complete", False),
        ("user.#", "user.onboarding.complete", True),
        ("user.onboarding.#", "user.onboarding", True),
        ("user.#", "users.onboarding", False),
        ("#", "ai.upm.snapshot.activated", True),
        ("*.*.#", "ml.run", True),
        ("*.*.*", "ml.run", False),
    ],
)
def test_patterns_match_exact_star_one_segment_and_trailing_hash_the_rest(pattern, name, matches):
    assert Pattern.parse(pattern).matches(name) is matches


@pytest.mark.parametrize("pattern", ["", "user..x", "#.user", "user.#.x", "User.x", "us*r.x"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(InvalidPattern):
        Pattern.parse(pattern)


def test_each_subscriber_gets_an_event_once_for_its_first_matching_pattern(run, flow, clock):
    flow.subscribe("ann", "user.#")
    flow.subscribe("ann", "user.onboarding.complete")
    flow.subscribe("bob", "user.*.complete")
    flow.subscribe("cid", "ml.#")
    out = publish(run, flow, onboarding(clock))
    assert [(d.subscriber, d.pattern) for d in out.deliveries] == [("ann", "user.#"), ("bob", "user.*.complete")]
    assert out.reply.delivered == 2


def test_subscribing_twice_is_one_subscription_and_unsubscribe_removes_by_pattern_or_all(flow):
    flow.subscribe("ann", "user.#")
    flow.subscribe("ann", "user.#")
    flow.subscribe("ann", "ml.#")
    flow.subscribe("bob", "ml.#")
    assert flow.unsubscribe("ann", "ml.#") == 1
    assert flow.subscriptions() == [("ann", "user.#"), ("bob", "ml.#")]
    assert flow.unsubscribe("ann") == 1 and flow.subscriptions() == [("bob", "ml.#")]


def test_tail_filters_by_prefix_and_run_keeps_the_newest_and_lists_oldest_first(run, flow, clock):
    run_id = uuid7()
    events = []
    for i in range(4):
        clock.advance(1)
        events.append(onboarding(clock, run_id if i % 2 else None))
        publish(run, flow, events[-1], key=f"k{i}")
    clock.advance(1)
    publish(run, flow, activation(clock), key="k-ai")
    assert tail(run, flow, limit=2, name_prefix="user.") == events[2:]
    assert tail(run, flow, correlation_id=run_id) == [events[1], events[3]]
    assert [e.name for e in tail(run, flow, limit=1)] == ["ai.upm.snapshot.activated"]
    assert tail(run, flow, limit=0) == []


def test_a_full_store_answers_publish_with_a_retryable_failure_and_delivers_nothing(run, flow, clock, store_location):
    if store_location.backend != "sqlite":
        pytest.skip("fills the disk with SQLite's max_page_count; PostgreSQL has no per-database cap to set")
    flow.subscribe("ann", "#")
    pages = run(flow.store.db.fetchone("PRAGMA page_count"))[0]
    run(flow.store.db.fetchall(f"PRAGMA max_page_count = {pages}"))
    big = new_event(
        "user.onboarding.complete",
        "gate",
        {**ONBOARDED, "email": "a@b.co"},
        uuid7(),
        now=clock.now,
        meta={"note": "x" * 60_000},
    )
    out = publish(run, flow, big)
    assert isinstance(out.reply, CommandFailed)
    assert (out.reply.code, out.reply.retryable, out.deliveries) == ("storage_unavailable", True, ())


def test_the_page_is_an_events_page(run, flow):
    assert isinstance(run(flow.handle(TailEvents())), EventsPage)


def test_stored_events_survive_closing_and_reopening_the_store(run, tmp_path, clock):
    store = run(FlowStore.open(tmp_path / "durable.db"))
    event = onboarding(clock)
    publish(run, FlowService(store, clock), event)
    run(store.close())
    store = run(FlowStore.open(tmp_path / "durable.db"))
    try:
        assert tail(run, FlowService(store, clock)) == [event]
    finally:
        run(store.close())
