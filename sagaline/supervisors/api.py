"""PURE. The supervisor API: one message class per request and per reply (OTP's ``supervisor`` calls).

Request -> reply: StartChild -> ChildStarted | SupervisorError; TerminateChild / TerminateChildAt ->
ChildTerminated | SupervisorError; RestartChild -> ChildStarted | SupervisorError; DeleteChild ->
ChildDeleted | SupervisorError; WhichChildren -> Children; CountChildren -> ChildCounts.

These live beside the child specs they carry, above :mod:`sagaline.messages` (which holds the actor
lifecycle every actor speaks: InitActor, Stop, ExitNotice, ...).
"""

from __future__ import annotations

from typing import Literal

from sagaline.messages.base import ActorRef, Message
from sagaline.supervisors.spec import ChildSpec

__all__ = [
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

    code: Literal[
        "already_started",
        "already_present",
        "not_found",
        "running",
        "restarting",
        "start_failed",
        "max_children",
        "shutting_down",
    ]
    """What went wrong (OTP's error atoms)."""
    child_id: str | None = None
    """The child concerned."""
    address: ActorRef = None
    """For already_started: the address of the running child (or the name's holder)."""
    detail: str | None = None
    """For start_failed: why the start failed."""
