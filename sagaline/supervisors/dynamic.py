"""The dynamic supervisor actor: Elixir ``DynamicSupervisor`` semantics.

Starts empty; :class:`StartChild` adds and starts one child (one_for_one
only, no order); ``max_children`` caps them; on a Stop (or when restart
intensity is exceeded) every child is stopped concurrently and the
supervisor exits with reason shutdown. Children started in parallel do not
wait for each other.

**Start under a name.** A spec with ``name`` makes the child register that
key in the registry *before* its ``on_start`` runs (the registry serialises
keys, so this is atomic). If the key is held, the new child exits at once
and the caller gets ``SupervisorError(code="already_started",
address=<holder>)``: never a second actor under one name. Names this
supervisor already started are answered from its own table without
creating a process; a caller asking for a name whose child is still
starting waits for that start's outcome.

**Extending it** (e.g. a saga supervisor with a warm pool of pre-started
actors): override the small hooks rather than the handlers:

* :meth:`DynamicSupervisor.admit` -- decide on a StartChild (default:
  shutting_down / name already ours / max_children checks);
* :meth:`DynamicSupervisor.launch` -- turn an admitted spec into a running
  child (default: :meth:`add_child` + :meth:`spawn`); a pool would hand out
  an idle child here and answer with :meth:`answer_started`;
* :meth:`DynamicSupervisor.on_restart_decision` -- after a child died;
* plus :class:`~sagaline.supervisors.children.ChildKeeper`'s ``make_init``.

Telemetry: ``SUPERVISOR_RESTART`` per restart (metadata: supervisor, child =
the spec id, child_id, reason, error_type) and ``SUPERVISOR_ESCALATE`` when
restart intensity is exceeded.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sagaline.messages.supervision import ExitReason
from sagaline.supervisors.api import (
    ChildInfo,
    Children,
    ChildStarted,
    ChildTerminated,
    CountChildren,
    StartChild,
    SupervisorError,
    TerminateChild,
    TerminateChildAt,
    WhichChildren,
)
from sagaline.supervisors.children import Child, ChildKeeper, count_children, start_failure
from sagaline.supervisors.spec import ChildSpec
from sagaline.supervisors.strategy import Intensity, should_restart
from sagaline.supervisors.supervisor_args import DynamicSupervisorArgs
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["DynamicSupervisor"]

_log = logging.getLogger("sagaline.supervisors")


class DynamicSupervisor(ChildKeeper):
    """A supervisor of unordered, individually started children."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.flags = DynamicSupervisorArgs.parse(args).flags
        self.start_timeout_s = self.flags.start_timeout_ms / 1000.0
        self.children: dict[str, Child] = {}
        self.names: dict[str, str] = {}  # registry key -> child id
        self.starters: dict[str, list[Any]] = {}  # child id -> callers awaiting its first start
        self.stoppers: dict[str, list[Any]] = {}  # child id -> callers awaiting its termination
        self.intensity = Intensity(self.flags.max_restarts, self.flags.max_seconds)
        self.stopping: ExitReason | None = None
        self._serial = 0

    # ----- hooks for subclasses -----------------------------------------------------

    def admit(self, spec: ChildSpec, sender: Any) -> bool:
        """Answer a StartChild that cannot proceed and return False; True to go on."""
        if self.stopping is not None:
            self.send(sender, SupervisorError(code="shutting_down", child_id=spec.id))
            return False
        if spec.name is not None and spec.name in self.names:
            self._await_name(self.children[self.names[spec.name]], sender)
            return False
        if self.flags.max_children is not None and len(self.children) >= self.flags.max_children:
            self.send(sender, SupervisorError(code="max_children", child_id=spec.id))
            return False
        return True

    def launch(self, spec: ChildSpec, sender: Any) -> None:
        """Start an admitted child; ``sender`` is answered when it is up or failed."""
        child = self.add_child(spec)
        self.starters[child.id] = [sender]
        self.spawn(child)

    def on_restart_decision(self, child: Child, reason: ExitReason) -> None:
        """``child`` died by itself: restart it, forget it, or give up (intensity)."""
        if not should_restart(child.spec.restart, reason.kind):
            self.forget(child)
            return
        self.intensity, tripped = self.intensity.record(time.monotonic())
        about = {
            "supervisor": self.child_id,
            "child": child.spec.id,
            "child_id": child.id,
            "reason": reason.kind,
            "error_type": reason.error_type,
            "strategy": "one_for_one",
        }
        if tripped:
            _log.warning("dynamic supervisor %s: restart intensity exceeded; giving up", self.child_id)
            telemetry.execute(tn.SUPERVISOR_ESCALATE, {"count": 1}, about)
            self.shut_down(ExitReason(kind="shutdown"))
            return
        telemetry.execute(tn.SUPERVISOR_RESTART, {"count": 1}, {**about, "restarted": [child.id]})
        child.restarts += 1
        self.spawn(child)

    # ----- building blocks ------------------------------------------------------------

    def add_child(self, spec: ChildSpec) -> Child:
        """Record a new child for ``spec`` under a fresh id (``<spec.id>-<n>``)."""
        self._serial += 1
        child = Child(f"{spec.id}-{self._serial}", spec)
        self.children[child.id] = child
        if spec.name is not None:
            self.names[spec.name] = child.id
        return child

    def forget(self, child: Child) -> None:
        """Drop ``child``'s record (and its name), then finish a pending shutdown."""
        self.children.pop(child.id, None)
        if child.spec.name is not None and self.names.get(child.spec.name) == child.id:
            del self.names[child.spec.name]
        self._finish_if_stopped()

    def answer_started(self, child: Child) -> None:
        """Tell everyone awaiting ``child``'s start: the first gets ChildStarted,
        later callers for the same name get already_started."""
        callers = self.starters.pop(child.id, [])
        for index, caller in enumerate(callers):
            if caller is None:
                continue  # placeholder: nobody asked for this (re)start itself
            if index == 0:
                self.send(caller, ChildStarted(child_id=child.id, address=child.address))
            else:
                self.send(caller, SupervisorError(code="already_started", child_id=child.id, address=child.address))

    def shut_down(self, reason: ExitReason) -> None:
        """Stop every child concurrently, then exit with ``reason``."""
        if self.stopping is not None:
            return
        self.stopping = reason
        for child in list(self.children.values()):
            self._fail_starters(child, SupervisorError(code="shutting_down", child_id=child.id))
            if child.alive:
                self.terminate(child)
            else:
                self.forget(child)
        self._finish_if_stopped()

    # ----- ChildKeeper hooks ----------------------------------------------------------

    def find_child(self, child_id: str) -> Child | None:
        return self.children.get(child_id)

    def all_children(self) -> list[Child]:
        return list(self.children.values())

    def child_up(self, child: Child) -> None:
        self.answer_started(child)

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        if self.stopping is not None:
            self.forget(child)
        elif self.starters.get(child.id, [None])[0] is not None:
            code = "already_started" if reason.error_type == "already_started" else "start_failed"
            self._fail_starters(
                child, SupervisorError(code=code, child_id=child.id, address=holder, detail=start_failure(reason))
            )
            self.forget(child)
        elif reason.error_type == "already_started":
            self.forget(child)  # its name was taken while it was down: it lost the name
        else:
            self.on_restart_decision(child, reason)

    def child_stopped(self, child: Child) -> None:
        for caller in self.stoppers.pop(child.id, []):
            self.send(caller, ChildTerminated(child_id=child.id))
        self.forget(child)

    def child_died(self, child: Child, reason: ExitReason) -> None:
        if self.stopping is not None:
            self.forget(child)
        else:
            self.on_restart_decision(child, reason)

    def on_stop_request(self, reason: ExitReason) -> None:
        self.shut_down(reason)

    # ----- API ------------------------------------------------------------------------

    def receive_StartChild(self, message: StartChild, sender: Any) -> None:
        if self.admit(message.spec, sender):
            self.launch(message.spec, sender)

    def receive_TerminateChildAt(self, message: TerminateChildAt, sender: Any) -> None:
        self._terminate(self._child_at(message.address), sender, None)

    def receive_TerminateChild(self, message: TerminateChild, sender: Any) -> None:
        self._terminate(self.children.get(message.child_id), sender, message.child_id)

    def receive_WhichChildren(self, message: WhichChildren, sender: Any) -> None:
        rows = tuple(
            ChildInfo(
                id=c.id,
                address=c.address if c.state == "running" else None,
                status="running" if c.state == "running" else ("restarting" if c.state == "starting" else "undefined"),
                type=c.spec.type,
                restarts=c.restarts,
                name=c.spec.name,
                pid=c.pid if c.state == "running" else None,
                last_exit=c.last_exit,
            )
            for c in self.children.values()
        )
        self.send(sender, Children(children=rows))

    def receive_CountChildren(self, message: CountChildren, sender: Any) -> None:
        self.send(sender, count_children(list(self.children.values())))

    # ----- internals ------------------------------------------------------------------

    def _terminate(self, child: Child | None, sender: Any, child_id: str | None) -> None:
        if child is None:
            self.send(sender, SupervisorError(code="not_found", child_id=child_id))
            return
        if not child.alive:
            self.forget(child)
            self.send(sender, ChildTerminated(child_id=child.id))
            return
        self.stoppers.setdefault(child.id, []).append(sender)
        self.terminate(child)

    def _await_name(self, child: Child, sender: Any) -> None:
        if child.state == "running":
            self.send(sender, SupervisorError(code="already_started", child_id=child.id, address=child.address))
        else:  # restarting: the caller learns the outcome, as a second asker
            self.starters.setdefault(child.id, [None]).append(sender)

    def _fail_starters(self, child: Child, error: SupervisorError) -> None:
        for caller in self.starters.pop(child.id, []):
            if caller is not None:
                self.send(caller, error)

    def _finish_if_stopped(self) -> None:
        if self.stopping is not None and not any(c.alive for c in self.children.values()):
            self.exit_with(self.stopping)
