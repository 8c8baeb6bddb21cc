"""The root supervision tree, as data, and how to start it.

::

    registry                      (top level: handed down to every actor)
    root (one_for_one)
    +-- flow      domain:flow     the event bus (first: others publish to it)
    +-- <domain>  domain:<domain> each loaded app's domain actors, in the apps' order
    +-- convention                with leases: the convention's members; on the leader, a lost member's
    |                             leases expired at once (sagaline.actors.convention)
    +-- sagas     the saga supervisor (last: it needs the domains)
    |   +-- host:0 .. host:N-1    saga hosts, sagahost:<i>, each running many runs
    +-- (extra children, e.g. the daemon's admin endpoint)

Which sagas and domains there are comes from the apps
(:mod:`sagaline.apps`): :class:`TreeConfig` names them by spec string, and
the saga hosts and the event bus load them from their args (once per
process). Domain actors register as ``domain:<name>``; the saga supervisor
as ``sagas``; its hosts as ``sagahost:<i>``. Every database lives under one
data directory, one file per domain, and ``journal.sqlite`` (written by
every host, read by the saga supervisor); or, with ``storage_url``, in one
PostgreSQL database, one schema per store (``journal``, each domain's name). Starting a tree on a data
directory that holds unfinished runs recovers them (each host rebuilds its
partition's runs, see :mod:`sagaline.hosts.saga_host`); stopping it leaves
runs in progress in the journal, to be resumed by the next start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaline.actors.convention import ConventionWatch
from sagaline.actors.convention_args import ConventionArgs
from sagaline.actors.domain_args import DomainArgs, FlowArgs
from sagaline.actors.spawn import start_actor_with_pid
from sagaline.apps import load_apps
from sagaline.hosts.host_args import DEFAULT_RECOVERY_CONCURRENCY, HostArgs
from sagaline.hosts.saga_supervisor import SAGA_HOST, SagaSupervisor, host_id
from sagaline.hosts.saga_supervisor_args import DEFAULT_PRUNE_EVERY_S, SagaSupervisorArgs
from sagaline.messages.registry import Entries, Lookup
from sagaline.registry.actor import Registry
from sagaline.saga.placement import host_key
from sagaline.storage.location import check_storage_url, store_location
from sagaline.supervisors.spec import ChildSpec, SupervisorFlags, child_spec, class_path
from sagaline.supervisors.supervisor import Supervisor
from sagaline.supervisors.supervisor_args import SupervisorArgs

__all__ = [
    "TreeConfig",
    "Tree",
    "tree_specs",
    "sagas_spec",
    "start_tree",
    "DEFAULT_RETENTION_S",
    "default_hosts",
    "tree_pids",
    "journal_location",
]

REGISTRY = class_path(Registry)
SUPERVISOR = class_path(Supervisor)
SAGA_SUPERVISOR = class_path(SagaSupervisor)
SAGAS_NAME = "sagas"
CONVENTION_WATCH = class_path(ConventionWatch)
#: Finished runs are kept a week unless configured otherwise.
DEFAULT_RETENTION_S = 7 * 24 * 3600.0


def default_hosts() -> int:
    """Saga hosts by default: one per core this process may use, as the BEAM has one scheduler per core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class TreeConfig:
    """What the tree needs to start.

    Attributes:
        data_dir: where every domain's SQLite file lives (without ``storage_url``) and the files a store does not
            hold (given to every domain as ``data_dir``).
        storage_url: a PostgreSQL database (``postgresql://...``) holding the
            journal and every domain's store, one schema each; None: SQLite
            files in ``data_dir``.
        apps: the app specs (``package.module:attribute``) whose sagas run and
            whose event taxonomy the bus knows (loaded without the entry-point
            group: pass :attr:`Apps.specs <sagaline.apps.Apps.specs>`).
        domains: domain name -> actor class path, in start order; None: the
            event bus and every domain of the apps
            (:meth:`Apps.domain_actors <sagaline.apps.Apps.domain_actors>`).
        domain_config: domain name -> the service's settings.
        faults: domain name -> fault rules (tests and rehearsals).
        synchronous: SQLite durability, FULL (default) or NORMAL.
        hosts: saga hosts (partitions of the runs); None: one per core.
        isolation: run every saga ``hosted`` or in its own ``process`` (None: as each saga says).
        max_runs: most runs in progress at once (None: unlimited), shared evenly by the hosts.
        extra_children: further children of the root, started after the saga
            supervisor (e.g. the daemon's admin endpoint).
        journal: ``"sqlite"`` (durable: ``journal_path``, default ``journal.sqlite`` in ``data_dir``, or
            the ``journal`` schema at ``storage_url``; runs survive crashes and restarts) or ``"memory"`` (a run dies
            with its host, ending ``stuck``).
        journal_path: the journal's SQLite file when ``storage_url`` is None; None: ``data_dir/journal.sqlite``.
        retention_s: finished runs (completed, failed, cancelled) older than
            this are pruned from the journal; None keeps them forever.
        prune_every_s: how often retention runs.
        recovery_concurrency: most runs each host rebuilds from the journal at once.
        lease_s: each saga host holds its partition through a lease of this many
            seconds in the journal, so several daemons can share one (PostgreSQL)
            journal and take over a dead one's runs; None: no leases.
        lease_share: with leases, the partitions this daemon's hosts take while free (its
            ``cores``); None: all; 0: none, its hosts forward (:mod:`sagaline.daemon.cluster`).
        settle_s: with a share, seconds before never-held partitions beyond it are taken.
        member: this daemon's name in the lease owners (default: hostname and pid).
        leader: with leases, whether this daemon leads its convention (its convention watch then expires
            a lost member's leases, :mod:`sagaline.actors.convention`).
        heartbeat_s: with leases, the convention heartbeat (``cluster.heartbeat_s``) the watch compares
            the members' with; None: not compared.
        halt_at: a rehearsal :class:`~sagaline.saga.journal.HaltRule` as data (tests only).
        root_flags: the root supervisor's flags (its restart intensity);
            default one_for_one, 3 restarts in 5 s.
    """

    data_dir: Path
    storage_url: str | None = None
    apps: tuple[str, ...] = ()
    domains: dict[str, str] | None = None
    domain_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    synchronous: str = "FULL"
    hosts: int | None = None
    isolation: str | None = None
    max_runs: int | None = None
    extra_children: tuple[ChildSpec, ...] = ()
    journal: str = "sqlite"
    journal_path: Path | None = None
    retention_s: float | None = DEFAULT_RETENTION_S
    prune_every_s: float = DEFAULT_PRUNE_EVERY_S
    recovery_concurrency: int = DEFAULT_RECOVERY_CONCURRENCY
    lease_s: float | None = None
    lease_share: int | None = None
    settle_s: float = 30.0
    member: str = ""
    leader: bool = True
    heartbeat_s: float | None = None
    halt_at: dict[str, Any] | None = None
    root_flags: SupervisorFlags = field(default_factory=lambda: SupervisorFlags(strategy="one_for_one"))

    def __post_init__(self) -> None:
        if self.storage_url is not None:
            check_storage_url(self.storage_url)
        if self.journal not in ("sqlite", "memory"):
            raise ValueError(f"journal must be 'sqlite' or 'memory', not {self.journal!r}")
        if self.isolation not in (None, "hosted", "process"):
            raise ValueError(f"isolation must be 'hosted' or 'process', not {self.isolation!r}")
        if self.hosts is not None and self.hosts < 1:
            raise ValueError(f"hosts must be at least 1, not {self.hosts}")

    @property
    def host_count(self) -> int:
        """The saga hosts to start."""
        return self.hosts or default_hosts()


@dataclass(frozen=True)
class Tree:
    """A started tree: the addresses callers need, and the pids of the top-level actors
    (``registry``, ``root``; multiprocess bases only)."""

    registry: Any
    root: Any
    sagas: Any
    pids: dict[str, int] = field(default_factory=dict)


def tree_specs(config: TreeConfig) -> list[ChildSpec]:
    """The root supervisor's children, in start order.

    Raises:
        AppError: ``config.apps`` do not load (when ``domains`` is None).
    """
    apps = list(config.apps)
    domains = config.domains if config.domains is not None else load_apps(apps, entry_points=False).domain_actors()
    specs = []
    for name, path in domains.items():
        fields = {
            "db_path": store_location(config.storage_url, config.data_dir, name),
            "data_dir": str(config.data_dir),
            "synchronous": config.synchronous,
            "config": dict(config.domain_config.get(name, {})),
            "faults": list(config.faults.get(name, [])),
        }
        args = FlowArgs.parse({**fields, "apps": apps}) if name == "flow" else DomainArgs.parse(fields)
        specs.append(child_spec(name, path, args.model_dump(), name=f"domain:{name}"))
    if config.lease_s is not None:  # daemons sharing a journal may form a convention: watch it
        journal = journal_location(config) if config.journal == "sqlite" else None
        watch = ConventionArgs(journal=journal, leader=config.leader, heartbeat_s=config.heartbeat_s)
        specs.append(child_spec("convention", CONVENTION_WATCH, watch.model_dump(), name="convention"))
    specs.append(sagas_spec(config))
    specs.extend(config.extra_children)
    return specs


def sagas_spec(config: TreeConfig) -> ChildSpec:
    """The saga supervisor and its hosts."""
    count = config.host_count
    journal_path = journal_location(config)
    per_host = None if config.max_runs is None else max(1, -(-config.max_runs // count))
    hosts = [
        child_spec(
            host_id(i),
            SAGA_HOST,
            HostArgs.parse(
                {
                    "index": i,
                    "count": count,
                    "apps": list(config.apps),
                    "journal": config.journal,
                    "journal_path": journal_path,
                    "synchronous": config.synchronous,
                    "halt_at": config.halt_at,
                    "max_runs": per_host,
                    "lease_s": config.lease_s,
                    "lease_share": config.lease_share,
                    "settle_s": config.settle_s,
                    "member": config.member,
                    "recovery_concurrency": config.recovery_concurrency,
                    "isolation": config.isolation,
                }
            ).model_dump(),
            name=host_key(i),
        )
        for i in range(count)
    ]
    args = SagaSupervisorArgs.parse(
        {
            "flags": SupervisorFlags(strategy="one_for_one"),
            "children": hosts,
            "count": count,
            "journal": config.journal,
            "journal_path": journal_path,
            "retention_s": config.retention_s,
            "prune_every_s": config.prune_every_s,
        }
    )
    return child_spec(SAGAS_NAME, SAGA_SUPERVISOR, args.model_dump(), type="supervisor", name=SAGAS_NAME)


def journal_location(config: TreeConfig) -> str:
    """Where the journal is: ``journal_path`` (SQLite only), else the ``journal`` store under ``storage_url``
    or ``data_dir``."""
    if config.journal_path is not None and config.storage_url is None:
        return str(config.journal_path)
    return store_location(config.storage_url, config.data_dir, "journal")


def start_tree(handle: Any, config: TreeConfig, timeout: float = 30.0) -> Tree:
    """Start the registry and the root supervisor on ``handle``; return the addresses.

    Raises:
        ActorStartFailed: a child could not start (the message names it).
        AskTimeout: the tree did not answer within ``timeout``.
    """
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    registry, registry_pid = start_actor_with_pid(handle, REGISTRY, timeout=timeout)
    args = SupervisorArgs(flags=config.root_flags, children=tuple(tree_specs(config))).model_dump()
    root, root_pid = start_actor_with_pid(handle, SUPERVISOR, args, registry=registry, child_id="root", timeout=timeout)
    found: Entries = handle.ask(registry, Lookup(key=SAGAS_NAME), timeout)
    if not found.entries:
        raise RuntimeError("the saga supervisor did not register")
    pids = {name: pid for name, pid in (("registry", registry_pid), ("root", root_pid)) if pid}
    return Tree(registry, root, found.entries[0].holder, pids)


def tree_pids(tree: dict[str, Any]) -> set[int]:
    """Pids of the root supervisor and everything under it, from an admin ``tree`` answer's ``tree``
    (the root's pid is its top-level children's parent)."""
    pids = set(_walk_pids(tree))
    roots = {_parent_pid(child["pid"]) for child in tree["children"] if child.get("pid")}
    return pids | {pid for pid in roots if pid}


def _walk_pids(node: dict[str, Any]) -> list[int]:
    found = [node["pid"]] if node.get("pid") else []
    for child in node.get("children", []):
        found.extend(_walk_pids(child))
    return found


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
