"""Commands to the link domain actor (communities and memberships) and its replies.

Same conventions as :mod:`thunderline.messages.gate`.
"""

from __future__ import annotations

from typing import Literal

from sagaline.messages.base import Command, Reply

__all__ = ["JoinCommunity", "CommunityJoined", "LeaveCommunity", "CommunityLeft"]


class JoinCommunity(Command):
    """Make ``user_id`` a member of a community (the configured default when None)."""

    user_id: str
    """Who joins."""
    community_id: str | None = None
    """Which community; None means the default community from configuration."""
    role: Literal["member", "moderator", "owner"] = "member"
    """The membership's role."""


class CommunityJoined(Reply):
    """The membership made by a :class:`JoinCommunity`."""

    membership_id: str
    """The membership's id (UUID v7)."""
    community_id: str
    """The community joined."""
    user_id: str
    """The member."""
    role: str
    """The member's role."""


class LeaveCommunity(Command):
    """Remove the membership created by the command whose idempotency key is ``effect_key``."""

    effect_key: str
    """Idempotency key of the :class:`JoinCommunity` that made the membership."""


class CommunityLeft(Reply):
    """Answer to :class:`LeaveCommunity`; a membership that does not exist is not an error."""

    membership_id: str | None
    """The membership removed, or None when none was made under that key."""
