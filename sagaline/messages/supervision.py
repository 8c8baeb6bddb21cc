"""PURE. Messages of the actor lifecycle and of the supervisor API.

Lifecycle (every :class:`~sagaline.actors.base.BaseActor`)::

    parent --InitActor--> child         first message; the child answers
    child  --Started----> parent          ... Started (it runs) or
    child  --InitFailed-> parent          ... InitFailed (it exits at once)
    parent --Stop-------> child         graceful stop request
    child  --ExitNotice-> parent        sent just before any exit, with the reason
    (Thespian) ChildActorExited -> parent   after the process ended; with no
                                            ExitNotice first, the reason is ``killed``

Supervisor API (request -> reply): StartChild -> ChildStarted |
SupervisorError; TerminateChild / TerminateChildAt -> ChildTerminated |
SupervisorError; RestartChild -> ChildStarted | SupervisorError;
DeleteChild -> ChildDeleted | SupervisorError; WhichChildren -> Children;
CountChildren -> ChildCounts. Any actor answers a message it has no handler
for with :class:`Unrecognized` (never in reply to an ``Unrecognized``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import ActorRef, Message
from sagaline.supervisors.spec import ChildSpec

__all__ = [
    "ExitReason",
    "InitActor",
    "Started",
    "InitFailed",
    "Stop",
    "ExitNotice",
    "Unrecognized",
    "StartChild",
    "TerminateChild",
    "TerminateChildAt",
    "RestartChild",
    "DeleteChild",
    "WhichChildren",
    "CountChildren",
    "ChildStarted",
    "ChildTerminated",
    "ChildDeleted",
    "ChildInfo",
    "Children",
    "ChildCounts",
    "SupervisorError",
]

ExitKind = Literal["normal", "shutdown", "error", "killed"]


class ExitReason(Message):
    """Why an actor ended (OTP exit reason)."""

    kind: ExitKind
    """normal | shutdown | error (an exception) | killed (the process vanished without a word)."""
    error_type: str | None = None
    """For ``error``: the exception's class name."""
    detail: str | None = None
    """For ``error``: the exception's message (or what failed to start)."""

    def describe(self) -> str:
        """One line: ``killed``, ``shutdown``, ``error: ValueError: boom``."""
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


class StartChild(Message):
    """Add a child and start it (dynamic supervisors also start it under ``spec.name``)."""

    spec: ChildSpec
    """The child's spec."""


class TerminateChild(Message):
    """Stop the child with this id; its spec is kept (except a temporary child's)."""

    child_id: str
    """Id of the child to stop."""


class TerminateChildAt(Message):
    """Dynamic supervisors: stop the child at this address and forget it."""

    address: ActorRef
    """Address of the child to stop."""


class RestartChild(Message):
    """Start again a stopped child whose spec is kept."""

    child_id: str
    """Id of the child to restart."""


class DeleteChild(Message):
    """Forget the spec of a stopped child."""

    child_id: str
    """Id of the child to forget."""


class WhichChildren(Message):
    """Ask for every child with its address, status and restart count."""


class CountChildren(Message):
    """Ask for child counts."""


class ChildStarted(Message):
    """A child was started (reply to StartChild and RestartChild)."""

    child_id: str
    """Its id."""
    address: ActorRef
    """Its address."""


class ChildTerminated(Message):
    """A child was stopped (reply to TerminateChild and TerminateChildAt)."""

    child_id: str
    """Its id."""


class ChildDeleted(Message):
    """A child's spec was forgotten (reply to DeleteChild)."""

    child_id: str
    """Its id."""


class ChildInfo(Message):
    """One row of WhichChildren."""

    id: str
    """The child's id."""
    address: ActorRef = None
    """Its address while it runs, else None."""
    status: Literal["running", "restarting", "undefined"]
    """running; restarting (being started again); undefined (not running)."""
    type: Literal["worker", "supervisor"]
    """Its type."""
    restarts: int
    """How many times the supervisor restarted it."""
    pid: int | None = None
    """Its OS pid while it runs (the supervisor's own pid on simpleSystemBase)."""
    name: str | None = None
    """Its registry key, if any."""
    last_exit: str | None = None
    """Why its last incarnation ended (:meth:`ExitReason.describe`), if it ever ended."""


class Children(Message):
    """Reply to WhichChildren, in start order (dynamic: in no particular order)."""

    children: tuple[ChildInfo, ...]
    """One row per child spec."""


class ChildCounts(Message):
    """Reply to CountChildren (as Elixir's count_children)."""

    specs: int
    """Child specs held."""
    active: int
    """Children running now."""
    supervisors: int
    """Specs of type supervisor."""
    workers: int
    """Specs of type worker."""


class SupervisorError(Message):
    """A supervisor API request failed; nothing changed unless said."""

    code: Literal["already_started", "already_present", "not_found", "running", "restarting",
                  "start_failed", "max_children", "shutting_down"]
    """What went wrong (OTP's error atoms)."""
    child_id: str | None = None
    """The child concerned."""
    address: ActorRef = None
    """For already_started: the address of the running child (or the name's holder)."""
    detail: str | None = None
    """For start_failed: why the start failed."""
