"""Supervisor conformance (semantics page, "Supervisor"), on both system bases
through the one parametrised ``actor_system`` fixture; grouped by strategy and
by how the child exited."""

import pytest

from sagaline.actors.spawn import ActorStartFailed, start_actor
from sagaline.messages.supervision import Stop
from tests.support.actors import ProbeCrash, ProbeExit
from tests.support.tree import (
    SUPERVISOR,
    children,
    events,
    kill,
    running_address,
    start_probe,
    start_supervisor,
    wait_until,
    worker,
)

pytestmark = pytest.mark.timeout(60)


def make_exit(handle, address, kind):
    """Make the child at ``address`` end with ``kind``."""
    if kind == "error":
        handle.tell(address, ProbeCrash())
    elif kind == "killed":
        kill(handle, address)
    else:
        handle.tell(address, ProbeExit(kind=kind))


def settled(handle, sup, child_id):
    """The child's row once its exit was handled: running again, or not at all."""
    row = children(handle, sup).get(child_id)
    if row is None or row.status == "undefined" or (row.status == "running" and row.restarts):
        return row or "gone"
    return None


class TestOneForOne:
    @pytest.mark.parametrize("kind", ["normal", "shutdown", "error", "killed"])
    @pytest.mark.parametrize("restart", ["permanent", "transient", "temporary"])
    def test_restart_type_against_exit_reason(self, actor_system, restart, kind):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker("a", probe), worker("b", probe, restart=restart)])
        first = running_address(h, sup, "b")
        first_incarnation = (first, children(h, sup)["b"].pid)
        make_exit(h, first, kind)
        row = wait_until(lambda: settled(h, sup, "b"))
        restarted = restart == "permanent" or (restart == "transient" and kind in ("error", "killed"))
        if restarted:
            # (address, pid): in-process the pid stays, on multiprocTCPBase a new child may get the old port
            assert row.status == "running" and row.restarts == 1 and (row.address, row.pid) != first_incarnation
        elif restart == "temporary":
            assert row == "gone"  # a temporary child's spec goes with it
        else:
            assert row.status == "undefined" and row.address is None
        assert children(h, sup)["a"].restarts == 0  # the sibling was left alone

    def test_the_fourth_restart_in_the_window_escalates_and_the_parent_sees_shutdown(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker("a", probe), worker("b", probe)], parent=probe)
        for restarts in range(1, 4):
            h.tell(running_address(h, sup, "b"), ProbeCrash())
            wait_until(
                lambda restarts=restarts: children(h, sup)["b"].restarts == restarts and running_address(h, sup, "b")
            )
        h.tell(running_address(h, sup, "b"), ProbeCrash())
        wait_until(lambda: ("top", "shutdown") in events(h, probe, "notice"))
        assert events(h, probe, "stopped")[-1] == ("a", "shutdown")  # a terminated on the way out

    def test_a_transient_child_ending_with_shutdown_and_a_term_is_not_restarted(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker("a", probe), worker("b", probe, restart="transient")])
        h.tell(running_address(h, sup, "b"), ProbeExit(kind="shutdown", term="rebalanced"))
        row = wait_until(lambda: settled(h, sup, "b"))
        assert row.status == "undefined" and row.restarts == 0
        assert row.last_exit == "shutdown: 'rebalanced'"  # {shutdown, rebalanced}: the term reaches the parent


class TestFlags:
    def test_a_supervisor_given_an_unknown_strategy_refuses_to_start_naming_the_field(self, actor_system):
        flags = {"strategy": "one_for_none", "max_restarts": 3, "max_seconds": 5.0}
        with pytest.raises(ActorStartFailed) as caught:
            start_actor(actor_system, SUPERVISOR, {"flags": flags, "children": []}, child_id="top")
        assert caught.value.reason.error_type == "BadArgs"
        assert caught.value.reason.detail.startswith("bad SupervisorArgs: flags.strategy:")


class TestOneForAll:
    @pytest.mark.parametrize("kind", ["error", "killed"])
    def test_siblings_stop_in_reverse_order_and_all_restart_in_start_order(self, actor_system, kind):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker(i, probe) for i in "abc"], strategy="one_for_all")
        make_exit(h, running_address(h, sup, "b"), kind)
        wait_until(lambda: all(r.restarts == 1 and r.status == "running" for r in children(h, sup).values()))
        seen = events(h, probe)[3:]
        stopped = [label for k, label, _ in seen if k == "stopped" and label != "b"]
        assert stopped == ["c", "a"]
        assert [label for k, label, _ in seen if k == "started"] == ["a", "b", "c"]

    def test_a_temporary_sibling_is_not_restarted_by_a_crash(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(
            h, [worker("a", probe), worker("t", probe, restart="temporary"), worker("c", probe)], strategy="one_for_all"
        )
        h.tell(running_address(h, sup, "a"), ProbeCrash())
        wait_until(
            lambda: (
                children(h, sup).keys() == {"a", "c"}
                and all(r.restarts == 1 and r.status == "running" for r in children(h, sup).values())
            )
        )
        assert ("t", "shutdown") in events(h, probe, "stopped")


class TestRestForOne:
    def test_the_dead_child_and_those_after_it_restart(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker(i, probe) for i in "abc"], strategy="rest_for_one")
        h.tell(running_address(h, sup, "b"), ProbeCrash())
        wait_until(lambda: children(h, sup)["c"].restarts == 1 and running_address(h, sup, "c"))
        rows = children(h, sup)
        assert (rows["a"].restarts, rows["b"].restarts) == (0, 1)
        seen = events(h, probe)[3:]
        assert [label for k, label, _ in seen if k == "started"] == ["b", "c"]

    def test_a_temporary_child_after_the_dead_one_is_dropped(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(
            h,
            [worker("a", probe), worker("b", probe), worker("t", probe, restart="temporary")],
            strategy="rest_for_one",
        )
        h.tell(running_address(h, sup, "b"), ProbeCrash())
        wait_until(
            lambda: (
                list(children(h, sup)) == ["a", "b"]
                and children(h, sup)["b"].restarts == 1
                and running_address(h, sup, "b")
            )
        )


class TestStartAndStop:
    def test_children_stop_in_reverse_start_order(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(h, [worker(i, probe) for i in "abc"], parent=probe)
        h.tell(sup, Stop())
        wait_until(lambda: ("top", "shutdown") in events(h, probe, "notice"))
        assert events(h, probe, "stopped") == [("c", "shutdown"), ("b", "shutdown"), ("a", "shutdown")]

    def test_a_start_failure_unwinds_the_started_children_and_names_the_child(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        with pytest.raises(ActorStartFailed) as caught:
            start_supervisor(
                h, [worker("a", probe), worker("b", probe), worker("bad", probe, fail_start=True), worker("c", probe)]
            )
        assert caught.value.reason.error_type == "failed_to_start_child"
        assert caught.value.reason.detail.startswith("bad:")
        assert events(h, probe) == [
            ("started", "a", None),
            ("started", "b", None),
            ("stopped", "b", "shutdown"),
            ("stopped", "a", "shutdown"),
        ]

    def test_a_child_that_ignores_stop_is_killed_after_its_shutdown_timeout(self, actor_system):
        h = actor_system
        probe = start_probe(h)
        sup = start_supervisor(
            h, [worker("a", probe), worker("stuck", probe, ignore_stop=True, shutdown=200)], parent=probe
        )
        h.tell(sup, Stop())
        wait_until(lambda: ("top", "shutdown") in events(h, probe, "notice"))
        assert events(h, probe, "stopped")[-1] == ("a", "shutdown")
