"""What the saga supervisor is started with: :class:`SagaSupervisorArgs`, every default declared here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sagaline.supervisors.supervisor_args import SupervisorArgs

__all__ = ["SagaSupervisorArgs", "DEFAULT_PRUNE_EVERY_S"]

#: Seconds between two retention passes over the journal.
DEFAULT_PRUNE_EVERY_S = 300.0


class SagaSupervisorArgs(SupervisorArgs):
    """The saga supervisor's args: a supervisor's (its hosts are its children) and the journal's retention."""

    count: int = Field(default=1, ge=1)
    """How many saga hosts (partitions) there are."""
    journal: Literal["sqlite", "memory"] = "sqlite"
    """The hosts' journal kind; ``memory``: nothing to list or prune here."""
    journal_path: str | None = None
    """The journal's location, read to answer ``ListRuns`` (None: no journal to read)."""
    retention_s: float | None = Field(default=None, ge=0)
    """Ended runs older than this are pruned (None: kept)."""
    prune_every_s: float = Field(default=DEFAULT_PRUNE_EVERY_S, gt=0)
    """Seconds between two retention passes."""
