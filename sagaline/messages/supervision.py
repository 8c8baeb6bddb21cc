"""PURE. Messages of the actor lifecycle, and exit reasons.

Lifecycle (every :class:`~sagaline.actors.base.BaseActor`)::

    parent --InitActor--> child         first message; the child answers
    child  --Started----> parent          ... Started (it runs) or
    child  --InitFailed-> parent          ... InitFailed (it exits at once)
    parent --Stop-------> child         graceful stop request
    child  --ExitNotice-> parent        sent just before any exit, with the reason
    (Thespian) ChildActorExited -> parent   after the process ended; with no
                                            ExitNotice first, the reason is ``killed``

The supervisor API (StartChild, WhichChildren, ...) is in
:mod:`sagaline.supervisors.api`, beside the child specs it carries. Any actor
answers a message it has no handler for with :class:`Unrecognized` (never in
reply to an ``Unrecognized``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sagaline.messages.base import ActorRef, Message

__all__ = [
    "ExitReason",
    "InitActor",
    "Started",
    "InitFailed",
    "Stop",
    "ExitNotice",
    "Unrecognized",
]

#: How an actor ended: the OTP exit reasons ``normal``, ``shutdown`` (bare or ``{shutdown, Term}``), an
#: exception (``error``), or ``killed`` (its process vanished without a word).
ExitKind = Literal["normal", "shutdown", "error", "killed"]
#: The plain data an OTP ``{shutdown, Term}`` exit carries (msgpack-encodable).
Term = str | int | float | bool | list[Any] | dict[str, Any]


class ExitReason(Message):
    """Why an actor ended (OTP exit reason).

    OTP's ``{shutdown, Term}`` is ``ExitReason(kind="shutdown", term=Term)``: like a bare ``shutdown`` it is
    not an error (a transient child is not restarted, a supervisor does not log it as a crash), and the term
    tells the parent why. Only ``shutdown`` carries a term: OTP reads ``{normal, X}`` as an abnormal exit,
    so such a reason is an ``error`` here.
    """

    kind: ExitKind
    """normal | shutdown | error (an exception) | killed (the process vanished without a word)."""
    error_type: str | None = None
    """For ``error``: the exception's class name."""
    detail: str | None = None
    """For ``error``: the exception's message (or what failed to start)."""
    term: Term | None = None
    """For ``shutdown``: the term of a ``{shutdown, Term}`` exit; None for a bare ``shutdown``."""

    @model_validator(mode="after")
    def _term_only_with_shutdown(self) -> ExitReason:
        if self.term is not None and self.kind != "shutdown":
            raise ValueError(f"only a shutdown exit carries a term (kind is {self.kind!r})")
        return self

    def describe(self) -> str:
        """One line: ``killed``, ``shutdown``, ``shutdown: 'rebalanced'``, ``error: ValueError: boom``."""
        if self.kind == "shutdown" and self.term is not None:
            return f"shutdown: {self.term!r}"
        if self.kind != "error":
            return str(self.kind)
        return ": ".join(part for part in ("error", self.error_type, self.detail) if part)


class InitActor(Message):
    """First message to every base actor: who it is and where it belongs."""

    args: dict[str, Any] = Field(default_factory=dict)
    """Plain data for the actor's ``on_start`` (from its child spec)."""
    child_id: str | None = None
    """Its id under its supervisor, if supervised."""
    parent: ActorRef = None
    """The actor that gets its ExitNotice (None: nobody)."""
    parent_pid: int | None = None
    """OS pid of the parent; a process whose parent pid differs exits at once (orphan)."""
    registry: ActorRef = None
    """The registry actor, handed down the tree (None: no registry)."""
    lineage: tuple[ActorRef, ...] = ()
    """Addresses of its ancestors, root first; registry entries die with any of them."""
    name: str | None = None
    """Registry key to take before ``on_start`` runs (start fails with already_started if taken)."""
    replaces: ActorRef = None
    """Previous incarnation's address: its registration of ``name`` may be taken over."""


class Started(Message):
    """Reply to InitActor: the actor runs."""

    child_id: str | None
    """The id given in InitActor."""
    pid: int
    """OS pid of the actor's process (the caller's own pid on simpleSystemBase)."""


class InitFailed(Message):
    """Reply to InitActor: the actor could not start and exits now."""

    child_id: str | None
    """The id given in InitActor."""
    reason: ExitReason
    """What failed (``error_type`` ``already_started`` when the name was taken)."""
    holder: ActorRef = None
    """For already_started: the address holding the name."""


class Stop(Message):
    """Ask an actor to stop gracefully (it runs its shutdown, then exits)."""

    reason: ExitKind = "shutdown"
    """The exit reason the actor reports."""
    term: Term | None = None
    """With ``reason`` shutdown: the term of the ``{shutdown, Term}`` exit the actor reports."""

    def exit_reason(self) -> ExitReason:
        """The :class:`ExitReason` the stopped actor reports (refused if a term goes with another kind)."""
        return ExitReason(kind=self.reason, term=self.term)


class ExitNotice(Message):
    """Sent by an actor to its parent right before it exits."""

    child_id: str | None
    """The id given in InitActor."""
    reason: ExitReason
    """Why it exits."""


class Unrecognized(Message):
    """Reply to a message the receiving actor has no handler for."""

    message_type: str
    """Class name of the message that was not understood."""
    actor: str
    """Class name of the actor that did not understand it."""
