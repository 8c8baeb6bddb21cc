"""The root supervision tree, as data, and how to start it.

::

    registry                      (top level: handed down to every actor)
    root (one_for_one)
    +-- flow      domain:flow     the event bus (first: others publish to it)
    +-- <domain>  domain:<domain> each loaded app's domain actors, in the apps' order
    +-- journal   journal         the durable journal's single writer (journal.sqlite)
    +-- sagas     the saga supervisor (last: it needs the domains and the journal)
    +-- (extra children, e.g. the daemon's admin endpoint)

Which sagas and domains there are comes from the apps
(:mod:`sagaline.apps`): :class:`TreeConfig` names them by spec string, and
the saga supervisor, every saga actor and the event bus load them from
their args (once per process). Domain actors register as
``domain:<name>``; the journal as ``journal``; the saga supervisor as
``sagas``. Every database lives under one data directory,
one file per domain, and ``journal.sqlite``. Starting a tree on a data
directory that holds unfinished runs recovers them (see
:mod:`sagaline.actors.saga_recovery`); stopping it leaves runs in progress
in the journal, to be resumed by the next start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaline.actors.journal import DEFAULT_RETENTION_S
from sagaline.actors.spawn import start_actor, start_actor_with_pid
from sagaline.apps import load_apps
from sagaline.messages.saga import JOURNAL_NAME
from sagaline.messages.registry import Entries, Lookup
from sagaline.supervisors.spec import ChildSpec, DynamicFlags, SupervisorFlags, child_spec, dynamic_supervisor_spec

__all__ = ["TreeConfig", "Tree", "tree_specs", "start_tree", "journal_args", "DEFAULT_RETENTION_S"]

REGISTRY = "sagaline.registry.actor.Registry"
SUPERVISOR = "sagaline.supervisors.supervisor.Supervisor"
SAGA_SUPERVISOR = "sagaline.actors.saga_supervisor.SagaSupervisor"
JOURNAL_ACTOR = "sagaline.actors.journal.JournalActor"
SAGAS_NAME = "sagas"

@dataclass(frozen=True)
class TreeConfig:
    """What the tree needs to start.

    Attributes:
        data_dir: where every domain's SQLite file lives.
        apps: the app specs (``package.module:attribute``) whose sagas run and
            whose event taxonomy the bus knows (loaded without the entry-point
            group: pass :attr:`Apps.specs <sagaline.apps.Apps.specs>`).
        domains: domain name -> actor class path, in start order; None: the
            event bus and every domain of the apps
            (:meth:`Apps.domain_actors <sagaline.apps.Apps.domain_actors>`).
        domain_config: domain name -> the service's settings.
        faults: domain name -> fault rules (tests and rehearsals).
        synchronous: SQLite durability, NORMAL or FULL.
        pool_size: idle saga actors kept ready.
        max_runs: most runs in progress at once (None: unlimited).
        saga_args: handed to every saga actor.
        extra_children: further children of the root, started after the saga
            supervisor (e.g. the daemon's admin endpoint).
        journal: ``"sqlite"`` (durable: ``journal.sqlite`` in ``data_dir``,
            written by the journal actor; runs survive crashes and restarts)
            or ``"memory"`` (each saga actor keeps its run in memory).
        retention_s: finished runs (completed, failed, cancelled) older than
            this are pruned from the journal; None keeps them forever.
        recovery_concurrency: most runs rebuilt from the journal at once.
        journal_options: more journal actor args (``group_commit``,
            ``max_batch``, ``flush_delay_s``, ``prune_every_s``, ``halt_at``;
            see :mod:`sagaline.actors.journal`).
        root_flags: the root supervisor's flags (its restart intensity);
            default one_for_one, 3 restarts in 5 s.
    """

    data_dir: Path
    apps: tuple[str, ...] = ()
    domains: dict[str, str] | None = None
    domain_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    synchronous: str = "NORMAL"
    pool_size: int = 4
    max_runs: int | None = None
    saga_args: dict[str, Any] = field(default_factory=dict)
    extra_children: tuple[ChildSpec, ...] = ()
    journal: str = "sqlite"
    retention_s: float | None = DEFAULT_RETENTION_S
    recovery_concurrency: int = 32
    journal_options: dict[str, Any] = field(default_factory=dict)
    root_flags: SupervisorFlags = field(default_factory=lambda: SupervisorFlags(strategy="one_for_one"))

    def __post_init__(self) -> None:
        if self.journal not in ("sqlite", "memory"):
            raise ValueError(f"journal must be 'sqlite' or 'memory', not {self.journal!r}")


@dataclass(frozen=True)
class Tree:
    """A started tree: the addresses callers need, and the pids of the top-level actors
    (``registry``, ``root``; multiprocess bases only)."""

    registry: Any
    root: Any
    sagas: Any
    journal: Any = None
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
        args = {"db_path": str(Path(config.data_dir) / f"{name}.sqlite"), "synchronous": config.synchronous,
                "config": dict(config.domain_config.get(name, {})), "faults": list(config.faults.get(name, []))}
        if name == "flow":
            args["apps"] = apps
        specs.append(child_spec(name, path, args, name=f"domain:{name}"))
    if config.journal == "sqlite":
        specs.append(child_spec(JOURNAL_NAME, JOURNAL_ACTOR, journal_args(config), name=JOURNAL_NAME))
    sagas = dynamic_supervisor_spec(SAGAS_NAME, DynamicFlags(max_children=config.max_runs),
                                    start=SAGA_SUPERVISOR, name=SAGAS_NAME)
    args = dict(sagas.args, pool_size=config.pool_size, saga_args=dict(config.saga_args, apps=apps), apps=apps,
                journal=config.journal, recovery_concurrency=config.recovery_concurrency)
    specs.append(sagas.model_copy(update={"args": args}))
    specs.extend(config.extra_children)
    return specs


def journal_args(config: TreeConfig) -> dict[str, Any]:
    """The journal actor's args for ``config``."""
    return {"db_path": str(Path(config.data_dir) / "journal.sqlite"), "synchronous": config.synchronous,
            "retention_s": config.retention_s, **dict(config.journal_options)}


def start_tree(handle: Any, config: TreeConfig, timeout: float = 30.0) -> Tree:
    """Start the registry and the root supervisor on ``handle``; return the addresses.

    Raises:
        ActorStartFailed: a child could not start (the message names it).
        AskTimeout: the tree did not answer within ``timeout``.
    """
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    registry, registry_pid = start_actor_with_pid(handle, REGISTRY, timeout=timeout)
    args = {"flags": config.root_flags.model_dump(), "children": [s.model_dump() for s in tree_specs(config)]}
    root, root_pid = start_actor_with_pid(handle, SUPERVISOR, args, registry=registry, child_id="root",
                                          timeout=timeout)
    found: Entries = handle.ask(registry, Lookup(key=SAGAS_NAME), timeout)
    if not found.entries:
        raise RuntimeError("the saga supervisor did not register")
    journal = handle.ask(registry, Lookup(key=JOURNAL_NAME), timeout).entries
    pids = {name: pid for name, pid in (("registry", registry_pid), ("root", root_pid)) if pid}
    return Tree(registry, root, found.entries[0].holder, journal[0].holder if journal else None, pids)
