"""The crown domain: the policy engine behind the crown actor.

:class:`CrownService` loads its policies when it starts
(:func:`~thunderline.domains.policy.load_policy`; a bad file raises
:class:`~thunderline.domains.policy.PolicyError` naming the file and field, so
the crown actor refuses to start), then answers:

``EvaluatePolicy``
    ``PolicyDecided``: the decision of the policy governing
    ``subject["action"]`` at the service clock's ``now`` (a denial when no
    policy governs it), audited in the ``decisions`` table in the same
    transaction as the ledger row: once per idempotency key, a re-sent
    command gets the first decision back. A denial is an answer, not a
    failure. ``invalid_subject`` when the subject cannot be stored (a value
    the codec cannot carry).
``ListDecisions`` / ``ListPolicies``
    Read the audit trail (newest first) / the loaded policies.

Every command: ``idempotency_key_missing`` / ``idempotency_key_conflict``,
``storage_unavailable`` (retryable) / ``storage_failed``, ``unsupported_command``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sagaline.domains.service import Handler, answer
from sagaline.messages.base import Reply
from sagaline.messages.codec import CodecError, pack_value
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure
from sagaline.storage.sqlite import Clock, read_clock, utc_now
from thunderline.domains.policy import DEFAULT_POLICY_PATH, Policy, decide, index_policies, load_policy
from thunderline.messages.crown import (
    DecisionRecord,
    DecisionsPage,
    EvaluatePolicy,
    ListDecisions,
    ListPolicies,
    PoliciesPage,
    PolicyDecided,
    PolicySummary,
)
from thunderline.storage.crown_store import CrownStore

__all__ = ["CrownConfig", "CrownService"]


@dataclass(frozen=True)
class CrownConfig:
    """Crown's settings."""

    policy_paths: tuple[str, ...] = field(default_factory=lambda: (str(DEFAULT_POLICY_PATH),))
    """Policy files (TOML) to load; the shipped default when not configured."""


class CrownService:
    """Evaluates and audits policy decisions over a :class:`CrownStore`."""

    def __init__(self, store: CrownStore, clock: Clock = utc_now, config: CrownConfig = CrownConfig()) -> None:
        """Args:
        store: Crown's open store.
        clock: Returns the current aware UTC time (policies are judged at it).
        config: :class:`CrownConfig`.
        """
        self.store = store
        self.config = config
        self._clock = clock
        self._policies: list[tuple[Policy, str]] = []
        self._by_action: dict[str, Policy] = {}
        self._handlers: dict[type, Handler] = {
            EvaluatePolicy: self._evaluate,
            ListDecisions: self._list_decisions,
            ListPolicies: self._list_policies,
        }

    async def start(self) -> None:
        """Load and index every configured policy file.

        Raises:
            PolicyError: A file is unreadable or invalid, or two policies
                govern one action; the message says which and why.
        """
        self._policies = [(load_policy(path), str(path)) for path in self.config.policy_paths]
        self._by_action = index_policies([p for p, _ in self._policies])

    async def handle(self, command: object) -> Reply:
        """Apply one crown command; the outcomes are in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    async def _evaluate(self, cmd: EvaluatePolicy) -> Reply:
        now = read_clock(self._clock)
        try:
            pack_value(cmd.subject)
        except CodecError as exc:
            return failure(cmd, "invalid_subject", f"the subject cannot be audited: {exc}")

        async def effect(conn: Connection) -> Reply:
            decision = decide(self._by_action, cmd.subject, now)
            record = DecisionRecord(
                decision_id=uuid7(),
                decided_at=now,
                action=str(cmd.subject.get("action")),
                subject=cmd.subject,
                effect=decision.effect,
                reasons=list(decision.reasons),
                policy_id=decision.policy_id,
                policy_version=decision.policy_version,
                failed=list(decision.failed),
                correlation_id=cmd.headers.correlation_id,
            )
            await self.store.insert_decision(conn, record, cmd.headers.idempotency_key or "")
            return PolicyDecided(
                headers=cmd.headers,
                decision_id=record.decision_id,
                effect=record.effect,
                reasons=record.reasons,
                policy_id=record.policy_id,
                policy_version=record.policy_version,
                failed=record.failed,
                decided_at=now,
            )

        return await self.store.apply_once(cmd, effect, now)

    async def _list_decisions(self, cmd: ListDecisions) -> Reply:
        rows = await self.store.decisions(cmd.limit, cmd.correlation_id, cmd.effect)
        return DecisionsPage(headers=cmd.headers, decisions=rows)

    async def _list_policies(self, cmd: ListPolicies) -> Reply:
        summaries = [
            PolicySummary(
                policy_id=p.id,
                version=p.version,
                actions=list(p.actions),
                rules=[r.id for r in p.rules] + [f.id for f in p.freezes],
                source=source,
            )
            for p, source in sorted(self._policies, key=lambda ps: ps[0].id)
        ]
        return PoliciesPage(headers=cmd.headers, policies=summaries)


def policy_paths(config: dict) -> tuple[str, ...]:
    """The ``policy_paths`` of a crown actor's config mapping, as a tuple of strings."""
    paths = config.get("policy_paths")
    return (str(DEFAULT_POLICY_PATH),) if not paths else tuple(str(Path(p)) for p in paths)
