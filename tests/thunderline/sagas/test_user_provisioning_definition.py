"""UserProvisioning's definition, driven in-process against a dict-backed fake domain."""

import datetime as dt

import pytest

from sagaline.events.flow import EventPublished, PublishEvent
from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import uuid7
from sagaline.saga import Driver
from thunderline.messages.block import DeprovisionVault, ProvisionVault, VaultDeprovisioned, VaultProvisioned
from thunderline.messages.gate import (
    CreateUser,
    DeleteUser,
    IssueToken,
    MagicLinkSent,
    RevokeToken,
    SendMagicLink,
    TokenIssued,
    TokenRevoked,
    UserCreated,
    UserDeleted,
)
from thunderline.messages.link import CommunityJoined, CommunityLeft, JoinCommunity, LeaveCommunity
from thunderline.sagas import user_provisioning

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


class FakeDomains:
    """Effects keyed by the idempotency key that made them; fails chosen commands."""

    def __init__(self, fail: type | None = None):
        self.fail = fail
        self.effects: dict[str, dict] = {"token": {}, "user": {}, "vault": {}, "membership": {}}
        self.mail: list[SendMagicLink] = []
        self.events: list = []

    def __call__(self, target, cmd):
        h = cmd.headers
        if self.fail is not None and isinstance(cmd, self.fail):
            return CommandFailed(headers=h, code="forced", message=f"forced failure of {type(cmd).__name__}")
        key = h.idempotency_key
        if isinstance(cmd, IssueToken):
            self.effects["token"][key] = uuid7()
            return TokenIssued(headers=h, token=self.effects["token"][key], email=cmd.email, expires_at=NOW)
        if isinstance(cmd, SendMagicLink):
            self.mail.append(cmd)
            return MagicLinkSent(headers=h, message_id="m1", backend="outbox")
        if isinstance(cmd, CreateUser):
            self.effects["user"][key] = uuid7()
            return UserCreated(headers=h, user_id=self.effects["user"][key], email=cmd.email, created_at=NOW)
        if isinstance(cmd, ProvisionVault):
            self.effects["vault"][key] = uuid7()
            return VaultProvisioned(
                headers=h,
                vault_id=self.effects["vault"][key],
                user_id=cmd.user_id,
                capacity_bytes=cmd.capacity_bytes,
                tier=cmd.tier,
                encrypted=cmd.encrypted,
            )
        if isinstance(cmd, JoinCommunity):
            self.effects["membership"][key] = uuid7()
            return CommunityJoined(
                headers=h,
                membership_id=self.effects["membership"][key],
                community_id="general",
                user_id=cmd.user_id,
                role=cmd.role,
            )
        if isinstance(cmd, PublishEvent):
            self.events.append(cmd.event)
            return EventPublished(headers=h, event_id=cmd.event.id, accepted=True)
        undo = {
            RevokeToken: ("token", TokenRevoked, "token"),
            DeleteUser: ("user", UserDeleted, "user_id"),
            DeprovisionVault: ("vault", VaultDeprovisioned, "vault_id"),
            LeaveCommunity: ("membership", CommunityLeft, "membership_id"),
        }
        table, reply, field = undo[type(cmd)]
        return reply(headers=h, **{field: self.effects[table].pop(cmd.effect_key, None)})

    def live(self):
        return {k: len(v) for k, v in self.effects.items()}


def run(domains, email="ada@example.com"):
    return Driver(user_provisioning.definition(), dispatch=domains).run(
        {"email": email, "magic_link_redirect": "/welcome"}
    )


def test_the_happy_path_creates_user_vault_membership_and_one_event_and_mails_the_link():
    domains = FakeDomains()
    report = run(domains)
    assert report.status == "completed"
    assert domains.live() == {"token": 1, "user": 1, "vault": 1, "membership": 1}
    assert set(report.finished.result) == {"user", "vault", "membership", "event_id"}
    [event] = domains.events
    assert event.name == "user.onboarding.complete" and event.correlation_id == report.state.run_id
    assert event.payload["vault_id"] == report.finished.result["vault"]["vault_id"]
    [mail] = domains.mail
    assert mail.headers.correlation_id == report.state.run_id and mail.redirect == "/welcome"


def test_vault_and_membership_are_dispatched_together():
    domains = FakeDomains()
    report = run(domains)
    starts = [(e.step, i) for i, e in enumerate(report.timeline) if e.what == "run"]
    names = [s for s, _ in starts]
    i_vault, i_comm = names.index("provision_vault"), names.index("create_default_community")
    assert abs(i_vault - i_comm) == 1  # both started before either answered


@pytest.mark.parametrize(
    "failing, code",
    [
        (IssueToken, "forced"),
        (SendMagicLink, "magic_link_send_failed"),
        (CreateUser, "user_creation_failed"),
        (ProvisionVault, "vault_provisioning_failed"),
        (JoinCommunity, "community_join_failed"),
    ],
)
def test_a_failure_at_any_step_leaves_no_token_user_vault_or_membership(failing, code):
    domains = FakeDomains(fail=failing)
    report = run(domains)
    assert report.status == "failed"
    assert report.finished.error.code == code
    assert domains.live() == {"token": 0, "user": 0, "vault": 0, "membership": 0}
    assert domains.events == []


def test_an_invalid_email_fails_before_any_effect():
    domains = FakeDomains()
    report = run(domains, email="not an email")
    assert report.finished.error.code == "invalid_email_format"
    assert domains.live() == {"token": 0, "user": 0, "vault": 0, "membership": 0}
    assert domains.mail == []


def test_a_failing_event_bus_does_not_fail_the_saga():
    domains = FakeDomains(fail=PublishEvent)
    report = run(domains)
    assert report.status == "completed"
    assert report.finished.result["event_id"] is None
    assert domains.live() == {"token": 1, "user": 1, "vault": 1, "membership": 1}
