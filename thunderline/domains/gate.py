"""The gate domain: users and magic links (the logic behind the gate actor).

:class:`GateService` answers the commands of :mod:`thunderline.messages.gate`
with ``await service.handle(command)``, always with a Reply, never raising
for bad input. Each command is applied at most once per idempotency key
(:mod:`sagaline.storage.idempotency`): a duplicate gets the first answer.

Outcomes, per command (failures are ``CommandFailed``; all but the
retryable ones are remembered under the key):

``IssueToken``
    ``TokenIssued`` (token UUID v7, ``expires_at = now + ttl_seconds``);
    ``invalid_email_format``; ``token_issue_failed`` for ``ttl_seconds <= 0``.
``RevokeToken``
    ``TokenRevoked(token)``: the token made under ``effect_key``, now
    revoked (revoking twice is fine); ``token=None`` when no token was
    ever made under that key (the undo of an effect that never happened;
    an ``IssueToken`` with that key arriving later is then refused with
    ``undone_before_applied``, see :func:`~sagaline.storage.idempotency.forbid`).
``SendMagicLink``
    ``MagicLinkSent(message_id, backend)``. The link is
    ``<base_url><redirect>?token=<token>``; the body says the correlation id
    and the ``X-Correlation-ID`` header carries it. ``magic_link_send_failed``
    when the token is not a live token of that email, the redirect is not a
    local path (``/...``; anything else could point the link at another
    host; :func:`~thunderline.messages.gate.redirect_problem`), or the sender
    failed (retryable when the sender says so; then not
    remembered, and a retry can send). A re-send after a success sends
    nothing: the ledger answers. The mail is handed over inside the
    command's transaction, before the commit: if the commit then fails (or
    the process dies in between), a retry sends a second mail. Mail is at
    least once; the ledger row and the outbox row are exactly once.
``CreateUser``
    ``UserCreated``; ``invalid_email_format``; ``user_creation_failed``
    naming the email when it is taken (letter case ignored).
``DeleteUser``
    ``UserDeleted(user_id)``: deletes the user made under ``effect_key``
    **and revokes that email's live tokens**: a sign-in link must not
    outlive the account it signs in to, nor work for whoever registers the
    email next. ``user_id=None`` when no user was made under that key (and
    a later ``CreateUser`` with that key is refused, ``undone_before_applied``).

Every command: ``idempotency_key_missing`` / ``idempotency_key_conflict``
(see :func:`~sagaline.storage.idempotency.apply_once`),
``storage_unavailable`` (retryable) / ``storage_failed`` (see
:func:`~sagaline.domains.service.answer`), ``unsupported_command``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sagaline.domains.service import Handler, answer
from sagaline.messages.base import Command, Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure, forbid
from sagaline.storage.sqlite import Clock, read_clock, utc_now
from thunderline.domains.mail import CORRELATION_HEADER, KEY_HEADER, MESSAGE_ID, MailSender, MailSendError, OutboxSender
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
    redirect_problem,
)
from thunderline.storage.gate_store import GateStore, OutboxRow, TokenRow, UserRow

__all__ = ["GateConfig", "GateService", "EMAIL_PATTERN"]

#: The original saga's email check, kept as is.
EMAIL_PATTERN = re.compile(r"^[^\s]+@[^\s]+\.[^\s]+$")


@dataclass(frozen=True)
class GateConfig:
    """Gate's settings; defaults declared once, here."""

    base_url: str = "http://localhost:4000"
    """Origin the magic link points at (no trailing slash needed)."""
    subject: str = "Your sign-in link"
    """Subject of magic-link mails."""
    mail_domain: str = "sagaline.local"
    """Right-hand side of generated Message-IDs."""


class GateService:
    """Users, tokens and magic links over a :class:`GateStore`."""

    def __init__(
        self,
        store: GateStore,
        clock: Clock = utc_now,
        config: GateConfig = GateConfig(),
        sender: MailSender | None = None,
    ) -> None:
        """Args:
        store: Gate's open store.
        clock: Returns the current aware UTC time (a fake one in tests).
        config: :class:`GateConfig`.
        sender: Carries magic links; an :class:`OutboxSender` on ``store`` when None.
        """
        self.store = store
        self.config = config
        self.sender: MailSender = sender or OutboxSender(store, clock)
        self._clock = clock
        self._handlers: dict[type, Handler] = {
            IssueToken: self._issue_token,
            RevokeToken: self._revoke_token,
            SendMagicLink: self._send_magic_link,
            CreateUser: self._create_user,
            DeleteUser: self._delete_user,
        }

    async def start(self) -> None:
        """Nothing to prepare (present so every service starts alike)."""

    async def handle(self, command: object) -> Reply:
        """Apply one gate command; the outcomes are in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    async def users(self) -> list[UserRow]:
        """Every user (tests, CLI)."""
        return await self.store.users()

    async def live_tokens(self, email: str | None = None) -> list[TokenRow]:
        """Tokens neither expired nor revoked now, by the service's clock."""
        return await self.store.live_tokens(self._now(), email)

    async def outbox(self) -> list[OutboxRow]:
        """Every mail the outbox sender wrote."""
        return await self.store.outbox()

    def _now(self) -> datetime:
        return read_clock(self._clock)

    async def _issue_token(self, cmd: IssueToken) -> Reply:
        now = self._now()

        async def effect(conn: Connection) -> Reply:
            if not _valid_email(cmd.email):
                return failure(cmd, "invalid_email_format", f"{cmd.email!r} is not an email address")
            if cmd.ttl_seconds <= 0:
                return failure(cmd, "token_issue_failed", f"ttl_seconds must be > 0, not {cmd.ttl_seconds}")
            row = TokenRow(
                uuid7(),
                cmd.email,
                now,
                now + timedelta(seconds=cmd.ttl_seconds),
                None,
                cmd.headers.correlation_id,
                _key(cmd),
            )
            await self.store.insert_token(conn, row)
            return TokenIssued(headers=cmd.headers, token=row.token, email=row.email, expires_at=row.expires_at)

        return await self.store.apply_once(cmd, effect, now)

    async def _revoke_token(self, cmd: RevokeToken) -> Reply:
        now = self._now()

        async def effect(conn: Connection) -> Reply:
            token = await self.store.revoke_token_by_key(conn, cmd.effect_key, now)
            if token is None:
                await forbid(conn, cmd, cmd.effect_key, IssueToken.__name__, now)
            return TokenRevoked(headers=cmd.headers, token=token)

        return await self.store.apply_once(cmd, effect, now)

    async def _send_magic_link(self, cmd: SendMagicLink) -> Reply:
        now = self._now()

        async def effect(conn: Connection) -> Reply:
            problem = await self._link_problem(cmd, now)
            if problem:
                return failure(cmd, "magic_link_send_failed", problem)
            try:
                message_id = await self.sender.send(cmd.email, self.config.subject, self._body(cmd), self._headers(cmd))
            except MailSendError as exc:
                return failure(cmd, "magic_link_send_failed", str(exc), exc.retryable)
            return MagicLinkSent(headers=cmd.headers, message_id=message_id, backend=self.sender.backend)

        return await self.store.apply_once(cmd, effect, now)

    async def _link_problem(self, cmd: SendMagicLink, now: datetime) -> str | None:
        problem = redirect_problem(cmd.redirect)
        if problem:
            return problem
        live = await self.store.live_tokens(now, cmd.email)
        if not any(t.token == cmd.token for t in live):
            return f"token {cmd.token!r} is not a live token for {cmd.email}"
        return None

    def link(self, redirect: str, token: str) -> str:
        """The magic link: ``<base_url><redirect>?token=<token>`` (``&`` if redirect has a query)."""
        joiner = "&" if "?" in redirect else "?"
        return f"{self.config.base_url.rstrip('/')}{redirect}{joiner}token={token}"

    def _body(self, cmd: SendMagicLink) -> str:
        return (
            f"Hello,\n\nsign in with this link:\n\n{self.link(cmd.redirect, cmd.token)}\n\n"
            f"If you did not ask for it, ignore this mail.\n\n"
            f"Correlation id: {cmd.headers.correlation_id}\n"
        )

    def _headers(self, cmd: SendMagicLink) -> dict[str, str]:
        return {
            MESSAGE_ID: f"<{uuid7()}@{self.config.mail_domain}>",
            CORRELATION_HEADER: cmd.headers.correlation_id,
            KEY_HEADER: _key(cmd),
        }

    async def _create_user(self, cmd: CreateUser) -> Reply:
        now = self._now()

        async def effect(conn: Connection) -> Reply:
            if not _valid_email(cmd.email):
                return failure(cmd, "invalid_email_format", f"{cmd.email!r} is not an email address")
            if await self.store.email_taken(conn, cmd.email):
                return failure(cmd, "user_creation_failed", f"email {cmd.email} is already registered")
            row = UserRow(uuid7(), cmd.email, cmd.created_via, cmd.headers.correlation_id, now, _key(cmd))
            await self.store.insert_user(conn, row)
            return UserCreated(headers=cmd.headers, user_id=row.id, email=row.email, created_at=now)

        return await self.store.apply_once(cmd, effect, now)

    async def _delete_user(self, cmd: DeleteUser) -> Reply:
        now = self._now()

        async def effect(conn: Connection) -> Reply:
            user = await self.store.delete_user_by_key(conn, cmd.effect_key)
            if user is None:
                await forbid(conn, cmd, cmd.effect_key, CreateUser.__name__, now)
            else:
                await self.store.revoke_live_tokens(conn, user.email, now)
            return UserDeleted(headers=cmd.headers, user_id=None if user is None else user.id)

        return await self.store.apply_once(cmd, effect, now)


def _valid_email(email: str) -> bool:
    return isinstance(email, str) and EMAIL_PATTERN.match(email) is not None


def _key(cmd: Command) -> str:
    key = cmd.headers.idempotency_key
    if key is None:  # apply_once has already refused a command without a key
        raise ValueError(f"{type(cmd).__name__} carries no idempotency key")
    return key
