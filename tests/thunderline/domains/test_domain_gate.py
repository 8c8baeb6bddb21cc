"""Gate: tokens, magic links through the outbox, users; exactly once per key."""

from __future__ import annotations

from datetime import timedelta

from sagaline.messages.common import CommandFailed
from sagaline.messages.ids import is_uuid7
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

EMAIL = "ada@example.org"


def issue(run, gate, saga, step="token", email=EMAIL, **kw):
    return run(gate.handle(IssueToken(headers=saga.headers(step), email=email, **kw)))


def create(run, gate, saga, step="user", email=EMAIL):
    return run(gate.handle(CreateUser(headers=saga.headers(step), email=email)))


def test_issuing_a_token_gives_a_uuid7_that_expires_an_hour_later(run, gate, saga, clock):
    reply = issue(run, gate, saga)
    assert isinstance(reply, TokenIssued) and is_uuid7(reply.token)
    assert reply.expires_at == clock.now + timedelta(seconds=3600)
    assert reply.headers == saga.headers("token")
    [live] = run(gate.live_tokens())
    assert (live.token, live.email, live.correlation_id, live.created_by_key) == (
        reply.token,
        EMAIL,
        saga.correlation_id,
        saga.key("token"),
    )


def test_a_token_stops_being_live_when_it_expires(run, gate, saga, clock):
    issue(run, gate, saga, ttl_seconds=60)
    clock.advance(59)
    assert len(run(gate.live_tokens())) == 1
    clock.advance(1)
    assert run(gate.live_tokens()) == []


def test_a_reissued_token_command_returns_the_same_token_and_adds_no_row(run, gate, saga):
    first = issue(run, gate, saga)
    assert issue(run, gate, saga) == first
    assert run(gate.store.rows_per_key())["tokens"] == {saga.key("token"): 1}


def test_a_token_with_a_non_positive_ttl_or_a_bad_email_is_refused(run, gate, saga):
    assert issue(run, gate, saga, "t1", ttl_seconds=0).code == "token_issue_failed"
    assert issue(run, gate, saga, "t2", email="not an email").code == "invalid_email_format"
    assert run(gate.store.tokens()) == []


def test_revoking_by_effect_key_kills_the_token_and_is_harmless_twice(run, gate, saga):
    token = issue(run, gate, saga).token
    revoked = run(gate.handle(RevokeToken(headers=saga.headers("revoke"), effect_key=saga.key("token"))))
    assert isinstance(revoked, TokenRevoked) and revoked.token == token
    assert run(gate.live_tokens()) == []
    again = run(gate.handle(RevokeToken(headers=saga.headers("revoke2"), effect_key=saga.key("token"))))
    assert again.token == token


def test_revoking_an_effect_that_never_happened_succeeds_with_no_token(run, gate, saga):
    reply = run(gate.handle(RevokeToken(headers=saga.headers("revoke"), effect_key="never-issued")))
    assert isinstance(reply, TokenRevoked) and reply.token is None


def send(run, gate, saga, token, step="send", redirect="/welcome", email=EMAIL):
    return run(gate.handle(SendMagicLink(headers=saga.headers(step), email=email, token=token, redirect=redirect)))


def test_a_magic_link_goes_to_the_outbox_with_the_link_and_the_correlation_id(run, gate, saga):
    token = issue(run, gate, saga).token
    reply = send(run, gate, saga, token)
    assert isinstance(reply, MagicLinkSent) and reply.backend == "outbox"
    [mail] = run(gate.outbox())
    assert mail.message_id == reply.message_id and mail.recipient == EMAIL
    assert f"http://localhost:4000/welcome?token={token}" in mail.body
    assert saga.correlation_id in mail.body
    assert mail.headers["X-Correlation-ID"] == mail.correlation_id == saga.correlation_id
    assert mail.created_by_key == saga.key("send")


def test_resending_the_same_magic_link_key_writes_no_second_mail(run, gate, saga):
    token = issue(run, gate, saga).token
    first = send(run, gate, saga, token)
    assert send(run, gate, saga, token) == first
    assert len(run(gate.outbox())) == 1


def test_a_link_with_a_dead_token_or_a_foreign_redirect_is_not_sent(run, gate, saga, clock):
    token = issue(run, gate, saga, ttl_seconds=10).token
    offsite = send(run, gate, saga, token, "s1", redirect="@evil.example/x")
    wrong_mail = send(run, gate, saga, token, "s2", email="bob@example.org")
    clock.advance(10)
    expired = send(run, gate, saga, token, "s3")
    assert [r.code for r in (offsite, wrong_mail, expired)] == ["magic_link_send_failed"] * 3
    assert run(gate.outbox()) == []


def test_the_link_keeps_a_query_in_the_redirect(gate):
    assert gate.link("/a?b=1", "T") == "http://localhost:4000/a?b=1&token=T"


def test_creating_a_user_records_email_origin_and_run(run, gate, saga, clock):
    reply = create(run, gate, saga)
    assert isinstance(reply, UserCreated) and is_uuid7(reply.user_id) and reply.created_at == clock.now
    [user] = run(gate.users())
    assert (user.id, user.email, user.created_via, user.correlation_id, user.created_by_key) == (
        reply.user_id,
        EMAIL,
        "magic_link",
        saga.correlation_id,
        saga.key("user"),
    )


def test_a_taken_email_fails_naming_it_and_the_failure_is_remembered(run, gate, saga):
    create(run, gate, saga)
    taken = create(run, gate, saga, "user-again", email="ADA@example.org")
    assert isinstance(taken, CommandFailed) and taken.code == "user_creation_failed"
    assert "ADA@example.org" in taken.message and not taken.retryable
    run(gate.handle(DeleteUser(headers=saga.headers("undo"), effect_key=saga.key("user"))))
    # The email is free now, but the key already has its answer.
    assert create(run, gate, saga, "user-again", email="ADA@example.org") == taken
    assert run(gate.users()) == []


def test_a_duplicate_create_returns_the_same_user_and_adds_no_row(run, gate, saga):
    first = create(run, gate, saga)
    assert create(run, gate, saga) == first
    assert run(gate.store.rows_per_key())["users"] == {saga.key("user"): 1}


def test_deleting_a_user_by_effect_key_removes_it_and_revokes_its_live_tokens(run, gate, saga):
    issue(run, gate, saga)
    user_id = create(run, gate, saga).user_id
    reply = run(gate.handle(DeleteUser(headers=saga.headers("undo"), effect_key=saga.key("user"))))
    assert isinstance(reply, UserDeleted) and reply.user_id == user_id
    assert run(gate.users()) == [] and run(gate.live_tokens()) == []


def test_deleting_a_user_that_was_never_created_succeeds_with_no_id(run, gate, saga):
    reply = run(gate.handle(DeleteUser(headers=saga.headers("undo"), effect_key=saga.key("user"))))
    assert isinstance(reply, UserDeleted) and reply.user_id is None


def test_an_invalid_email_is_refused_with_the_sagas_code(run, gate, saga):
    assert create(run, gate, saga, email="nobody").code == "invalid_email_format"
