"""The link domain: communities and memberships (the logic behind the link actor).

:class:`LinkService` answers :mod:`thunderline.messages.link` commands with
``await service.handle(command)``, always with a Reply; each idempotency key
is applied at most once and a duplicate gets the first answer.

Startup: :meth:`LinkService.start` makes the default community named by
``config.default_community`` (``general``) if it is missing; a join to the
default also makes it, so a service that was never started still works.

``JoinCommunity``
    ``CommunityJoined``: a membership of ``community_id`` (the default
    community when None) with the given role. ``community_join_failed``
    when the community does not exist, or the user is already a member
    (one membership per community and user; the existing one belongs to
    another key, and this command must not claim it, or its undo would
    remove a membership it never made).
``LeaveCommunity``
    ``CommunityLeft(membership_id)`` for the membership made under
    ``effect_key``; ``membership_id=None`` when none was (and a
    ``JoinCommunity`` with that key arriving later is refused with
    ``undone_before_applied``).

Plus the shared codes of :func:`~sagaline.domains.service.answer` and
:func:`~sagaline.storage.idempotency.apply_once`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.domains.service import Handler, answer
from sagaline.messages.base import Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure, forbid
from sagaline.storage.sqlite import Clock, read_clock, utc_now
from thunderline.messages.link import CommunityJoined, CommunityLeft, JoinCommunity, LeaveCommunity
from thunderline.storage.link_store import CommunityRow, LinkStore, MembershipRow

__all__ = ["LinkConfig", "LinkService"]


@dataclass(frozen=True)
class LinkConfig:
    """Link's settings."""

    default_community: str = "general"
    """Name of the community a join without ``community_id`` goes to."""


class LinkService:
    """Communities and memberships over a :class:`LinkStore`."""

    def __init__(self, store: LinkStore, clock: Clock = utc_now, config: LinkConfig = LinkConfig()) -> None:
        """Args: store: link's open store; clock: aware UTC now; config: :class:`LinkConfig`."""
        self.store = store
        self.config = config
        self._clock = clock
        self._handlers: dict[type, Handler] = {JoinCommunity: self._join, LeaveCommunity: self._leave}

    async def start(self) -> CommunityRow:
        """Make sure the default community exists; return it.

        Raises:
            StorageError: it could not be read or written.
        """
        return await self.store.ensure_community(self.config.default_community, read_clock(self._clock))

    async def handle(self, command: object) -> Reply:
        """Apply one link command; outcomes in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    async def communities(self) -> list[CommunityRow]:
        """Every community (tests, CLI)."""
        return await self.store.communities()

    async def memberships(self, user_id: str | None = None) -> list[MembershipRow]:
        """Every membership, or ``user_id``'s (tests, CLI)."""
        return await self.store.memberships(user_id)

    async def _join(self, cmd: JoinCommunity) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            community_id = cmd.community_id
            if community_id is None:
                community_id = (await self.store.ensure_community(self.config.default_community, now)).id
            elif not await self.store.community_exists(conn, community_id):
                return failure(cmd, "community_join_failed", f"no community with id {community_id}")
            if await self.store.is_member(conn, community_id, cmd.user_id):
                return failure(
                    cmd, "community_join_failed", f"user {cmd.user_id} is already a member of community {community_id}"
                )
            m = MembershipRow(
                uuid7(),
                community_id,
                cmd.user_id,
                cmd.role,
                cmd.headers.correlation_id,
                now,
                cmd.headers.idempotency_key or "",
            )
            await self.store.insert_membership(conn, m)
            return CommunityJoined(
                headers=cmd.headers, membership_id=m.id, community_id=community_id, user_id=m.user_id, role=m.role
            )

        return await self.store.apply_once(cmd, effect, now)

    async def _leave(self, cmd: LeaveCommunity) -> Reply:
        now = read_clock(self._clock)

        async def effect(conn: Connection) -> Reply:
            membership_id = await self.store.delete_membership_by_key(conn, cmd.effect_key)
            if membership_id is None:
                await forbid(conn, cmd, cmd.effect_key, JoinCommunity.__name__, now)
            return CommunityLeft(headers=cmd.headers, membership_id=membership_id)

        return await self.store.apply_once(cmd, effect, now)
