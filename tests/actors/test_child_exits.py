"""Which ChildActorExited notices are repeats (pure rule, and the base actor using it)."""

from thespian.actors import ActorAddress, ChildActorExited

from sagaline.actors.base import BaseActor
from sagaline.actors.child_exits import RecentExits
from sagaline.messages.supervision import ExitReason, Started


def test_the_second_notice_of_one_exit_is_a_repeat():
    exits = RecentExits(window_s=2.0)
    assert exits.first_notice("a", now=10.0) is True
    assert exits.first_notice("a", now=10.5) is False
    assert exits.first_notice("b", now=10.5) is True  # another child's exit is its own


def test_an_exit_after_the_window_is_new():
    exits = RecentExits(window_s=2.0)
    assert exits.first_notice("a", now=10.0)
    assert exits.first_notice("a", now=12.0) is True
    assert len(exits) == 1  # the expired one was forgotten


def test_a_child_heard_from_at_a_reused_address_is_a_new_incarnation():
    exits = RecentExits(window_s=2.0)
    assert exits.first_notice("port-45069", now=10.0)
    exits.heard_from("port-45069")  # the restarted child answered Started from the same port
    assert exits.first_notice("port-45069", now=10.03) is True
    assert exits.first_notice("port-45069", now=10.04) is False  # ... and its own repeat is still one


def test_hearing_from_another_address_changes_nothing():
    exits = RecentExits()
    assert exits.first_notice("a", now=1.0)
    exits.heard_from("b")
    assert exits.first_notice("a", now=1.1) is False


class _Parent(BaseActor):
    """A bare base actor (no actor system): records the child exits it acts on."""

    def __init__(self) -> None:
        super().__init__()
        self.exits: list[tuple[object, str]] = []

    def on_child_exit(self, address, reason: ExitReason) -> None:
        self.exits.append((address, reason.kind))


def test_the_base_actor_acts_on_a_new_child_at_a_dead_childs_port():
    """The supervision benchmark hung when a restarted worker got its predecessor's port."""
    parent = _Parent()
    port = ActorAddress("127.0.0.1:45069")
    parent.receiveMessage(ChildActorExited(port), None)
    parent.receiveMessage(ChildActorExited(port), None)  # Thespian's second notice: dropped
    assert parent.exits == [(port, "killed")]
    parent.receiveMessage(Started(child_id="w", pid=1234), port)  # the successor, same port
    parent.receiveMessage(ChildActorExited(port), None)
    assert parent.exits == [(port, "killed"), (port, "killed")]
