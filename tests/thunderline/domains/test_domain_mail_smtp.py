"""The SMTP sender against a real local SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest

from sagaline.messages.common import CommandFailed
from thunderline.domains.gate import GateService
from thunderline.domains.mail import MailSendError, SmtpConfig, SmtpSender
from thunderline.messages.gate import IssueToken, MagicLinkSent, SendMagicLink

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

EMAIL = "ada@example.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every mail, or answers DATA with ``reply``."""

    def __init__(self) -> None:
        self.mails = []
        self.reply = "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reply.startswith("250"):
            self.mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return self.reply


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, SmtpConfig(host="127.0.0.1", port=controller.port, sender="gate@sagaline.test", timeout=5)
    controller.stop()


@pytest.fixture
def smtp_gate(gate, smtp):
    inbox, config = smtp
    return GateService(gate.store, gate._clock, gate.config, SmtpSender(config)), inbox


def send_link(run, gate, saga, step="send"):
    token = run(gate.handle(IssueToken(headers=saga.headers("token"), email=EMAIL))).token
    reply = run(gate.handle(SendMagicLink(headers=saga.headers(step), email=EMAIL, token=token, redirect="/welcome")))
    return token, reply


def test_the_smtp_sender_delivers_a_mail_with_its_headers(run, smtp):
    inbox, config = smtp
    message_id = run(SmtpSender(config).send(EMAIL, "hi", "body", {"X-Correlation-ID": "c-1"}))
    [(rcpt, mail)] = inbox.mails
    assert rcpt == [EMAIL] and mail["From"] == "gate@sagaline.test"
    assert mail["Message-ID"] == message_id and mail["X-Correlation-ID"] == "c-1"


def test_a_magic_link_over_smtp_carries_the_correlation_id_in_header_and_body(run, smtp_gate, saga):
    gate, inbox = smtp_gate
    token, reply = send_link(run, gate, saga)
    assert isinstance(reply, MagicLinkSent) and reply.backend == "smtp"
    [(_, mail)] = inbox.mails
    assert mail["X-Correlation-ID"] == saga.correlation_id and mail["Message-ID"] == reply.message_id
    body = mail.get_payload(decode=True).decode()
    assert saga.correlation_id in body and f"/welcome?token={token}" in body
    assert run(gate.outbox()) == []  # SMTP, not the outbox


def test_resending_after_a_success_sends_no_second_mail(run, smtp_gate, saga):
    gate, inbox = smtp_gate
    _, first = send_link(run, gate, saga)
    _, again = send_link(run, gate, saga)
    assert again == first and len(inbox.mails) == 1


def test_a_server_that_is_down_gives_a_retryable_failure_and_the_retry_can_send(run, gate, saga, smtp):
    inbox, config = smtp
    down = GateService(
        gate.store, gate._clock, gate.config, SmtpSender(SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2))
    )
    _, failed = send_link(run, down, saga)
    assert isinstance(failed, CommandFailed)
    assert (failed.code, failed.retryable) == ("magic_link_send_failed", True)
    up = GateService(gate.store, gate._clock, gate.config, SmtpSender(config))
    _, sent = send_link(run, up, saga)  # same key: the failure was not remembered
    assert isinstance(sent, MagicLinkSent) and len(inbox.mails) == 1


def test_a_temporary_refusal_is_retryable_and_a_permanent_one_is_not(run, smtp):
    inbox, config = smtp
    inbox.reply = "451 try again later"
    with pytest.raises(MailSendError) as temporary:
        run(SmtpSender(config).send(EMAIL, "s", "b", {}))
    inbox.reply = "554 no thanks"
    with pytest.raises(MailSendError) as permanent:
        run(SmtpSender(config).send(EMAIL, "s", "b", {}))
    assert temporary.value.retryable and not permanent.value.retryable
    assert inbox.mails == []
