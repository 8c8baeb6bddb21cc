"""What a daemon's place in a convention changes at its start: the secret, the tree's children, the mirror.

Used by :class:`~sagaline.daemon.app.Daemon`; the decisions are
:mod:`sagaline.daemon.cluster`'s and :mod:`sagaline.daemon.mirror`'s.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

from sagaline.daemon.cluster import parse_join, place
from sagaline.daemon.config import ConfigError, DaemonConfig

__all__ = ["daemon_secret", "tree_domains", "member_name", "start_mirror", "share_domains", "unshare_domains"]

_log = logging.getLogger("sagaline.daemon")


def daemon_secret(config: DaemonConfig, data_dir: Path) -> bytes:
    """The installation secret: ``security.secret_file``; else ``data_dir/secret.key``, created at the
    leader's first start (a member never creates one: it must hold the leader's).

    Raises:
        SecretError: the file is missing (a member), unreadable, shared with other users, or not a secret.
    """
    from sagaline.runtime import load_or_create_secret, load_secret
    from sagaline.runtime.secret import SECRET_FILE

    if config.security.secret_file:
        return load_secret(config.security.secret_file, private=True)
    if config.cluster.join:
        return load_secret(data_dir / SECRET_FILE, private=True)
    return load_or_create_secret(data_dir)


def tree_domains(config: DaemonConfig, apps: Any) -> tuple[dict[str, str], int | None]:
    """The domain actors this daemon's tree starts (name -> class path, ``flow`` first on the leader),
    and its saga hosts' share of the partitions (see :func:`sagaline.daemon.cluster.place`).

    Raises:
        ConfigError: a declared domain is unknown or needs a capability not declared.
    """
    try:
        placement = place(config.cluster.capabilities, config.cluster.role, {d.name: d.requires for d in apps.domains})
    except ValueError as exc:
        raise ConfigError(f"config error: {exc}", "cluster.capabilities") from None
    every = apps.domain_actors(placement.domains or ())
    chosen = {
        name: path for name, path in every.items() if (name == "flow" and placement.flow) or name in placement.domains
    }
    return chosen, placement.share


def member_name(config: DaemonConfig, admin_port: int | None) -> str:
    """This daemon's name in lease owners and views: ``<hostname>:<admin port>``."""
    return f"{socket.gethostname()}:{admin_port or 0}"


def start_mirror(handle: Any, registry: Any, config: DaemonConfig, secret: bytes, member: str = "") -> Any:
    """A member's registry mirror, synced once (None on the leader); ``member`` (:func:`member_name`) marks
    the entries it pushes to the leader, which drops them when it hears this member is lost.

    Raises:
        DomainConflict: a domain of this member already runs elsewhere in the convention.
    """
    from sagaline.daemon.mirror import DomainConflict, RegistryMirror, find_leader_registry

    if not config.cluster.join:
        return None
    leader = parse_join(config.cluster.join)
    mirror = RegistryMirror(handle, registry, find_leader_registry(leader, secret), member=member)
    conflicts = mirror.sync()
    if conflicts:
        mirror.drop()  # this member will not run: take back what it shared
        raise DomainConflict(
            f"{', '.join(conflicts)} already run(s) in the convention led by "
            f"{config.cluster.join}: each domain actor runs once; leave it out of one "
            "daemon's [cluster] capabilities.domains"
        )
    _log.info(
        "member of the convention led by %s: %d entries shared from it, %d to it",
        config.cluster.join,
        len(mirror.pulled),
        len(mirror.pushed),
    )
    return mirror


#: Seconds between two syncs of the domain entries, and after a failed one: each sync asks both
#: registries from the daemon's watch loop, which must keep touching the heartbeat (stale after 5 s).
SYNC_EVERY_S, RETRY_AFTER_S = 1.0, 10.0
#: Seconds each registry ask of a sync may take (a hung leader must not hold the watch loop).
SYNC_ASK_TIMEOUT_S = 0.5


def share_domains(mirror: Any, now: float | None = None) -> None:
    """A member keeps the convention's ``domain:*`` entries in step, every :data:`SYNC_EVERY_S` (called
    every watch tick; :data:`RETRY_AFTER_S` after a failure); never raises."""
    now = time.monotonic() if now is None else now
    if mirror is None or now < mirror.next_sync:
        return
    mirror.next_sync = now + SYNC_EVERY_S
    try:
        conflicts = mirror.sync(SYNC_ASK_TIMEOUT_S)
    except Exception as exc:  # the leader may be restarting: try again later
        mirror.next_sync = now + RETRY_AFTER_S
        _log.warning("sharing domain entries with the leader failed (again in %g s): %s", RETRY_AFTER_S, exc)
        return
    if conflicts:
        _log.error("domains running twice in the convention: %s", ", ".join(conflicts))


def unshare_domains(mirror: Any) -> None:
    """Take this member's domains out of the leader's registry (a clean stop); never raises."""
    if mirror is not None:
        try:
            mirror.drop()
        except Exception as exc:
            _log.warning("could not remove this member's domains from the leader's registry: %s", exc)
