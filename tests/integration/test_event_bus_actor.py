"""The flow actor: subscribers get matching events; bad requests get errors, never a crash."""

from sagaline.events import new_event
from sagaline.events.flow import (
    EventPublished,
    EventsPage,
    EventsSubscribed,
    FlowError,
    PublishEvent,
    SubscribeEvents,
    TailEvents,
)
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from tests.support.tree import events, start_probe, wait_until


def _flow(t):
    return t.handle.ask(t.tree.registry, Lookup(key="domain:flow"), 5).entries[0].holder


def test_a_malformed_pattern_is_answered_with_an_error_and_the_bus_keeps_serving(make_tree):
    t = make_tree()
    flow = _flow(t)
    assert isinstance(t.handle.ask(flow, SubscribeEvents(pattern="..bad.."), 5), FlowError)
    probe = start_probe(t.handle)
    assert isinstance(t.handle.ask(flow, SubscribeEvents(pattern="user.#", subscriber=probe), 5), EventsSubscribed)
    cid = uuid7()
    event = new_event("user.onboarding.complete", "gate", {"user_id": "u", "email": "a@b.c", "vault_id": "v"}, cid)
    reply = t.handle.ask(flow, PublishEvent(headers=Headers(correlation_id=cid, idempotency_key="e1"), event=event), 5)
    assert isinstance(reply, EventPublished) and reply.accepted and reply.stored and reply.delivered == 1
    assert wait_until(lambda: events(t.handle, probe, "event")) == [("user.onboarding.complete", "user.#")]
    page = t.handle.ask(flow, TailEvents(limit=5), 5)
    assert isinstance(page, EventsPage) and [e.id for e in page.events] == [event.id]
