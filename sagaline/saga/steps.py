"""Step behaviours: what a step does when the executor asks it to run,
compensate or undo.

Two kinds, one interface (:class:`StepBehaviour`):

* :class:`LocalStep` runs plain Python in whatever runs the saga (the saga
  actor, or the in-process driver). Subclass it and override ``run`` (and
  ``compensate``/``undo``/``backoff`` as needed), or wrap functions with
  :func:`local`.
* :class:`CommandStep` sends a command message to a domain actor (named by
  ``target``) and turns the asynchronous reply into an outcome. It holds
  only pure builder/parser functions: the shell does the sending.

The executor never calls a behaviour: it emits :class:`~sagaline.saga.signals.Invoke`
commands; the shell calls :meth:`StepBehaviour.invoke`, which either returns
an outcome at once (local) or a :class:`Send` (remote), and for a ``Send``
later feeds the reply through :meth:`StepBehaviour.interpret`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sagaline.messages.base import Command, Headers, Reply
from sagaline.messages.common import CommandFailed
from sagaline.saga.outcomes import Fail, Ok, Outcome, StepError, check_outcome

__all__ = [
    "StepContext",
    "Send",
    "StepBehaviour",
    "LocalStep",
    "FunctionStep",
    "CommandStep",
    "local",
    "reply_outcome",
]


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step callback may know about the invocation it serves.

    Attributes:
        run_id: the run's correlation id (UUID v7).
        saga: the saga's name.
        step: the step's name.
        kind: ``"run"``, ``"compensate"`` or ``"undo"``.
        attempt: 1-based attempt number of this kind of invocation.
        idempotency_key: the key of this invocation; a re-send after a
            timeout or a crash reuses it.
        run_key: the key of the step's latest ``run`` invocation: how an
            undo or compensation names the effect it reverses, even when the
            run's reply was never received.
        causation_id: what caused the run, when known.
        trace: W3C trace context (``traceparent``/``tracestate``) supplied by
            the shell; empty when not tracing.
    """

    run_id: str
    saga: str
    step: str
    kind: str
    attempt: int
    idempotency_key: str
    run_key: str
    causation_id: str | None = None
    trace: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> Headers:
        """Message headers for a command sent on behalf of this invocation."""
        return Headers(
            correlation_id=self.run_id,
            causation_id=self.causation_id,
            idempotency_key=self.idempotency_key,
            traceparent=self.trace.get("traceparent"),
            tracestate=self.trace.get("tracestate"),
        )


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``command`` to the domain actor named ``target``; the reply decides."""

    target: str
    command: Command


#: The callbacks of a :class:`FunctionStep` (the signatures of :class:`LocalStep`'s methods).
RunFn = Callable[[Mapping[str, Any], StepContext], Outcome]
UndoFn = Callable[[Any, Mapping[str, Any], StepContext], Outcome]
CompensateFn = Callable[[StepError, Mapping[str, Any], StepContext], Outcome]
BackoffFn = Callable[[Any, Mapping[str, Any], StepContext], float | None]


class StepBehaviour(Protocol):
    """The interface the executor's shell needs from every step."""

    @property
    def can_compensate(self) -> bool:
        """True when the step has a ``compensate`` worth invoking for a failure."""

    @property
    def can_undo(self) -> bool:
        """True when the step has an ``undo`` to run during rollback."""

    @property
    def can_interrupt(self) -> bool:
        """True when a run in flight can be asked to stop early (``interrupt``)."""

    def invoke(
        self, kind: str, args: Mapping[str, Any], value: Any, reason: StepError | None, ctx: StepContext
    ) -> Outcome | Send:
        """Perform (local) or describe (remote) one invocation of ``kind``."""

    def interpret(self, kind: str, reply: Any, args: Mapping[str, Any]) -> Outcome:
        """Turn a domain actor's reply to a :class:`Send` into an outcome."""

    def backoff(self, reason: Any, args: Mapping[str, Any], ctx: StepContext) -> float | None:
        """Seconds to wait before retry number ``ctx.attempt``; None: the default policy."""

    def describe(self) -> str:
        """A short label for plan renderings, e.g. ``local`` or ``gate``."""


class LocalStep:
    """A step that runs plain Python; subclass it and override the callbacks.

    ``run(args, ctx)`` is required. ``compensate(reason, args, ctx)``,
    ``undo(value, args, ctx)`` and ``backoff(reason, args, ctx)`` are
    optional: a subclass that does not override ``undo`` is never undone,
    one that does not override ``compensate`` accepts its failures as they
    are. An exception raised by a callback becomes
    ``Fail(StepError("exception", ...))``; it never escapes to the shell.
    """

    def run(self, args: Mapping[str, Any], ctx: StepContext) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def compensate(self, reason: StepError, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return Ok()

    def undo(self, value: Any, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return Ok()

    def backoff(self, reason: Any, args: Mapping[str, Any], ctx: StepContext) -> float | None:
        return None

    @property
    def can_compensate(self) -> bool:
        return type(self).compensate is not LocalStep.compensate

    @property
    def can_undo(self) -> bool:
        return type(self).undo is not LocalStep.undo

    @property
    def can_interrupt(self) -> bool:
        """False: a local step runs to its end inline; there is nothing in flight to interrupt."""
        return False

    def invoke(
        self, kind: str, args: Mapping[str, Any], value: Any, reason: StepError | None, ctx: StepContext
    ) -> Outcome | Send:
        try:
            if kind == "run":
                result = self.run(args, ctx)
            elif kind == "compensate":
                result = self.compensate(_reason(reason), args, ctx)
            else:
                result = self.undo(value, args, ctx)
        except Exception as exc:  # a step's bug is a step failure, never a crash
            return Fail(StepError("exception", f"{type(exc).__name__}: {exc}", details={"type": type(exc).__name__}))
        return check_outcome(kind, result)

    def interpret(self, kind: str, reply: Any, args: Mapping[str, Any]) -> Outcome:
        return Fail(StepError("unexpected_reply", f"local step got a reply {type(reply).__name__}"))

    def describe(self) -> str:
        return "local"


class FunctionStep(LocalStep):
    """A :class:`LocalStep` built from plain functions (see :func:`local`)."""

    def __init__(
        self,
        run: RunFn,
        undo: UndoFn | None = None,
        compensate: CompensateFn | None = None,
        backoff: BackoffFn | None = None,
    ) -> None:
        self._run, self._undo, self._compensate, self._backoff = run, undo, compensate, backoff

    def run(self, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return self._run(args, ctx)

    def undo(self, value: Any, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return self._undo(value, args, ctx) if self._undo else Ok()

    def compensate(self, reason: StepError, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return self._compensate(reason, args, ctx) if self._compensate else Ok()

    def backoff(self, reason: Any, args: Mapping[str, Any], ctx: StepContext) -> float | None:
        return self._backoff(reason, args, ctx) if self._backoff else None

    @property
    def can_compensate(self) -> bool:
        return self._compensate is not None

    @property
    def can_undo(self) -> bool:
        return self._undo is not None


def local(
    run: RunFn,
    *,
    undo: UndoFn | None = None,
    compensate: CompensateFn | None = None,
    backoff: BackoffFn | None = None,
) -> FunctionStep:
    """Make a local step from functions with the callback signatures of :class:`LocalStep`."""
    return FunctionStep(run, undo=undo, compensate=compensate, backoff=backoff)


def reply_outcome(reply: Any) -> Outcome:
    """The default reading of a domain reply.

    :class:`CommandFailed` becomes ``Fail`` (retryable when the reply says
    so); any other :class:`Reply` becomes ``Ok`` with its fields except the
    headers; anything else is an ``unexpected_reply`` failure.
    """
    if isinstance(reply, CommandFailed):
        return Fail(StepError(reply.code, reply.message, retryable=reply.retryable))
    if isinstance(reply, Reply):
        return Ok(reply.model_dump(mode="python", exclude={"headers"}))
    return Fail(StepError("unexpected_reply", f"not a reply: {type(reply).__name__}"))


@dataclass(frozen=True)
class CommandStep:
    """A step carried out by a domain actor through command messages.

    Attributes:
        target: the name of the domain actor (``"gate"``, ``"block"``, ...).
        build: ``(args, ctx) -> Command``: the run command.
        parse: ``(reply, args) -> Outcome`` for the run reply;
            :func:`reply_outcome` when omitted.
        build_undo: ``(value, args, ctx) -> Command`` reversing a completed
            run (``ctx.run_key`` names the effect); None: nothing to undo.
        build_compensate: ``(reason, args, ctx) -> Command | Outcome | None``
            for the failing step: a command to send, an outcome decided
            locally (e.g. ``Continue(None)`` for a step whose failure must
            not fail the saga), or None to accept the failure. When omitted
            and ``build_undo`` exists, an *indefinite* failure (a timeout:
            the effect may have happened) is compensated with the undo
            command built with ``value=None``; a definite failure needs nothing.
        failure_code: when set, a ``CommandFailed`` reply becomes a failure
            with this code (the saga's own vocabulary, e.g.
            ``vault_provisioning_failed``), the domain's code kept as
            ``details["cause"]``.
        backoff_fn: ``(reason, args, ctx) -> seconds | None``.
        build_interrupt: ``(args, ctx) -> Command`` telling the domain actor
            to cut short a run that is still in flight when the saga stops
            (a failure elsewhere, a cancel): e.g. cancel a long training
            wait, so draining does not wait for it to finish by itself. The
            run's own answer (likely a failure) still arrives and decides.
    """

    target: str
    build: Callable[[Mapping[str, Any], StepContext], Command]
    parse: Callable[[Any, Mapping[str, Any]], Outcome] | None = None
    build_undo: Callable[[Any, Mapping[str, Any], StepContext], Command] | None = None
    build_compensate: Callable[[StepError, Mapping[str, Any], StepContext], Command | Outcome | None] | None = None
    backoff_fn: Callable[[Any, Mapping[str, Any], StepContext], float | None] | None = None
    failure_code: str | None = None
    build_interrupt: Callable[[Mapping[str, Any], StepContext], Command] | None = None

    @property
    def can_interrupt(self) -> bool:
        return self.build_interrupt is not None

    @property
    def can_compensate(self) -> bool:
        return self.build_compensate is not None or self.build_undo is not None

    @property
    def can_undo(self) -> bool:
        return self.build_undo is not None

    def invoke(
        self, kind: str, args: Mapping[str, Any], value: Any, reason: StepError | None, ctx: StepContext
    ) -> Outcome | Send:
        try:
            if kind == "run":
                return Send(self.target, self.build(args, ctx))
            if kind == "undo" and self.build_undo is not None:
                return Send(self.target, self.build_undo(value, args, ctx))
            if kind == "interrupt" and self.build_interrupt is not None:
                return Send(self.target, self.build_interrupt(args, ctx))
            if kind != "compensate":
                raise ValueError(f"this step has no {kind}")
            action = self._compensation(reason, args, ctx)
        except Exception as exc:
            return Fail(StepError("exception", f"building {kind} command: {type(exc).__name__}: {exc}"))
        if action is None:
            return Ok()
        if isinstance(action, Command):
            return Send(self.target, action)
        return check_outcome("compensate", action)

    def _compensation(
        self, reason: StepError | None, args: Mapping[str, Any], ctx: StepContext
    ) -> Command | Outcome | None:
        if self.build_compensate is not None:
            return self.build_compensate(_reason(reason), args, ctx)
        if reason is not None and reason.indefinite and self.build_undo is not None:
            return self.build_undo(None, args, ctx)
        return None

    def interpret(self, kind: str, reply: Any, args: Mapping[str, Any]) -> Outcome:
        if kind == "run" and isinstance(reply, CommandFailed) and self.failure_code:
            return Fail(
                StepError(self.failure_code, reply.message, retryable=reply.retryable, details={"cause": reply.code})
            )
        if kind == "run" and self.parse is not None:
            try:
                return check_outcome("run", self.parse(reply, args))
            except Exception as exc:
                return Fail(StepError("exception", f"parsing reply: {type(exc).__name__}: {exc}"))
        outcome = reply_outcome(reply)
        if kind != "run" and isinstance(outcome, Ok):
            return Ok()
        return outcome

    def backoff(self, reason: Any, args: Mapping[str, Any], ctx: StepContext) -> float | None:
        return self.backoff_fn(reason, args, ctx) if self.backoff_fn else None

    def describe(self) -> str:
        return self.target


def _reason(reason: StepError | None) -> StepError:
    """The failure a compensation answers: the executor compensates only a step that failed, so it always
    passes one; a call without one is refused (inside ``invoke``: a failed invocation, not a crash)."""
    if reason is None:
        raise ValueError("a compensation needs the failure it answers")
    return reason
