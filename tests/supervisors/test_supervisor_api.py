"""The supervisor API as messages: start/terminate/restart/delete/which/count children."""

import pytest

from sagaline.messages.admin import AdminHealth
from sagaline.messages.supervision import Unrecognized
from sagaline.supervisors.api import (
    ChildCounts,
    ChildDeleted,
    ChildStarted,
    ChildTerminated,
    CountChildren,
    DeleteChild,
    RestartChild,
    StartChild,
    SupervisorError,
    TerminateChild,
)
from sagaline.supervisors.spec import child_spec
from tests.support.actors import ProbeCrash
from tests.support.tree import children, kill, running_address, start_probe, start_supervisor, wait_until, worker

pytestmark = pytest.mark.timeout(60)


def test_start_child_adds_a_child_and_refuses_a_duplicate_id(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("a", probe)])
    started = h.ask(sup, StartChild(spec=worker("b", probe)))
    assert isinstance(started, ChildStarted) and started.child_id == "b"
    again = h.ask(sup, StartChild(spec=worker("b", probe)))
    assert isinstance(again, SupervisorError) and again.code == "already_started"
    assert again.address == started.address
    assert list(children(h, sup)) == ["a", "b"]


def test_a_start_child_that_fails_leaves_no_spec(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [])
    failed = h.ask(sup, StartChild(spec=worker("bad", probe, fail_start=True)))
    assert isinstance(failed, SupervisorError) and failed.code == "start_failed"
    assert "refuses to start" in failed.detail
    missing = h.ask(sup, StartChild(spec=child_spec("ghost", "tests.support.no_such_module.Nope")))
    assert missing.code == "start_failed" and "ImportError" in missing.detail
    assert children(h, sup) == {}


def test_terminate_keeps_the_spec_then_restart_and_delete(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("a", probe)])
    assert isinstance(h.ask(sup, TerminateChild(child_id="a")), ChildTerminated)
    assert children(h, sup)["a"].status == "undefined"
    assert h.ask(sup, DeleteChild(child_id="missing")).code == "not_found"
    restarted = h.ask(sup, RestartChild(child_id="a"))
    assert isinstance(restarted, ChildStarted)
    assert h.ask(sup, RestartChild(child_id="a")).code == "running"
    assert h.ask(sup, DeleteChild(child_id="a")).code == "running"
    h.ask(sup, TerminateChild(child_id="a"))
    assert isinstance(h.ask(sup, DeleteChild(child_id="a")), ChildDeleted)
    assert children(h, sup) == {}


def test_terminating_a_temporary_child_drops_its_spec(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("t", probe, restart="temporary")])
    h.ask(sup, TerminateChild(child_id="t"))
    assert children(h, sup) == {}


def test_count_and_which_children_report_types_and_restarts(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("a", probe), worker("b", probe)])
    h.tell(running_address(h, sup, "a"), ProbeCrash())
    wait_until(lambda: children(h, sup)["a"].restarts == 1 and running_address(h, sup, "a"))
    counts = h.ask(sup, CountChildren())
    assert counts == ChildCounts(specs=2, active=2, supervisors=0, workers=2)


def test_which_children_says_why_each_childs_last_incarnation_ended(actor_system):
    h = actor_system
    probe = start_probe(h)
    sup = start_supervisor(h, [worker("a", probe), worker("b", probe), worker("c", probe)])
    assert {child.last_exit for child in children(h, sup).values()} == {None}
    h.tell(running_address(h, sup, "a"), ProbeCrash())
    kill(h, running_address(h, sup, "b"))
    wait_until(lambda: all(children(h, sup)[c].restarts >= 1 and running_address(h, sup, c) for c in "ab"), timeout=30)
    rows = children(h, sup)
    assert rows["a"].last_exit.startswith("error: ") and rows["b"].last_exit == "killed"
    assert rows["c"].last_exit is None


def test_a_supervisor_answers_an_unknown_message_with_unrecognized(actor_system):
    h = actor_system
    sup = start_supervisor(h, [])
    # A message its process can decode (sagaline.messages) but no handler takes; a class from a module
    # the supervisor's process never imported (tests.support) is refused by the transport's allow-list.
    reply = h.ask(sup, AdminHealth())
    assert isinstance(reply, Unrecognized) and reply.message_type == "AdminHealth"
