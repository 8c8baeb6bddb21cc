"""UserProvisioning end to end on both Thespian bases: actors, SQLite, the bus."""

from __future__ import annotations

import pytest

from sagaline.client import SagaRefusedError
from sagaline.messages.base import Headers
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from thunderline.messages.gate import CreateUser, UserCreated

SAGA = "user_provisioning"
NOTHING = {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0}


def test_the_happy_path_leaves_user_vault_membership_one_event_and_a_mail_naming_the_run(make_tree):
    t = make_tree()
    out = t.client.run(SAGA, {"email": "ada@example.com", "magic_link_redirect": "/welcome"})
    assert out.status == "completed", out
    assert t.db.effects() == {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
    user_id = out.result["user"]["user_id"]
    assert t.db.rows("block", "SELECT user_id, capacity_bytes, tier, encrypted FROM vaults") == [
        (user_id, 1073741824, "standard", 1)
    ]
    assert t.db.rows("link", "SELECT user_id, role FROM memberships") == [(user_id, "member")]
    events = t.db.rows("flow", "SELECT name, correlation_id FROM events")
    assert events == [
        ("user.onboarding.complete", out.correlation_id),  # the saga's last step
        ("reactor.saga.complete", out.correlation_id),
    ]  # the run's own announcement
    [(body, correlation)] = t.db.rows("gate", "SELECT body, correlation_id FROM outbox")
    assert correlation == out.correlation_id and out.correlation_id in body and "/welcome" in body


@pytest.mark.parametrize(
    "command, step, code",
    [
        ("IssueToken", "generate_token", "forced"),
        ("SendMagicLink", "send_magic_link", "magic_link_send_failed"),
        ("CreateUser", "create_user", "user_creation_failed"),
        ("ProvisionVault", "provision_vault", "vault_provisioning_failed"),
        ("JoinCommunity", "create_default_community", "community_join_failed"),
    ],
)
def test_a_forced_failure_at_any_step_leaves_nothing_behind(make_tree, command, step, code):
    domain = {
        "IssueToken": "gate",
        "SendMagicLink": "gate",
        "CreateUser": "gate",
        "ProvisionVault": "block",
        "JoinCommunity": "link",
    }[command]
    t = make_tree(faults={domain: [{"command": command, "code": "forced"}]})
    out = t.client.run(SAGA, {"email": "ada@example.com"})
    assert out.status == "failed"
    assert out.failed_step == step
    assert out.error["code"] == code
    assert t.db.effects() == NOTHING
    # no user.onboarded: the bus carries only the run's own announcement that it rolled back
    assert t.db.rows("flow", "SELECT name FROM events") == [("reactor.saga.fail",)]


def test_an_email_already_registered_fails_cleanly_and_rolls_back_its_token(make_tree):
    t = make_tree()
    assert t.client.run(SAGA, {"email": "ada@example.com"}).status == "completed"
    second = t.client.run(SAGA, {"email": "ADA@example.com"})
    assert second.status == "failed" and second.error["code"] == "user_creation_failed"
    assert t.db.effects() == {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}


def test_an_invalid_email_fails_before_any_effect(make_tree):
    t = make_tree()
    out = t.client.run(SAGA, {"email": "not-an-email"})
    assert out.status == "failed" and out.error["code"] == "invalid_email_format"
    assert t.db.effects() == NOTHING


def test_a_duplicate_start_by_correlation_id_returns_the_same_run(make_tree):
    t = make_tree()
    cid = uuid7()
    first = t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    again = t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    assert first.correlation_id == again.correlation_id == cid
    assert not first.existing and again.existing
    assert t.client.wait(cid).status == "completed"
    late = t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    assert late.existing
    assert t.db.count("gate", "users") == 1


def test_a_running_run_is_registered_under_its_correlation_id(make_tree):
    t = make_tree(faults={"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.5}]})
    accepted = t.client.start(SAGA, {"email": "ada@example.com"})
    entries = t.handle.ask(t.tree.registry, Lookup(key=f"saga:{accepted.correlation_id}"), 5)
    assert [e.holder for e in entries.entries] == [accepted.address]
    assert t.client.wait(accepted.correlation_id).status == "completed"


@pytest.mark.parametrize(
    "given, code",
    [("not-a-uuid", "invalid_correlation_id"), ("01a21f9e-772c-405c-ba40-14c2f52cec1d", "invalid_correlation_id")],
)
def test_a_malformed_correlation_id_is_refused_with_a_clear_error(make_tree, given, code):
    t = make_tree()
    with pytest.raises(SagaRefusedError) as err:
        t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=given)
    assert err.value.code == code and "UUID v7" in str(err.value)


def test_an_upper_case_correlation_id_names_the_same_run_as_its_lower_case_form(make_tree):
    t = make_tree()
    cid, cause = uuid7(), uuid7()
    out = t.client.run(SAGA, {"email": "ada@example.com"}, correlation_id=cid.upper(), causation_id=cause.upper())
    assert (out.status, out.correlation_id) == ("completed", cid)
    again = t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    assert (again.existing, again.correlation_id) == (True, cid)
    assert t.client.wait(cid.upper()).correlation_id == cid
    # the causation id the run was started with is the causation of the event it emits
    assert t.db.rows("flow", "SELECT name, correlation_id, causation_id FROM events WHERE name LIKE 'user.%'") == [
        ("user.onboarding.complete", cid, cause)
    ]


def test_missing_inputs_and_unknown_sagas_are_refused(make_tree):
    t = make_tree()
    with pytest.raises(SagaRefusedError, match="email: required"):
        t.client.start(SAGA, {})
    with pytest.raises(SagaRefusedError, match="unknown_saga"):
        t.client.start("no_such_saga", {})


def test_a_redelivered_domain_command_is_applied_once_and_answered_alike(make_tree):
    t = make_tree()
    gate = t.handle.ask(t.tree.registry, Lookup(key="domain:gate"), 5).entries[0].holder
    headers = Headers(correlation_id=uuid7(), idempotency_key="run-x:create_user:run:0")
    first = t.handle.ask(gate, CreateUser(headers=headers, email="bo@example.com"), 5)
    second = t.handle.ask(gate, CreateUser(headers=headers, email="bo@example.com"), 5)
    assert isinstance(first, UserCreated) and second == first
    assert t.db.count("gate", "users") == 1
    other = t.handle.ask(
        gate, CreateUser(headers=headers.model_copy(update={"idempotency_key": "k2"}), email="bo@example.com"), 5
    )
    assert isinstance(other, CommandFailed) and other.code == "user_creation_failed"
