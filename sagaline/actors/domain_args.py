"""What a domain actor is started with: :class:`DomainArgs` (and the event bus's :class:`FlowArgs`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagaline.actors.actor_args import ActorArgs
from sagaline.domains.faults import FaultRule
from sagaline.storage.sqlite import SqliteOptions

__all__ = ["DomainArgs", "FlowArgs"]


class DomainArgs(ActorArgs):
    """A domain actor's args (the ``args`` of its child spec)."""

    db_path: str
    """The domain's store: a SQLite file or a PostgreSQL location (``postgresql://...#<domain>``)."""
    data_dir: str | None = None
    """The daemon's data directory: where a domain keeps files its store does not hold (None: not given)."""
    synchronous: Literal["NORMAL", "FULL"] = SqliteOptions.synchronous
    """SQLite durability of the store."""
    config: dict[str, Any] = Field(default_factory=dict)
    """The service's settings (the service validates them)."""
    faults: tuple[FaultRule, ...] = ()
    """Injected faults (tests, rehearsals): a :class:`~sagaline.domains.faults.FaultPlan`'s rules."""


class FlowArgs(DomainArgs):
    """The event bus's args: a domain actor's, and the apps whose event taxonomy it validates against."""

    apps: tuple[str, ...] = ()
    """App specs loaded (once per process) before the bus starts."""
