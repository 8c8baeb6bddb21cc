"""Commands to the crown domain actor (the policy engine) and its replies.

``EvaluatePolicy`` -> ``PolicyDecided``: the policy governing
``subject["action"]`` is evaluated (:mod:`thunderline.domains.policy`) and the
decision is audited in crown's table, once per idempotency key (a re-sent
command gets the first decision, not a second audit row). A denial is a
*decision*, answered with ``PolicyDecided(effect="deny")``, not a failure:
the caller decides what a denial means. ``ListDecisions`` reads the audit
trail; ``ListPolicies`` the loaded policies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from sagaline.messages.base import Command, Message, Reply
from sagaline.messages.ids import GivenId

__all__ = [
    "EvaluatePolicy",
    "PolicyDecided",
    "DecisionRecord",
    "ListDecisions",
    "DecisionsPage",
    "PolicySummary",
    "ListPolicies",
    "PoliciesPage",
]


class EvaluatePolicy(Command):
    """Decide whether the action described by ``subject`` may happen."""

    subject: dict[str, Any]
    """Facts about the action; ``action`` picks the governing policy."""


class PolicyDecided(Reply):
    """The decision (allow or deny), already audited."""

    decision_id: str
    """The audit row's id (UUID v7)."""
    effect: Literal["allow", "deny"]
    """allow or deny."""
    reasons: list[str]
    """Why (each failed rule's reason for a denial)."""
    policy_id: str
    """The deciding policy (``none`` when no policy governs the action)."""
    policy_version: int
    """Its version (0 for ``none``)."""
    failed: list[str] = Field(default_factory=list)
    """Ids of the rules and freezes that denied."""
    decided_at: datetime
    """Evaluation time (UTC)."""


class DecisionRecord(Message):
    """One audited decision."""

    decision_id: str
    """Its id (UUID v7)."""
    decided_at: datetime
    """Evaluation time (UTC)."""
    action: str
    """The subject's action."""
    subject: dict[str, Any]
    """The subject as evaluated."""
    effect: Literal["allow", "deny"]
    """allow or deny."""
    reasons: list[str]
    """Why."""
    policy_id: str
    """The deciding policy."""
    policy_version: int
    """Its version."""
    failed: list[str] = Field(default_factory=list)
    """Ids of the rules and freezes that denied."""
    correlation_id: str | None = None
    """The saga run that asked."""


class ListDecisions(Command):
    """The audit trail, newest first."""

    limit: int = Field(default=50, ge=1, le=1000)
    """How many at most (1 to 1000)."""
    correlation_id: GivenId | None = None
    """Only this run's decisions (any letter case)."""
    effect: Literal["allow", "deny"] | None = None
    """Only allows or only denials."""


class DecisionsPage(Reply):
    """Answer to :class:`ListDecisions`."""

    decisions: list[DecisionRecord]
    """Newest first."""


class PolicySummary(Message):
    """A loaded policy, briefly."""

    policy_id: str
    """Its id."""
    version: int
    """Its version."""
    actions: list[str]
    """Actions it governs."""
    rules: list[str]
    """Its rule and freeze ids."""
    source: str
    """The file it came from."""


class ListPolicies(Command):
    """The policies crown loaded."""


class PoliciesPage(Reply):
    """Answer to :class:`ListPolicies`."""

    policies: list[PolicySummary]
    """By id."""
