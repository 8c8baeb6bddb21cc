"""Helpers of the convention tests: a daemon's config on one PostgreSQL journal, and members joining a leader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagaline.testing.daemon import DaemonProcess


def convention_config(url: str, bind: str = "127.0.0.1", *, partitions: int, lease_s: float, **cluster: Any) -> dict:
    """A Thunderline daemon's config: its stores on ``url``, its listeners on ``bind``, ``cluster`` as given."""
    return {
        "apps": ["thunderline.app:app"],
        "bind_address": bind,
        "storage": {"url": url, "synchronous": "NORMAL"},
        "runs": {"hosts": partitions, "lease_s": lease_s},
        "admin": {"workers": 2},
        "cluster": cluster,
    }


def member(
    directory: Path,
    leader: DaemonProcess,
    config: dict,
    env: dict[str, str] | None = None,
    leader_bind: str = "127.0.0.2",
) -> DaemonProcess:
    """A member daemon (not started) joining ``leader`` (bound on ``leader_bind``) with its secret."""
    joined = {
        **config,
        "cluster": {**config.get("cluster", {}), "join": f"{leader_bind}:{leader.admin_port}"},
        "security": {"secret_file": str(leader.data_dir / "secret.key")},
    }
    return DaemonProcess(directory, joined, env=env)
