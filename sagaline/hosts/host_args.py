"""What a saga host is started with, declared once: :class:`HostArgs`, and how a run begins.

A run begins in one of three ways, one record each (:data:`Launch`):
:class:`NewRun` (an admitted start), :class:`Rebuild` (an unfinished run
from the journal, maybe with an operator's action), :class:`Successor` (a
failed run resumed by a new one). A saga host makes them itself, and hands
one to a single-run child host (``isolation="process"``) in its args.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field

from sagaline.actors.actor_args import ActorArgs
from sagaline.apps import Apps, load_apps
from sagaline.hosts.saga_run import Operation
from sagaline.messages.saga import StartSaga
from sagaline.saga.journal import HaltRule

__all__ = [
    "HostArgs",
    "Launch",
    "NewRun",
    "Rebuild",
    "Successor",
    "DEFAULT_RECOVERY_CONCURRENCY",
    "DEFAULT_MAX_DEATHS",
    "DEFAULT_FINISHED_CACHE",
]

#: Runs rebuilt from the journal at once, per host.
DEFAULT_RECOVERY_CONCURRENCY = 256
#: Deaths of a run's actor after which the run is marked ``needs_operator`` (a poison run must not crash-loop).
DEFAULT_MAX_DEATHS = 3
#: Ended runs a host remembers in memory (older ones are answered from the journal).
DEFAULT_FINISHED_CACHE = 10_000


@dataclass(frozen=True)
class NewRun:
    """Start run ``run_id`` from its admitted request."""

    run_id: str
    saga: str
    start: StartSaga


@dataclass(frozen=True)
class Rebuild:
    """Rebuild run ``run_id`` from the journal and continue it (or apply ``operation``)."""

    run_id: str
    saga: str
    operation: Operation | None = None


@dataclass(frozen=True)
class Successor:
    """Start run ``run_id`` as the successor of the failed run ``predecessor`` (answer ``reply_to``)."""

    run_id: str
    saga: str
    predecessor: str
    from_step: str | None
    reply_to: Any


Launch = NewRun | Rebuild | Successor


class HostArgs(ActorArgs):
    """A saga host's args (its child spec's ``args``); every default is declared here."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    apps: tuple[str, ...] = ()
    """The app specs whose sagas this host runs (loaded once per process)."""
    index: int = Field(default=0, ge=0)
    """This host's partition."""
    count: int = Field(default=1, ge=1)
    """How many partitions (hosts) there are."""
    journal: Literal["sqlite", "memory"] = "sqlite"
    """``sqlite``: runs are durable in ``journal_path``; ``memory``: a run dies with its host."""
    journal_path: str = "journal.sqlite"
    """The journal's location (shared by every host): a SQLite file (WAL) or a PostgreSQL
    ``postgresql://...#journal`` (see :mod:`sagaline.storage.location`)."""
    synchronous: Literal["NORMAL", "FULL"] = "FULL"
    """SQLite durability of the journal."""
    lease_s: float | None = Field(default=None, gt=0)
    """Hold the partition through a lease of this many seconds in the journal (daemons sharing a journal);
    None: the host owns its partition without one (one daemon per journal)."""
    lease_share: int | None = Field(default=None, ge=0)
    """With leases: partitions this host's daemon takes while free (its ``cores``); None: all; 0: none,
    the host only forwards requests to the owners (see :func:`~sagaline.saga.lease.claim_in`)."""
    settle_s: float = Field(default=30.0, gt=0)
    """With a share: seconds before this host takes a never-held partition beyond the share."""
    member: str = ""
    """The daemon's name in lease owner names (default: hostname and pid)."""
    halt_at: dict[str, Any] | None = None
    """A rehearsal :class:`~sagaline.saga.journal.HaltRule` as data (tests only)."""
    recovery_concurrency: int = Field(default=DEFAULT_RECOVERY_CONCURRENCY, ge=1)
    """Runs rebuilt from the journal at once."""
    max_deaths: int = Field(default=DEFAULT_MAX_DEATHS, ge=1)
    """Deaths of a run's actor before it is marked ``needs_operator``."""
    max_runs: int | None = Field(default=None, ge=1)
    """Most runs in progress on this host (None: unlimited); more starts are refused ``max_children``."""
    finished_cache: int = Field(default=DEFAULT_FINISHED_CACHE, ge=0)
    """Ended runs remembered in memory."""
    isolation: Literal["hosted", "process"] | None = None
    """Run every saga this way (None: as each saga's definition says)."""
    directory: dict[str, Any] = Field(default_factory=dict)
    """Domain name -> address, for a single-run host (a partition host subscribes to the registry)."""
    launch: Any = None
    """For a single-run host: the :data:`Launch` of its one run."""

    def catalog(self) -> Apps:
        """The loaded apps (their sagas by name)."""
        return load_apps(self.apps, entry_points=False)

    def isolation_of(self, saga: str, definition: Any) -> str:
        """``hosted`` or ``process`` for ``saga``: the override, else its definition's."""
        if self.launch is not None:
            return "hosted"  # a single-run host runs its one run itself
        return self.isolation or str(getattr(definition, "isolation", "hosted"))

    def halt_rule(self) -> HaltRule | None:
        """The rehearsal rule, if any."""
        return HaltRule(**self.halt_at) if self.halt_at else None

    def for_process_run(self, launch: Launch, directory: dict[str, Any]) -> dict[str, Any]:
        """The args of a single-run child host for ``launch``."""
        return {
            **self.model_dump(exclude={"directory", "launch", "index", "count", "lease_share"}),
            "directory": dict(directory),
            "launch": launch,
        }
