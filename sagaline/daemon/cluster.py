"""PURE. Several daemons in one Thespian convention: the ``[cluster]`` settings and where each child runs.

A daemon started with ``join = "HOST:PORT"`` (``sagaline run --join``,
``SAGALINE_JOIN``) is a **member**: its actor system joins the convention
led by the daemon whose admin listens there (Thespian's
``Convention Address.IPv4`` capability), and it declares its capabilities
(``[cluster] capabilities``), which Thespian passes to the leader in its
``ActorSystemConventionUpdate``. A daemon without ``join`` is the
**leader**. Members share the leader's PostgreSQL journal (``storage.url``)
and hold saga-host partitions by leases (``runs.lease_s``): SQLite cannot
be shared, and without leases two daemons would run the same runs.

Placement (:func:`place`), from a daemon's declared capabilities:

=================  ===========================================  ==========================================
child              on the leader                                on a member
=================  ===========================================  ==========================================
event bus (flow)   always                                       never (the member uses the leader's)
domain actor X     X in ``domains`` (default: every domain)     X in ``domains`` (default: none)
...needing         and the daemon declares ``trainer``          and the daemon declares ``trainer``
``trainer``
saga hosts         hold partitions where ``saga_host``          hold partitions where ``saga_host``
                   (default true)                               (default true)
=================  ===========================================  ==========================================

The leader is the fallback: by default it runs every domain, so a
domain a member declares must be left out of the leader's ``domains``
(each domain actor runs once in the convention: a member whose declared
domain already runs elsewhere refuses to start, see
:mod:`sagaline.daemon.mirror`). A daemon whose ``saga_host`` is false
still runs a host per partition, but they never hold one: they forward
every request to the partition's owner (:mod:`sagaline.hosts.host_lease`).
``cores`` is how many partitions the daemon takes while they are free
(its share; default: all of them); the partitions beyond it are taken
only when another daemon's lease on them expires (a takeover), or once
``settle_s`` passed with nobody taking them.

**Membership heartbeat** (``heartbeat_s``): every daemon's Thespian admin
re-registers with the leader every ``heartbeat_s`` seconds, and the
leader's admin declares a member gone once it missed
:data:`THESPIAN_MISS_MAX` of them (Thespian's own bookkeeping,
``thespian/system/admin/convention.py``; the daemon sets its period before
the admin starts, :func:`sagaline.runtime.patches.convention_period`).
Every daemon of a convention must use the same value: the leader expires a
member after its own ``heartbeat_s`` x 3 whatever the member's period is.
The leader then expires the lost member's leases
(:mod:`sagaline.actors.convention`), which is what speeds a takeover up;
the lease stays the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Capabilities",
    "ClusterSettings",
    "SecuritySettings",
    "Placement",
    "place",
    "parse_join",
    "thespian_capabilities",
    "TRAINER",
    "DEFAULT_SETTLE_S",
    "DEFAULT_HEARTBEAT_S",
    "THESPIAN_MISS_MAX",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: The capability a domain needing NAS trainer processes requires (``AppDomain.requires``).
TRAINER = "trainer"
#: Seconds a daemon waits for others to take their share of never-held partitions before it takes
#: them itself: long enough for the members of a convention started together to come up (a daemon
#: starts in 5-15 s on the 2-core test machines).
DEFAULT_SETTLE_S = 30.0
#: Seconds between two re-registrations of a daemon's admin with the convention leader. Thespian's own
#: default is 7 min 22 s, so a SIGKILLed member was listed for ~22 min; at 5 s a silent member is
#: declared gone 10-20 s after its last registration, for one small frame each way per member and
#: period (nothing for a leader alone: its admin only wakes to check). Shorter risks declaring a member
#: whose admin stalled 3 periods (a loaded machine) lost: safe (leases are fenced) but it churns.
DEFAULT_HEARTBEAT_S = 5.0
#: Re-registrations a member may miss before the leader declares it gone (Thespian's
#: ``CONVENTION_REGISTRATION_MISS_MAX``, 3 unless its environment variable says otherwise).
THESPIAN_MISS_MAX = 3


class Capabilities(BaseModel):
    """What a daemon offers the convention (``[cluster] capabilities``)."""

    model_config = _FROZEN
    saga_host: bool = True
    """Its saga hosts hold partitions (false: they only forward requests to the owners)."""
    trainer: bool | None = None
    """It runs NAS trainer processes (Thunderline's bridge places them on such members, least loaded first)
    and may run domains requiring ``trainer``; None: true on the leader, false on a member."""
    domains: list[str] | None = None
    """The app domains it runs; None: every domain on the leader, none on a member."""
    cores: int | None = Field(default=None, ge=1, le=256)
    """Partitions it takes while free (its share); None: all of them (``saga_host = false`` for none)."""


class ClusterSettings(BaseModel):
    """The ``[cluster]`` table: whom to join, and what this daemon declares."""

    model_config = _FROZEN
    join: str | None = None
    """``HOST:PORT`` of the leader's admin: this daemon is a member of its convention; None: the leader."""
    capabilities: Capabilities = Capabilities()
    """What this daemon runs (see :func:`place`)."""
    settle_s: float = Field(default=DEFAULT_SETTLE_S, gt=0, le=3600)
    """Seconds before a daemon takes never-held partitions beyond its ``cores`` share."""
    heartbeat_s: float = Field(default=DEFAULT_HEARTBEAT_S, ge=0.2, le=442)
    """Seconds between the admin's re-registrations with the leader; a member silent for about
    :data:`THESPIAN_MISS_MAX` of them is declared gone (the same value on every daemon of a convention;
    442 s is Thespian's own default)."""

    @field_validator("join")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parse_join(value)
        return value

    @property
    def role(self) -> Literal["leader", "member"]:
        """``member`` with ``join``, else ``leader``."""
        return "member" if self.join else "leader"


class SecuritySettings(BaseModel):
    """The ``[security]`` table."""

    model_config = _FROZEN
    secret_file: str | None = None
    """The installation secret (64 hex digits, mode 0600); None: ``data_dir/secret.key``, created at the
    first start. A member must be given the leader's secret (a copy of its ``secret.key``): it never creates one."""


@dataclass(frozen=True)
class Placement:
    """Which children a daemon's tree starts."""

    domains: tuple[str, ...]
    """App domains, in the apps' order (the event bus ``flow`` is apart: :attr:`flow`)."""
    flow: bool
    """Whether it runs the event bus (the leader only)."""
    share: int | None
    """Partitions its saga hosts take while free (None: all; 0: its hosts only forward)."""


def place(
    capabilities: Capabilities,
    role: Literal["leader", "member"],
    app_domains: dict[str, str | None],
) -> Placement:
    """Where the children go on a daemon of ``role`` declaring ``capabilities`` (see the module table).

    Args:
        app_domains: every app domain's name -> the capability it requires (None: none), in start order.

    Raises:
        ValueError: a declared domain is no app's, or requires a capability the daemon does not declare.
    """
    leader = role == "leader"
    trainer = capabilities.trainer if capabilities.trainer is not None else leader
    offered = {TRAINER} if trainer else set()
    wanted = capabilities.domains
    for name in wanted or ():
        if name not in app_domains:
            raise ValueError(
                f"cluster.capabilities.domains: {name!r} is no domain of the loaded apps "
                f"(known: {', '.join(app_domains) or 'none'})"
            )
        need = app_domains[name]
        if need is not None and need not in offered:
            raise ValueError(
                f"cluster.capabilities.domains: {name!r} needs the {need!r} capability (declare {need} = true)"
            )
    if wanted is None:
        chosen = [n for n, need in app_domains.items() if leader and (need is None or need in offered)]
    else:
        chosen = [n for n in app_domains if n in wanted]
    share = capabilities.cores if capabilities.saga_host else 0
    return Placement(domains=tuple(chosen), flow=leader, share=share)


def parse_join(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port).

    Raises:
        ValueError: not ``HOST:PORT`` with a port in 1..65535.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"join must be HOST:PORT (the leader's admin address), not {text!r}")
    return host, int(port)


def thespian_capabilities(cluster: ClusterSettings, member: str = "") -> dict[str, object]:
    """The Thespian capabilities a daemon's actor system is started with: the convention to join (a
    member) and what it declares, as ``sagaline.<key>`` entries the leader sees in the membership update:
    its capabilities, role, heartbeat, and ``member`` (its name in lease owners,
    :func:`sagaline.daemon.member.member_name`: how the leader finds a lost member's leases)."""
    caps: dict[str, object] = {f"sagaline.{key}": value for key, value in cluster.capabilities.model_dump().items()}
    caps["sagaline.role"] = cluster.role
    caps["sagaline.member"] = member
    caps["sagaline.heartbeat_s"] = cluster.heartbeat_s
    if cluster.join:
        caps["Convention Address.IPv4"] = cluster.join
    return caps
