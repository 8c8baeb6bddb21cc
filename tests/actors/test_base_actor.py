"""The base actor's OTP crash semantics, dispatch and start protocol, on both bases."""

import pytest

from sagaline.actors.spawn import ActorStartFailed, start_actor
from sagaline.messages.supervision import InitActor, Unrecognized
from tests.support.actors import ProbeCrash, ProbePing, ProbePong
from tests.support.tree import WORKER, events, start_probe, wait_until

pytestmark = pytest.mark.timeout(60)


def test_a_crashing_handler_runs_once_and_the_parent_gets_the_error(actor_system):
    h = actor_system
    probe = start_probe(h)
    target = start_actor(h, WORKER, {"probe": probe, "label": "w"}, parent=probe, child_id="w")
    h.tell(target, ProbeCrash())
    wait_until(lambda: ("w", "error") in events(h, probe, "notice"))
    assert events(h, probe, "crashing") == [("w", None)]  # no redelivery
    assert events(h, probe, "stopped") == [("w", "error")]


def test_an_unknown_message_gets_an_unrecognized_reply(actor_system):
    h = actor_system
    target = start_actor(h, WORKER, {"label": "w"})
    reply = h.ask(target, "hello")
    assert isinstance(reply, Unrecognized) and reply.message_type == "str" and reply.actor == "Worker"
    assert isinstance(h.ask(target, ProbePing()), ProbePong)


def test_a_second_init_is_not_obeyed(actor_system):
    h = actor_system
    target = start_actor(h, WORKER, {"label": "w"})
    assert isinstance(h.ask(target, InitActor(args={"label": "other"})), Unrecognized)
    assert h.ask(target, ProbePing()).label == "w"


def test_a_failing_on_start_answers_init_failed(actor_system):
    with pytest.raises(ActorStartFailed) as caught:
        start_actor(actor_system, WORKER, {"label": "w", "fail_start": True})
    assert caught.value.reason.error_type == "RuntimeError"


def test_messages_sent_before_init_are_handled_after_it(actor_system):
    h = actor_system
    target = h.create_actor(WORKER)
    h.tell(target, ProbePing())  # arrives first: held (its reply goes to a closed endpoint)
    h.ask(target, InitActor(args={"label": "late"}))
    assert h.ask(target, ProbePing()).label == "late"
