"""What the daemon hands its actors when it starts: their environment, its facts, the root tree's config.

Used by :meth:`sagaline.daemon.app.Daemon.start`:

* :func:`actor_environment` (start step 3): the variables actor processes
  read (``SAGALINE_DATA_DIR``, the ``SAGALINE_TELEMETRY_*`` variables),
  the telemetry settings checked before any actor runs;
* :func:`daemon_facts`: what the admin endpoint reports about this daemon
  (pid, base, admin port, data directory, apps, its place in a convention);
* :func:`tree_config` (start step 6): the root tree -- registry, root
  supervisor with its configured restart intensity, the domains, the saga
  hosts, and the admin endpoint (a pool of admin workers) as its last child.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import sagaline
from sagaline.admin.admin_args import EndpointArgs
from sagaline.admin.endpoint import AdminEndpoint
from sagaline.daemon.config import ConfigError, DaemonConfig, telemetry_environment
from sagaline.messages.admin import ADMIN_REGISTRY_KEY
from sagaline.supervisors.spec import class_path

__all__ = ["ADMIN_ENDPOINT_CLASS", "actor_environment", "daemon_facts", "tree_config"]

ADMIN_ENDPOINT_CLASS = class_path(AdminEndpoint)


def actor_environment(config: DaemonConfig, data_dir: Path) -> dict[str, str]:
    """What actor processes read from their environment: the data directory and telemetry.

    Raises:
        ConfigError: the telemetry settings are invalid (checked here, before any actor runs).
    """
    env = telemetry_environment(config, os.environ)
    env["SAGALINE_DATA_DIR"] = str(data_dir)
    try:
        from sagaline.telemetry.setup import TelemetryConfigError, config_from_env
    except ImportError:
        return env
    try:
        config_from_env({**os.environ, **env})
    except TelemetryConfigError as exc:
        raise ConfigError(f"config error: telemetry: {exc}", "telemetry") from None
    return env


def daemon_facts(config: DaemonConfig, data_dir: Path, apps: Any, port: int | None) -> dict[str, Any]:
    """The daemon's facts, as the admin endpoint reports them."""
    from sagaline.daemon.member import member_name

    return {
        "pid": os.getpid(),
        "base": config.base,
        "admin_port": port,
        "bind_address": config.bind_address,
        "data_dir": str(data_dir),
        "started_at": time.time(),
        "version": sagaline.__version__,
        "apps": list(apps.specs),
        "cluster": {
            "role": config.cluster.role,
            "join": config.cluster.join,
            "member": member_name(config, port),
            "capabilities": config.cluster.capabilities.model_dump(),
        },
    }


def tree_config(
    config: DaemonConfig,
    data_dir: Path,
    apps: Any,
    facts: dict[str, Any],
    watch: dict[str, int | None],
    heartbeat: Path,
) -> Any:
    """The root tree's configuration (:class:`sagaline.daemon.tree.TreeConfig`); ``watch`` is what the
    admin endpoint's health watches (empty on a single-process base)."""
    from sagaline.daemon.member import member_name, tree_domains
    from sagaline.daemon.tree import TreeConfig, default_hosts
    from sagaline.supervisors.spec import SupervisorFlags, child_spec

    admin_args = EndpointArgs(
        facts=facts,
        owner_pid=os.getpid(),
        workers=config.admin.workers,
        saga_hosts=config.runs.hosts or default_hosts(),
        watch=watch,
        heartbeat=str(heartbeat),
    )
    admin = child_spec("admin", ADMIN_ENDPOINT_CLASS, admin_args.model_dump(), name=ADMIN_REGISTRY_KEY)
    faults = {name: [rule.model_dump() for rule in rules] for name, rules in config.faults.items()}
    intensity = SupervisorFlags(
        strategy="one_for_one",
        max_restarts=config.supervision.root_max_restarts,
        max_seconds=config.supervision.root_max_seconds,
    )
    domains, share = tree_domains(config, apps)
    return TreeConfig(
        data_dir=data_dir,
        storage_url=config.storage.url,
        apps=apps.specs,
        domains=domains,
        lease_share=share,
        settle_s=config.cluster.settle_s,
        member=member_name(config, facts["admin_port"]),
        leader=config.cluster.role == "leader",
        heartbeat_s=config.cluster.heartbeat_s,
        domain_config={name: dict(settings) for name, settings in config.domains.items()},
        faults=faults,
        synchronous=config.storage.synchronous,
        retention_s=config.storage.retention_s,
        hosts=config.runs.hosts,
        journal_path=_journal_path(config),
        isolation=config.runs.isolation,
        max_runs=config.runs.max_runs,
        lease_s=config.runs.lease_s,
        extra_children=(admin,),
        root_flags=intensity,
    )


def _journal_path(config: DaemonConfig) -> Path | None:
    path = config.storage.journal_path
    return None if path is None else Path(path).resolve()
