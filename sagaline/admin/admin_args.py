"""What the admin endpoint and its workers are started with: :class:`EndpointArgs`, :class:`WorkerArgs`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sagaline.actors.actor_args import ActorArgs

__all__ = ["EndpointArgs", "WorkerArgs", "DEFAULT_WORKERS"]

#: Admin requests answered at once, at most (one worker process each, ~4 MiB PSS).
DEFAULT_WORKERS = 16


class WorkerArgs(ActorArgs):
    """An admin worker's args (the endpoint builds them)."""

    facts: dict[str, Any] = Field(default_factory=dict)
    """The daemon's facts (pid, base, ports, apps...), for health and the catalog."""
    watch: dict[str, int | None] = Field(default_factory=dict)
    """Name -> pid of the processes whose death ends the daemon; health checks them."""
    heartbeat: str | None = None
    """The file the daemon touches every tick (None: no heartbeat to measure)."""
    root: Any = None
    """The root supervisor's address."""


class EndpointArgs(ActorArgs):
    """The admin endpoint's args."""

    facts: dict[str, Any] = Field(default_factory=dict)
    """The daemon's facts, handed to the workers."""
    owner_pid: int | None = None
    """The daemon's pid: the endpoint ends the process tree when it is gone (None: no check)."""
    workers: int = Field(default=DEFAULT_WORKERS, ge=0)
    """Workers in the pool (0: none; requests are refused)."""
    saga_hosts: int = Field(default=0, ge=0)
    """How many saga hosts there are (0: none to follow in the registry)."""
    watch: dict[str, int | None] = Field(default_factory=dict)
    """Name -> pid of the processes health checks (the endpoint adds the root's)."""
    heartbeat: str | None = None
    """The file the daemon touches every tick."""
