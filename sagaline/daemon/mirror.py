"""A member daemon shares the ``domain:*`` registry entries with its leader, both ways.

Saga hosts and domain actors find domain actors through their own
daemon's registry (``domain:<name>``, :mod:`sagaline.hosts.saga_host`).
Across a convention the simplest thing that works with Thespian addresses
is to put the *other* daemon's entries into each registry: a Thespian
multiprocess address is a TCP endpoint, valid from any process of any
actor system that knows the installation secret, so a member's saga host
sends to the leader's ``domain:gate`` exactly as to a local actor, and
the leader's hosts to a domain running on the member.

The member daemon does it (the leader does nothing): at start it asks the
leader's admin door where the leader's registry is
(:class:`~sagaline.messages.registry.WhereIsRegistry`), then on every tick
of its watch loop it reads both registries' ``domain:*`` entries and
applies :func:`mirror_plan` each way: the leader's own entries (the event
bus, its domains, and those other members pushed) are copied into the
member's registry; the member's own domains are pushed into the leader's,
where every other member picks them up. A copy whose source changed (a
domain actor restarted, with a new address) is replaced; one whose source
is gone is removed. Copies are registrations with another actor as
holder: the registry never sees that holder exit, so removing them is the
mirror's job. The member's copies in the leader's registry carry a
``ttl_s`` (:data:`PUSHED_TTL_S`) and are renewed on every sync, so a member
that dies without a clean stop (SIGKILL, its machine gone) loses its
domains from the leader's registry, and then from every other member's,
within that time; sooner when the leader hears from Thespian that the
member is gone: pushed entries carry the member's name as their value
(``{"member": ...}``, :data:`~sagaline.actors.convention.MEMBER_KEY`) and the
leader's convention watch unregisters them at once. A domain that already runs elsewhere in the convention is a
**conflict**: at start the member refuses to run (each domain actor runs
once in the convention).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from sagaline.actors.convention import MEMBER_KEY
from sagaline.daemon.config import ConfigError
from sagaline.errors import SagalineError
from sagaline.messages.registry import AlreadyRegistered, Entries, Register, RegistryError, Renew, Select, Unregister

__all__ = ["MirrorPlan", "mirror_plan", "RegistryMirror", "DomainConflict", "DOMAIN_PREFIX", "PUSHED_TTL_S"]

DOMAIN_PREFIX = "domain:"
#: Seconds a member's domain entries live in the leader's registry unless a sync renews them: well
#: above the syncs' spacing after a failure (:data:`sagaline.daemon.member.RETRY_AFTER_S`, 10 s).
PUSHED_TTL_S = 30.0
_log = logging.getLogger("sagaline.daemon")


class DomainConflict(ConfigError):
    """Raised when a member's domain already runs elsewhere in the convention; the member does not
    start (exit 2, as for any configuration error).

    Leave the domain out of one daemon's ``[cluster] capabilities.domains``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, "cluster.capabilities.domains")


@dataclass(frozen=True)
class MirrorPlan:
    """What to change in a target registry so it holds the source's entries."""

    register: dict[str, Any] = field(default_factory=dict)
    """Key -> holder to register (after unregistering a stale copy)."""
    unregister: dict[str, Any] = field(default_factory=dict)
    """Key -> holder of our copies to remove (stale or gone)."""
    conflicts: tuple[str, ...] = ()
    """Keys the target holds by an actor we did not copy, that the source holds by another."""


def mirror_plan(source: dict[str, Any], target: dict[str, Any], copied: dict[str, Any]) -> MirrorPlan:
    """PURE. Make ``target`` hold ``source``'s entries, changing only ``copied`` (the copies made before)."""
    register: dict[str, Any] = {}
    unregister: dict[str, Any] = {
        key: holder for key, holder in copied.items() if key not in source or source[key] != holder
    }
    conflicts = []
    for key, holder in source.items():
        there = target.get(key)
        if there is None or key in unregister:
            register[key] = holder
        elif there != holder and key not in copied:
            conflicts.append(key)
    return MirrorPlan(register, unregister, tuple(sorted(conflicts)))


class RegistryMirror:
    """The member daemon's two-way copy of ``domain:*`` entries (see the module docstring).

    Args:
        handle: the member's actor system handle (asks reach any actor of the convention).
        local: the member's registry.
        remote: the leader's registry (:func:`find_leader_registry`).
        ttl_s: how long the entries pushed to the leader live unless renewed by a sync.
        member: this daemon's member name, the value of the entries it pushes (``{"member": member}``).
    """

    def __init__(self, handle: Any, local: Any, remote: Any, ttl_s: float = PUSHED_TTL_S, member: str = "") -> None:
        self.handle, self.local, self.remote, self.ttl_s = handle, local, remote, ttl_s
        self.member = member
        self.pulled: dict[str, Any] = {}
        """The leader's entries copied into the local registry."""
        self.pushed: dict[str, Any] = {}
        """The local entries copied into the leader's registry."""
        self.next_sync = 0.0
        """When the daemon's watch loop syncs next (monotonic seconds; :func:`sagaline.daemon.member.share_domains`)."""

    def sync(self, timeout: float = 2.0) -> tuple[str, ...]:
        """Renew the pushed entries, then copy both ways once; return the conflicting keys (a domain
        running in two daemons)."""
        self._renew(timeout)
        local, remote = self._entries(self.local, timeout), self._entries(self.remote, timeout)
        own_remote = {k: h for k, h in remote.items() if k not in self.pushed}
        own_local = {k: h for k, h in local.items() if k not in self.pulled}
        pull = mirror_plan(own_remote, local, self.pulled)
        push = mirror_plan(own_local, remote, self.pushed)
        self._apply(self.local, pull, self.pulled, timeout)
        self._apply(self.remote, push, self.pushed, timeout, self.ttl_s, {MEMBER_KEY: self.member})
        return pull.conflicts + push.conflicts

    def drop(self, timeout: float = 2.0) -> None:
        """Remove this member's pushed entries from the leader's registry (a clean stop)."""
        for key, holder in list(self.pushed.items()):
            self.handle.ask(self.remote, Unregister(key=key, holder=holder), timeout)
        self.pushed.clear()

    def _entries(self, registry: Any, timeout: float) -> dict[str, Any]:
        found = self.handle.ask(registry, Select(key_prefix=DOMAIN_PREFIX), timeout)
        return {e.key: e.holder for e in found.entries} if isinstance(found, Entries) else {}

    def _renew(self, timeout: float) -> None:
        """Extend the pushed entries' lives; forget one the leader no longer holds (it expired while this
        member could not sync, or the leader restarted), so that this sync registers it again."""
        for key, holder in list(self.pushed.items()):
            if isinstance(self.handle.ask(self.remote, Renew(key=key, holder=holder), timeout), RegistryError):
                del self.pushed[key]

    def _apply(
        self,
        registry: Any,
        plan: MirrorPlan,
        copies: dict[str, Any],
        timeout: float,
        ttl_s: float | None = None,
        value: Any = None,
    ) -> None:
        for key, holder in plan.unregister.items():
            self.handle.ask(registry, Unregister(key=key, holder=holder), timeout)
            copies.pop(key, None)
        for key, holder in plan.register.items():
            answer = self.handle.ask(registry, Register(key=key, holder=holder, ttl_s=ttl_s, value=value), timeout)
            if not isinstance(answer, AlreadyRegistered):
                copies[key] = holder


def find_leader_registry(leader: tuple[str, int], secret: bytes, timeout: float = 20.0) -> Any:
    """Ask the leader's admin door where its registry is, from a short-lived process
    (:mod:`sagaline.daemon.leader_lookup`: this process is bound to its own address, not the leader's).

    Raises:
        SagalineError: the leader cannot be reached, does not prove it knows the secret, or is starting.
    """
    from sagaline.runtime.addresses import address_from_bytes

    command = [sys.executable, "-m", "sagaline.daemon.leader_lookup", leader[0], str(leader[1])]
    try:
        done = subprocess.run(
            command, input=secret.hex(), capture_output=True, text=True, timeout=timeout, close_fds=True
        )
    except subprocess.TimeoutExpired:
        raise SagalineError(f"the leader at {leader[0]}:{leader[1]} did not answer within {timeout:g} s") from None
    if done.returncode != 0:
        raise SagalineError(
            f"cannot join the convention led by {leader[0]}:{leader[1]}: "
            f"{done.stderr.strip()[-500:] or f'exit {done.returncode}'}"
        )
    return address_from_bytes(bytes.fromhex(done.stdout.strip()))
