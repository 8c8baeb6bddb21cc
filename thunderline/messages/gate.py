"""Commands to the gate domain actor (users and magic links) and its replies.

Every command carries :class:`~sagaline.messages.base.Headers`; the gate
applies each idempotency key at most once and answers a duplicate with the
first answer. Undo commands name the effect they reverse by the idempotency
key of the command that made it (``effect_key``), so a compensation works
even when the original reply was lost. Failures come back as
:class:`~sagaline.messages.common.CommandFailed`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sagaline.messages.base import Command, Reply

__all__ = [
    "redirect_problem",
    "local_redirect",
    "IssueToken",
    "TokenIssued",
    "RevokeToken",
    "TokenRevoked",
    "SendMagicLink",
    "MagicLinkSent",
    "CreateUser",
    "UserCreated",
    "DeleteUser",
    "UserDeleted",
]


class IssueToken(Command):
    """Issue a magic-link token (UUID v7, one hour) for ``email``."""

    email: str
    """Whom the token is for."""
    ttl_seconds: int = 3600
    """Lifetime of the token; the original system used one hour."""


class TokenIssued(Reply):
    """The token issued for an :class:`IssueToken`."""

    token: str
    """The token (UUID v7)."""
    email: str
    """Whom it is for."""
    expires_at: dt.datetime
    """When it stops being accepted (UTC)."""


class RevokeToken(Command):
    """Revoke the token issued by the command whose idempotency key is ``effect_key``."""

    effect_key: str
    """Idempotency key of the :class:`IssueToken` that made the token."""


class TokenRevoked(Reply):
    """Answer to :class:`RevokeToken`; revoking an unknown or revoked token is not an error."""

    token: str | None
    """The token revoked, or None when no token was issued under that key."""


def redirect_problem(redirect: str) -> str | None:
    """Why ``redirect`` cannot go into a magic link, or None when it can.

    A redirect must be a local path: one ``/`` then anything but a second
    ``/`` (``//host`` is a link to another host), no control characters
    (a newline would break the mail). The UserProvisioning saga checks it
    as its input is admitted, before any token is issued; gate checks it
    again before it sends.
    """
    if not redirect.startswith("/") or redirect.startswith("//"):
        return f"redirect {redirect!r:.200} must be a local path starting with one '/'"
    if any(ord(c) < 32 or ord(c) == 127 for c in redirect):
        return f"redirect {redirect!r:.200} must not contain control characters"
    return None


def local_redirect(redirect: str) -> str:
    """``redirect`` itself when it may go into a magic link (the saga input's transform).

    Raises:
        ValueError: :func:`redirect_problem` found a problem; the message says it.
    """
    problem = redirect_problem(redirect)
    if problem:
        raise ValueError(problem)
    return redirect


class SendMagicLink(Command):
    """Send ``email`` a sign-in link carrying ``token``; the mail names the correlation id."""

    email: str
    """Recipient."""
    token: str
    """The token to put in the link."""
    redirect: str = "/"
    """Path the link leads to after sign-in."""


class MagicLinkSent(Reply):
    """The magic link went out (or was written to the outbox)."""

    message_id: str
    """Id of the mail (its Message-ID header)."""
    backend: Literal["outbox", "smtp"]
    """Which sender carried it."""


class CreateUser(Command):
    """Create the user ``email``; fails with ``user_creation_failed`` if the email is taken."""

    email: str
    """The new user's email (unique)."""
    created_via: str = "magic_link"
    """How the user came to be."""


class UserCreated(Reply):
    """The user created by a :class:`CreateUser`."""

    user_id: str
    """The user's id (UUID v7)."""
    email: str
    """The user's email."""
    created_at: dt.datetime
    """Creation time (UTC)."""


class DeleteUser(Command):
    """Delete the user created by the command whose idempotency key is ``effect_key``."""

    effect_key: str
    """Idempotency key of the :class:`CreateUser` that made the user."""


class UserDeleted(Reply):
    """Answer to :class:`DeleteUser`; deleting a user that does not exist is not an error."""

    user_id: str | None
    """The user deleted, or None when none was created under that key."""
