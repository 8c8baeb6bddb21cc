"""Fault injection for domain actors: failures, crashes and delays chosen by data.

Integration tests, the crash-test driver and operators rehearsing a rollback
need a domain to misbehave on purpose, without test-only branches in the
domain logic. A :class:`FaultPlan` (plain data, from a child spec's args or
the daemon's config) is checked before a command reaches the service:

* ``fail``: answer ``CommandFailed(code, retryable)`` with no effect;
* ``crash``: raise, so the actor crashes and its supervisor restarts it
  (the command is never applied; the saga's timeout re-sends it);
* ``delay``: sleep ``seconds`` first, then apply the command (a slow
  domain; cancellations mid-run are rehearsed with this).

A rule matches a command by class name and a share of runs: a run is in
the share when a stable hash of its correlation id falls under ``ratio``, so
redeliveries of one run's command always meet the same fate. ``times``
limits how often a rule fires in one actor's life (None: always).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sagaline.messages.base import Command
from sagaline.messages.common import CommandFailed

__all__ = ["FaultRule", "FaultPlan", "Fault"]


class FaultRule(BaseModel):
    """One fault: which commands, which share of runs, what happens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str
    """Class name of the command it applies to, e.g. ``ProvisionVault``."""
    action: Literal["fail", "crash", "delay"] = "fail"
    """What happens (see the module docstring)."""
    code: str = "injected_fault"
    """The ``CommandFailed`` code of a ``fail``."""
    retryable: bool = False
    """Whether the injected failure says it may succeed later."""
    seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    """How long a ``delay`` sleeps."""
    ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of runs (by correlation id) it applies to."""
    times: int | None = Field(default=None, ge=1)
    """How often it may fire in this actor's life; None: no limit."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A decision: this command meets ``rule``."""

    rule: FaultRule

    def refusal(self, command: Command) -> CommandFailed:
        """The answer a ``fail`` rule gives in ``command``'s stead (the rule's code and retryability)."""
        return CommandFailed(
            headers=command.headers,
            code=self.rule.code,
            message=f"injected fault on {type(command).__name__}",
            retryable=self.rule.retryable,
        )


@dataclass
class FaultPlan:
    """The rules of one domain actor and how often each has fired."""

    rules: tuple[FaultRule, ...] = ()
    fired: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any) -> FaultPlan:
        """Build from a list of rule mappings (validated; bad data raises ``ValueError``)."""
        return cls(tuple(FaultRule.model_validate(r) for r in (data or ())))

    def check(self, command: Any) -> Fault | None:
        """The fault ``command`` meets, if any (and count it as fired)."""
        name = type(command).__name__
        headers = getattr(command, "headers", None)
        correlation = getattr(headers, "correlation_id", "") or ""
        for index, rule in enumerate(self.rules):
            if rule.command != name or not _in_share(correlation, rule.ratio):
                continue
            if rule.times is not None and self.fired.get(index, 0) >= rule.times:
                continue
            self.fired[index] = self.fired.get(index, 0) + 1
            return Fault(rule)
        return None


def _in_share(correlation_id: str, ratio: float) -> bool:
    if ratio >= 1.0:
        return True
    return (zlib.crc32(correlation_id.encode()) % 10_000) < ratio * 10_000
