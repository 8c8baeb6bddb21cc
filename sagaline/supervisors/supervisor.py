"""The (static) supervisor actor: OTP ``supervisor`` semantics.

Init ``args``: :class:`~sagaline.supervisors.supervisor_args.SupervisorArgs` (flags and
children; build them with :func:`~sagaline.supervisors.spec.supervisor_spec`).
It answers Started only once every child has started, in list order; if a
child fails to start, the ones already started are terminated in reverse
order and the supervisor answers InitFailed naming the child
(``error_type`` ``failed_to_start_child``).

Everything the supervisor does is a queue of steps run one at a time
(start, restart, terminate, drop, call): a step that waits for a child
(starting or stopping it) holds the queue until the child answers or
exits. Child exits that arrive meanwhile wait their turn; API requests
that change children wait until the queue is empty; which_children and
count_children are answered at once. Decisions come from
:func:`~sagaline.supervisors.strategy.on_exit`. When restart intensity is
exceeded, or on a Stop, every child is terminated in reverse start order
and the supervisor exits with reason shutdown.

Telemetry: ``SUPERVISOR_RESTART`` for each restart decision (metadata:
supervisor, child that exited, reason, error_type, strategy, restarted ids;
measurement ``count``) and ``SUPERVISOR_ESCALATE`` when it gives up.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from sagaline.actors.base import DEFER_START
from sagaline.messages.supervision import ExitReason
from sagaline.supervisors.api import (
    ChildDeleted,
    ChildInfo,
    Children,
    ChildStarted,
    ChildTerminated,
    CountChildren,
    DeleteChild,
    RestartChild,
    StartChild,
    SupervisorError,
    TerminateChild,
    WhichChildren,
)
from sagaline.supervisors.children import Child, ChildKeeper, count_children, start_failure
from sagaline.supervisors.spec import check_unique_ids
from sagaline.supervisors.strategy import ChildView, Intensity, on_exit
from sagaline.supervisors.supervisor_args import SupervisorArgs
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["Supervisor"]

_log = logging.getLogger("sagaline.supervisors")


class Supervisor(ChildKeeper):
    """A supervisor with ordered children and one_for_one / one_for_all / rest_for_one."""

    #: The model of its args (a subclass with more args names its own, a subclass of this one).
    ARGS: ClassVar[type[SupervisorArgs]] = SupervisorArgs

    def on_start(self, args: dict[str, Any]) -> Any:
        cfg = self.ARGS.parse(args)
        self.flags = cfg.flags
        self.start_timeout_s = self.flags.start_timeout_ms / 1000.0
        specs = list(cfg.children)
        check_unique_ids(specs)
        self.children = [Child(spec.id, spec) for spec in specs]
        self.intensity = Intensity(self.flags.max_restarts, self.flags.max_seconds)
        self.steps: deque[tuple[str, Any, Callable | None]] = deque()
        self.exits: deque[tuple[str, int, ExitReason]] = deque()
        self.requests: deque[tuple[Any, Any]] = deque()
        self.waiting: str | None = None
        self.phase = "starting"  # starting -> running -> stopping
        self._advancing = False
        for child in self.children:
            self.steps.append(("start", child.id, self._initial_start_failed))
        self.steps.append(("call", self._initial_start_done, None))
        self._advance()
        return DEFER_START

    # ----- ChildKeeper hooks ------------------------------------------------------------

    def find_child(self, child_id: str) -> Child | None:
        return next((c for c in self.children if c.id == child_id), None)

    def all_children(self) -> list[Child]:
        return self.children

    def child_up(self, child: Child) -> None:
        self._step_done(child)

    def child_stopped(self, child: Child) -> None:
        self._step_done(child)

    def child_start_failed(self, child: Child, reason: ExitReason, holder: Any) -> None:
        if self.waiting == child.id:
            on_fail = self._current_on_fail
            self.waiting, self._current_on_fail = None, None
            if on_fail is not None:
                on_fail(child, reason)
        self._advance()

    def child_died(self, child: Child, reason: ExitReason) -> None:
        if self.phase != "stopping":
            self.exits.append((child.id, child.incarnation, reason))
        self._step_done(child)

    def on_stop_request(self, reason: ExitReason) -> None:
        self._give_up(reason)

    # ----- the step queue ---------------------------------------------------------------

    def _advance(self) -> None:
        if self._advancing:
            return
        self._advancing = True
        try:
            while self.waiting is None and not self._exiting:
                if self.steps:
                    self._run_step(*self.steps.popleft())
                elif self.exits and self.phase == "running":
                    self._decide(*self.exits.popleft())
                elif self.requests and self.phase == "running":
                    message, sender = self.requests.popleft()
                    getattr(self, f"receive_{type(message).__name__}")(message, sender)
                else:
                    break
        finally:
            self._advancing = False

    def _run_step(self, kind: str, arg: Any, on_fail: Callable | None) -> None:
        if kind == "call":
            arg()
            return
        child = self.find_child(arg)
        if child is None:
            return
        if kind == "drop":
            self.children.remove(child)
        elif kind in ("start", "restart") and not child.alive:
            self.waiting, self._current_on_fail = child.id, on_fail or self._restart_failed
            child.restarts += kind == "restart"
            self.spawn(child)
        elif kind == "terminate" and child.alive:
            self.waiting, self._current_on_fail = child.id, None
            self.terminate(child)

    _current_on_fail: Callable | None = None

    def _step_done(self, child: Child, advance: bool = True) -> None:
        if self.waiting == child.id:
            self.waiting, self._current_on_fail = None, None
        if advance:
            self._advance()

    # ----- decisions --------------------------------------------------------------------

    def _decide(self, child_id: str, incarnation: int, reason: ExitReason) -> None:
        child = self.find_child(child_id)
        if child is None or child.incarnation != incarnation or child.alive:
            return  # stale: the child was restarted or dropped since
        views = [ChildView(c.id, c.spec.restart, c.alive) for c in self.children]
        decision, self.intensity = on_exit(
            self.flags.strategy, views, child_id, reason.kind, self.intensity, time.monotonic()
        )
        about = {
            "supervisor": self.child_id,
            "child": child_id,
            "reason": reason.kind,
            "error_type": reason.error_type,
            "strategy": self.flags.strategy,
        }
        if decision.escalate:
            _log.warning("supervisor %s: restart intensity exceeded; giving up", self.child_id)
            telemetry.execute(tn.SUPERVISOR_ESCALATE, {"count": 1}, about)
            self._give_up(ExitReason(kind="shutdown"))
            return
        if decision.restart:
            telemetry.execute(
                tn.SUPERVISOR_RESTART, {"count": len(decision.restart)}, {**about, "restarted": list(decision.restart)}
            )
        self.steps.extend(("terminate", i, None) for i in decision.terminate)
        self.steps.extend(("drop", i, None) for i in decision.drop)
        self.steps.extend(("restart", i, None) for i in decision.restart)

    def _restart_failed(self, child: Child, reason: ExitReason) -> None:
        self.exits.append((child.id, child.incarnation, reason))

    def _give_up(self, reason: ExitReason) -> None:
        if self.phase == "stopping":
            return
        self.phase = "stopping"
        self.steps.clear()
        self.exits.clear()
        self.steps.extend(("terminate", c.id, None) for c in reversed(self.children) if c.alive)
        self.steps.append(("call", lambda: self._finish(reason), None))
        self._advance()

    def _finish(self, reason: ExitReason) -> None:
        for message, sender in self.requests:
            self.send(sender, SupervisorError(code="shutting_down", detail=type(message).__name__))
        self.requests.clear()
        self.exit_with(reason)

    # ----- start phase ------------------------------------------------------------------

    def _initial_start_done(self) -> None:
        self.phase = "running"
        self.confirm_start()

    def _initial_start_failed(self, child: Child, reason: ExitReason) -> None:
        self.phase = "stopping"
        self.steps.clear()
        self.steps.extend(("terminate", c.id, None) for c in reversed(self.children) if c.alive)
        detail = f"{child.id}: {reason.error_type or reason.kind}: {reason.detail or ''}"
        failure = ExitReason(kind="error", error_type="failed_to_start_child", detail=detail)
        self.steps.append(("call", lambda: self.fail_start(failure), None))

    # ----- API --------------------------------------------------------------------------

    def _defer(self, message: Any, sender: Any) -> bool:
        """Hold a request that changes children until the step queue is empty."""
        if self.phase == "stopping":
            self.send(sender, SupervisorError(code="shutting_down"))
            return True
        if self.phase != "running" or self._busy():
            self.requests.append((message, sender))
            return True
        return False

    def _busy(self) -> bool:
        return bool(self.waiting is not None or self.steps or self.exits)

    def receive_StartChild(self, message: StartChild, sender: Any) -> None:
        if self._defer(message, sender):
            return
        spec, existing = message.spec, self.find_child(message.spec.id)
        if existing is not None:
            code = "already_started" if existing.state == "running" else "already_present"
            self.send(sender, SupervisorError(code=code, child_id=spec.id, address=existing.address))
            return
        child = Child(spec.id, spec)
        self.children.append(child)

        def failed(child: Child, reason: ExitReason) -> None:
            self.children.remove(child)
            self.steps.clear()
            self.send(sender, SupervisorError(code="start_failed", child_id=child.id, detail=start_failure(reason)))

        self._start_and_answer(child, sender, failed)

    def _start_and_answer(self, child: Child, sender: Any, failed: Any) -> None:
        """Queue ``child``'s start, then ChildStarted to ``sender`` (``failed`` runs instead on failure)."""
        self.steps.append(("start", child.id, failed))
        self.steps.append(
            ("call", lambda: self.send(sender, ChildStarted(child_id=child.id, address=child.address)), None)
        )
        self._advance()

    def receive_TerminateChild(self, message: TerminateChild, sender: Any) -> None:
        if self._defer(message, sender):
            return
        child = self.find_child(message.child_id)
        if child is None:
            self.send(sender, SupervisorError(code="not_found", child_id=message.child_id))
            return

        def done() -> None:
            if child.spec.restart == "temporary" and child in self.children:
                self.children.remove(child)
            self.send(sender, ChildTerminated(child_id=child.id))

        self.steps.append(("terminate", child.id, None))
        self.steps.append(("call", done, None))
        self._advance()

    def receive_RestartChild(self, message: RestartChild, sender: Any) -> None:
        if self._defer(message, sender):
            return
        child = self.find_child(message.child_id)
        if child is None or child.alive:
            code = "not_found" if child is None else ("running" if child.state == "running" else "restarting")
            self.send(sender, SupervisorError(code=code, child_id=message.child_id))
            return

        def failed(child: Child, reason: ExitReason) -> None:
            self.steps.clear()
            self.send(sender, SupervisorError(code="start_failed", child_id=child.id, detail=start_failure(reason)))

        self._start_and_answer(child, sender, failed)

    def receive_DeleteChild(self, message: DeleteChild, sender: Any) -> None:
        if self._defer(message, sender):
            return
        child = self.find_child(message.child_id)
        if child is None or child.alive:
            code = "not_found" if child is None else "running"
            self.send(sender, SupervisorError(code=code, child_id=message.child_id))
            return
        self.children.remove(child)
        self.send(sender, ChildDeleted(child_id=child.id))

    def receive_WhichChildren(self, message: WhichChildren, sender: Any) -> None:
        self.send(sender, Children(children=tuple(self._info(c) for c in self.children)))

    def receive_CountChildren(self, message: CountChildren, sender: Any) -> None:
        self.send(sender, count_children(self.children))

    def _info(self, child: Child) -> ChildInfo:
        pending = any(kind == "restart" and arg == child.id for kind, arg, _ in self.steps)
        status = (
            "running"
            if child.state == "running"
            else (
                "restarting"
                if child.state == "starting" or pending or any(e[0] == child.id for e in self.exits)
                else "undefined"
            )
        )
        return ChildInfo(
            id=child.id,
            address=child.address if status == "running" else None,
            status=status,
            type=child.spec.type,
            restarts=child.restarts,
            name=child.spec.name,
            pid=child.pid if status == "running" else None,
            last_exit=child.last_exit,
        )
