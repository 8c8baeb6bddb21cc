"""The crown service: decisions of the loaded policies, audited once per idempotency key;
a bad policy file stops crown from starting, naming the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sagaline.actors.spawn import ActorStartFailed, start_actor
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.storage.aio import AsyncRunner
from thunderline.domains.crown import CrownConfig, CrownService
from thunderline.domains.policy import PolicyError
from thunderline.messages.crown import EvaluatePolicy, ListDecisions, ListPolicies, PolicyDecided
from thunderline.storage.crown_store import CrownStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GOOD = {
    "action": "upm.activate",
    "drift_score": 0.05,
    "sample_count": 500,
    "trained_by": "bolt",
    "created_at": NOW - timedelta(days=1),
}


@pytest.fixture
def crown(store_location):
    runner = AsyncRunner("test-crown")
    store = runner.run(CrownStore.open(store_location("crown")), 10)
    service = CrownService(store, lambda: NOW)
    runner.run(service.start(), 10)

    def ask(command_type, correlation_id=None, key=None, **fields):
        headers = Headers(correlation_id=correlation_id or uuid7(), idempotency_key=key or uuid7())
        return runner.run(service.handle(command_type(headers=headers, **fields)), 10)

    yield ask
    runner.run(store.close(), 10)
    runner.close()


def test_an_allow_and_a_deny_are_both_answers_and_both_audited(crown):
    run = uuid7()
    allow = crown(EvaluatePolicy, correlation_id=run, subject=GOOD)
    deny = crown(EvaluatePolicy, correlation_id=run, subject={**GOOD, "drift_score": 0.5})
    assert isinstance(allow, PolicyDecided) and allow.effect == "allow"
    assert (deny.effect, deny.failed, deny.policy_id) == ("deny", ["drift-below-bound"], "upm-activation")
    audit = crown(ListDecisions, correlation_id=run).decisions
    assert [d.decision_id for d in audit] == [deny.decision_id, allow.decision_id]  # newest first
    assert audit[0].subject == {**GOOD, "drift_score": 0.5} and audit[0].reasons == deny.reasons
    assert [d.effect for d in crown(ListDecisions, effect="deny").decisions] == ["deny"]


def test_a_resent_evaluation_gets_the_first_decision_and_leaves_one_audit_row(crown):
    first = crown(EvaluatePolicy, key="k", subject=GOOD)
    again = crown(EvaluatePolicy, key="k", subject=GOOD)
    assert first == again and len(crown(ListDecisions).decisions) == 1


def test_an_action_without_a_policy_is_denied_and_audited(crown):
    decision = crown(EvaluatePolicy, subject={"action": "drop.tables"})
    assert (decision.effect, decision.policy_id) == ("deny", "none")
    assert crown(ListDecisions).decisions[0].action == "drop.tables"


def test_a_subject_that_cannot_be_audited_is_refused(crown):
    assert crown(EvaluatePolicy, subject={"action": "upm.activate", "x": object()}).code == "invalid_subject"


def test_the_loaded_policies_can_be_listed(crown):
    [summary] = crown(ListPolicies).policies
    assert (summary.policy_id, summary.actions) == ("upm-activation", ["upm.activate"])
    assert summary.source.endswith("default.toml") and "trusted-trainer" in summary.rules


def test_a_bad_policy_file_stops_the_service_from_starting(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nversion = 0\nactions = ["a"]\n')
    runner = AsyncRunner("test-crown-bad")
    store = runner.run(CrownStore.open(tmp_path / "crown.db"), 10)
    try:
        with pytest.raises(PolicyError, match=r"bad.toml: version"):
            runner.run(CrownService(store, config=CrownConfig(policy_paths=(str(bad),))).start(), 10)
    finally:
        runner.run(store.close(), 10)
        runner.close()


def test_a_crown_actor_with_a_bad_policy_file_fails_to_start_naming_it(actor_system, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nversion = 1\nactions = ["a"]\n[[rules]]\nid = "r"\nfield = "f"\nop = "nope"\n')
    args = {"db_path": str(tmp_path / "crown.db"), "config": {"policy_paths": [str(bad)]}}
    with pytest.raises(ActorStartFailed) as caught:
        start_actor(actor_system, "thunderline.actors.crown.CrownActor", args)
    assert caught.value.reason.error_type == "PolicyError"
    assert "bad.toml: rules.0.op" in caught.value.reason.detail


def test_a_crown_actor_answers_evaluations(actor_system, tmp_path):
    crown = start_actor(actor_system, "thunderline.actors.crown.CrownActor", {"db_path": str(tmp_path / "c.db")})
    reply = actor_system.ask(
        crown,
        EvaluatePolicy(
            headers=Headers(correlation_id=uuid7(), idempotency_key="k"),
            subject={**GOOD, "created_at": datetime.now(UTC)},
        ),
    )
    assert not isinstance(reply, CommandFailed) and reply.effect == "allow"
