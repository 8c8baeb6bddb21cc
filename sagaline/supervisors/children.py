"""The child-handling shell shared by both supervisors.

:class:`Child` is the run-time record of one child (its spec stays
immutable data); :class:`ChildKeeper` is a base actor that starts, stops
and kills children and turns their replies and exits into four hooks:
``child_up``, ``child_start_failed``, ``child_stopped`` (an exit the
supervisor asked for) and ``child_died`` (any other exit). Deciding what to
do about them is left to the subclass (and to :mod:`.strategy`).

Starting: the class path is imported here first (a bad path fails at once,
naming the child, instead of Thespian silently losing the create); the
child gets an :class:`InitActor` and has ``start_timeout_ms`` to answer.
Stopping follows the spec's shutdown: ``brutal_kill`` kills the process at
once (SIGKILL; in-process bases: an ``ActorExitRequest``); a timeout sends
:class:`Stop` and kills when it runs out; ``infinity`` sends Stop and waits.
"""

from __future__ import annotations

import importlib
import os
import signal
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorExitRequest

from sagaline.actors.base import BaseActor
from sagaline.messages.supervision import ExitReason, InitActor, InitFailed, Started, Stop
from sagaline.supervisors.api import ChildCounts
from sagaline.supervisors.spec import ChildSpec, shutdown_ms

__all__ = ["Child", "ChildKeeper", "resolve_actor_class", "count_children", "start_failure"]

_classes: dict[str, type] = {}


def resolve_actor_class(path: str) -> type:
    """Import and return the actor class at dotted ``path`` (cached).

    Raises:
        ImportError: The module or the class does not exist.
    """
    if path not in _classes:
        module_name, _, class_name = path.rpartition(".")
        module = importlib.import_module(module_name)
        try:
            _classes[path] = getattr(module, class_name)
        except AttributeError as exc:
            raise ImportError(f"{module_name} has no attribute {class_name}") from exc
    return _classes[path]


@dataclass
class Child:
    """Run-time state of one child.

    Attributes:
        id: Its id (unique in the supervisor).
        spec: Its spec.
        state: stopped | starting | running | stopping.
        address: Its address while starting/running/stopping.
        pid: Its OS pid once started.
        incarnation: How many times it was started (stale events carry an old one).
        restarts: How many of those starts were restarts.
        previous: Address of its last incarnation (lets its name be taken over).
        last_exit: Why its last incarnation ended (shown by the tree), if it ever ended.
    """

    id: str
    spec: ChildSpec
    state: str = "stopped"
    address: Any = None
    pid: int | None = None
    incarnation: int = 0
    restarts: int = 0
    previous: Any = None
    last_exit: str | None = None

    @property
    def alive(self) -> bool:
        """True unless stopped."""
        return self.state != "stopped"


class ChildKeeper(BaseActor):
    """Base actor that starts, stops and kills :class:`Child` records."""

    start_timeout_s: float = 10.0

    # ----- hooks ----------------------------------------------------------------------

    def find_child(self, child_id: str) -> Child | None:
        """Return the child with ``child_id``, or None."""
        raise NotImplementedError

    def all_children(self) -> list[Child]:
        """Every child record."""
        raise NotImplementedError

    def child_up(self, child: Child) -> None:
        """``child`` answered Started."""

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        """``child`` did not start (InitFailed, exit before Started, import error, timeout)."""

    def child_stopped(self, child: Child) -> None:
        """``child`` ended after this supervisor asked it to."""

    def child_died(self, child: Child, reason: ExitReason) -> None:
        """``child`` ended by itself (or was killed from outside)."""

    def make_init(self, child: Child) -> InitActor:
        """The InitActor sent to a newly created ``child`` (override to add fields)."""
        return self.child_init(child.spec.args, child_id=child.id, name=child.spec.name, replaces=child.previous)

    # ----- actions --------------------------------------------------------------------

    def spawn(self, child: Child) -> None:
        """Create ``child``'s actor and send its InitActor; the outcome comes as a hook.

        Does nothing once this actor is exiting: Thespian is stopping its
        children, and a child created now would outlive the shutdown.
        """
        if self._exiting:
            return
        child.incarnation += 1
        child.state = "starting"
        try:
            actor_class = resolve_actor_class(child.spec.start)
        except ImportError as exc:
            self._start_failed(child, ExitReason(kind="error", error_type="ImportError", detail=str(exc)))
            return
        child.address = self.createActor(actor_class)
        self.send(child.address, self.make_init(child))
        self.timers.start(f"start:{child.id}", self.start_timeout_s, child.incarnation)

    def terminate(self, child: Child) -> None:
        """Stop ``child`` as its spec's shutdown says; ``child_stopped`` follows."""
        if not child.alive:
            return
        mode = shutdown_ms(child.spec)
        child.state = "stopping"
        if mode == "brutal_kill":
            self.kill(child)
            return
        self.send(child.address, Stop())
        if mode is not None:
            self.timers.start(f"kill:{child.id}", mode / 1000.0, child.incarnation)

    def kill(self, child: Child) -> None:
        """Kill ``child`` at once: SIGKILL its process, or ActorExitRequest in-process."""
        if child.pid is not None and child.pid != os.getpid():
            try:
                os.kill(child.pid, signal.SIGKILL)
                return
            except ProcessLookupError:
                return  # already gone; its ChildActorExited is on the way
        if child.address is not None:
            self.send(child.address, ActorExitRequest())

    # ----- events ---------------------------------------------------------------------

    def receive_Started(self, message: Started, sender: Any) -> None:
        child = self.find_child(message.child_id or "")
        if child is None or child.state != "starting":
            return  # a late answer from an incarnation given up on
        self.timers.cancel(f"start:{child.id}")
        child.address, child.pid, child.state = sender, message.pid, "running"
        self.child_up(child)

    def receive_InitFailed(self, message: InitFailed, sender: Any) -> None:
        child = self.find_child(message.child_id or "")
        if child is not None and child.state == "starting":
            self._start_failed(child, message.reason, message.holder)

    def on_child_exit(self, address: Any, reason: ExitReason) -> None:
        child = self._child_at(address)
        if child is None:
            return
        was = child.state
        child.last_exit = reason.describe()
        self._mark_stopped(child)
        if was == "starting":
            self.child_start_failed(child, reason, None)
        elif was == "stopping":
            self.child_stopped(child)
        else:
            self.child_died(child, reason)

    def on_timer(self, name: str, data: Any) -> None:
        kind, _, child_id = name.partition(":")
        child = self.find_child(child_id)
        if child is None or child.incarnation != data:
            return
        if kind == "start" and child.state == "starting":
            self.kill(child)
            self._start_failed(
                child,
                ExitReason(kind="error", error_type="start_timeout", detail=f"no answer in {self.start_timeout_s} s"),
            )
        elif kind == "kill" and child.state == "stopping":
            self.kill(child)

    def _start_failed(self, child: Child, reason: ExitReason, holder: Any = None) -> None:
        child.last_exit = reason.describe()
        self._mark_stopped(child)
        self.child_start_failed(child, reason, holder)

    def _mark_stopped(self, child: Child) -> None:
        self.timers.cancel(f"start:{child.id}")
        self.timers.cancel(f"kill:{child.id}")
        if child.pid is not None:  # it ran: its real address may hold a name
            child.previous = child.address
        child.state, child.address, child.pid = "stopped", None, None

    def _child_at(self, address: Any) -> Child | None:
        for child in self.all_children():
            if child.address is not None and child.address == address:
                return child
        return None


def start_failure(reason: ExitReason) -> str:
    """What a SupervisorError's ``detail`` says of a child that failed to start: ``ValueError: boom``."""
    return f"{reason.error_type or reason.kind}: {reason.detail or ''}".strip()


def count_children(children: list[Child]) -> ChildCounts:
    """The answer to CountChildren for these children (as Elixir's count_children)."""
    return ChildCounts(
        specs=len(children),
        active=sum(c.state == "running" for c in children),
        supervisors=sum(c.spec.type == "supervisor" for c in children),
        workers=sum(c.spec.type == "worker" for c in children),
    )
