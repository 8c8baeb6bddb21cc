"""Start a base actor from outside the actor system (tests, daemon, CLI).

Errors::

    SagalineError
    +-- ActorStartFailed     the actor answered InitFailed (reason, holder)
    (AskTimeout from sagaline.runtime when it never answered)
"""

from __future__ import annotations

from typing import Any

from sagaline.errors import SagalineError
from sagaline.messages.supervision import ExitReason, InitActor, InitFailed, Started

__all__ = ["start_actor", "start_actor_with_pid", "ActorStartFailed"]


class ActorStartFailed(SagalineError):
    """A top-level actor could not start (raised by :func:`start_actor`).

    Attributes:
        reason: The :class:`ExitReason` it reported.
        holder: For ``already_started``: who holds the name.
    """

    def __init__(self, reason: ExitReason, holder: Any = None) -> None:
        super().__init__(f"{reason.error_type or reason.kind}: {reason.detail or ''}".strip())
        self.reason = reason
        self.holder = holder


def start_actor(
    handle: Any,
    actor_class: Any,
    args: dict[str, Any] | None = None,
    *,
    parent: Any = None,
    registry: Any = None,
    name: str | None = None,
    child_id: str | None = None,
    timeout: float = 10.0,
) -> Any:
    """Create a top-level actor, send it its InitActor, wait for Started.

    Args:
        handle: An :class:`~sagaline.runtime.ActorSystemHandle`.
        actor_class: The actor class or its dotted path.
        args: Plain data for its ``on_start``.
        parent: Who gets its ExitNotice (an actor address), if anyone.
        registry: The registry address to hand down.
        name: Registry key to register under before it starts.
        child_id: Id reported in its notices.
        timeout: Seconds to wait for Started.

    Returns:
        The actor's address.

    Raises:
        ActorStartFailed: It answered InitFailed.
        AskTimeout: It did not answer in time.
    """
    return start_actor_with_pid(
        handle, actor_class, args, parent=parent, registry=registry, name=name, child_id=child_id, timeout=timeout
    )[0]


def start_actor_with_pid(
    handle: Any,
    actor_class: Any,
    args: dict[str, Any] | None = None,
    *,
    parent: Any = None,
    registry: Any = None,
    name: str | None = None,
    child_id: str | None = None,
    timeout: float = 10.0,
) -> tuple[Any, int | None]:
    """As :func:`start_actor`, returning ``(address, pid)`` (the pid its Started reported)."""
    address = handle.create_actor(actor_class)
    init = InitActor(args=dict(args or {}), parent=parent, registry=registry, name=name, child_id=child_id)
    reply = handle.ask(address, init, timeout)
    if isinstance(reply, Started):
        return address, reply.pid
    if isinstance(reply, InitFailed):
        raise ActorStartFailed(reply.reason, reply.holder)
    raise ActorStartFailed(ExitReason(kind="error", error_type="unexpected_reply", detail=repr(reply)[:500]))
