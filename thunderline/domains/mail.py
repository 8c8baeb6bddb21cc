"""Magic-link senders: one small interface, an outbox back-end and an SMTP one.

:class:`MailSender` is the seam: ``await sender.send(to, subject, body,
headers) -> message_id``. The gate service builds the mail (link, body and
headers carrying the correlation id, a ``Message-ID``) and hands it over;
which back-end carries it is configuration:

- :class:`OutboxSender` (the embedded default, no server): writes the mail
  to gate's ``outbox`` table. Called inside the gate command's transaction,
  it joins it, so the mail row and the idempotency record commit together.
- :class:`SmtpSender`: hands the mail to an SMTP server with the standard
  library's ``smtplib``, run in the event loop's default executor so the
  loop stays free. Config: :class:`SmtpConfig`.

Errors::

    SagalineError
    +-- MailSendError     the mail was not accepted; ``retryable`` says
                          whether trying again may help (connection refused,
                          timeout, 4xx: yes; a 5xx refusal: no)

The gate service turns ``MailSendError`` into ``CommandFailed(code=
"magic_link_send_failed", retryable=...)``. A retryable failure is not
remembered under the idempotency key, so the saga's retry can still send.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, Protocol

from sagaline.errors import SagalineError
from sagaline.messages.ids import uuid7
from sagaline.storage.sqlite import Clock, utc_now
from thunderline.storage.gate_store import GateStore, OutboxRow

__all__ = [
    "MailSender",
    "MailSendError",
    "OutboxSender",
    "SmtpConfig",
    "SmtpSender",
    "MESSAGE_ID",
    "CORRELATION_HEADER",
    "KEY_HEADER",
]

#: Header names the gate sets on every magic-link mail.
MESSAGE_ID = "Message-ID"
CORRELATION_HEADER = "X-Correlation-ID"
KEY_HEADER = "X-Idempotency-Key"


class MailSendError(SagalineError):
    """A mail was not handed over. Raised by :meth:`MailSender.send`.

    Attributes:
        retryable: True when sending the same mail later may succeed.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class MailSender(Protocol):
    """Carries one mail somewhere; the seam between gate and a mail system."""

    backend: Literal["outbox", "smtp"]
    """Which back-end this is (reported in ``MagicLinkSent.backend``)."""

    async def send(self, to: str, subject: str, body: str, headers: Mapping[str, str]) -> str:
        """Send one plain-text mail.

        Args:
            to: Recipient address.
            subject: Subject line.
            body: Plain-text body.
            headers: Extra headers; ``Message-ID`` is used when present.

        Returns:
            The mail's Message-ID.

        Raises:
            MailSendError: the mail was not accepted.
        """
        ...


class OutboxSender:
    """Writes mails to gate's ``outbox`` table instead of sending them."""

    backend: Literal["outbox", "smtp"] = "outbox"

    def __init__(self, store: GateStore, clock: Clock = utc_now) -> None:
        """Args: store: gate's store (its ``outbox`` table); clock: stamps ``created_at``."""
        self._store = store
        self._clock = clock

    async def send(self, to: str, subject: str, body: str, headers: Mapping[str, str]) -> str:
        """Write the mail as one outbox row (see :meth:`MailSender.send`).

        The row's ``correlation_id`` and ``created_by_key`` come from the
        ``X-Correlation-ID`` and ``X-Idempotency-Key`` headers.

        Raises:
            MailSendError: ``headers`` has no ``Message-ID`` (the outbox's key).
            StorageError: the write failed (propagates: a storage failure,
                not a mail one).
        """
        message_id = headers.get(MESSAGE_ID)
        if not message_id:
            raise MailSendError("an outbox mail needs a Message-ID header", retryable=False)
        await self._store.insert_outbox(
            OutboxRow(
                message_id,
                to,
                subject,
                body,
                dict(headers),
                headers.get(CORRELATION_HEADER),
                self._clock(),
                headers.get(KEY_HEADER),
            )
        )
        return message_id


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how :class:`SmtpSender` delivers."""

    host: str = "127.0.0.1"
    """SMTP server host."""
    port: int = 25
    """SMTP server port."""
    sender: str = "sagaline@localhost"
    """The From address (also the envelope sender)."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS (server certificate verified)."""
    timeout: float = 10.0
    """Seconds for connecting and for each SMTP exchange."""
    username: str | None = None
    """Log in with these credentials when set (after STARTTLS)."""
    password: str | None = None
    """Password for ``username``."""


class SmtpSender:
    """Sends mails through an SMTP server (stdlib ``smtplib``, one connection per mail)."""

    backend: Literal["outbox", "smtp"] = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        """Args: config: server, From address, STARTTLS, timeout, credentials."""
        self.config = config

    async def send(self, to: str, subject: str, body: str, headers: Mapping[str, str]) -> str:
        """Hand the mail to the server (see :meth:`MailSender.send`).

        Runs the blocking ``smtplib`` exchange in the loop's default executor.

        Raises:
            MailSendError: connection failed, timed out, or the server
                refused (retryable except on a permanent 5xx refusal).
        """
        mail = _compose(self.config.sender, to, subject, body, headers)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._deliver, mail)
        return mail[MESSAGE_ID]

    def _deliver(self, mail: EmailMessage) -> None:
        cfg = self.config
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username is not None:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise MailSendError(
                f"SMTP server {cfg.host}:{cfg.port} refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=exc.smtp_code < 500,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailSendError(
                f"SMTP server refused recipient(s) {list(exc.recipients)}", retryable=all(c < 500 for c in codes)
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailSendError(f"SMTP to {cfg.host}:{cfg.port} failed: {exc}") from exc


def _compose(sender: str, to: str, subject: str, body: str, headers: Mapping[str, str]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    for name, value in headers.items():
        mail[name] = value
    if MESSAGE_ID not in mail:
        mail[MESSAGE_ID] = f"<{uuid7()}@{sender.rpartition('@')[2] or 'localhost'}>"
    mail.set_content(body)
    return mail


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
