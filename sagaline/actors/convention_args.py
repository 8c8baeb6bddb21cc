"""What the convention watch is started with: :class:`ConventionArgs`."""

from __future__ import annotations

from pydantic import Field

from sagaline.actors.actor_args import ActorArgs

__all__ = ["ConventionArgs"]


class ConventionArgs(ActorArgs):
    """The convention watch's args (the ``args`` of its child spec, :mod:`sagaline.daemon.tree`)."""

    journal: str | None = None
    """The journal's location (a SQLite path or a PostgreSQL location) holding the leases; None: a lost
    member's leases are left to expire by themselves."""
    leader: bool = False
    """This daemon leads the convention: only the leader acts on a lost member."""
    heartbeat_s: float | None = Field(default=None, gt=0)
    """This daemon's ``cluster.heartbeat_s``; a member declaring another one is warned about (None: not checked)."""
