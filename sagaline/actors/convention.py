"""The convention watch: which actor systems this daemon's admin knows, and what the leader does when one is lost.

A daemon's actor system joins its leader's Thespian convention
(:mod:`sagaline.daemon.cluster`); Thespian tells an actor that asked
(``notifyOnSystemRegistrationChanges``) about every remote actor system
joining or leaving (``ActorSystemConventionUpdate``: its admin's address
and the capabilities it declared), first the ones already there. This
actor keeps that table and answers :class:`~sagaline.messages.admin.ListMembers`
for the admin's ``AdminConvention`` (``sagaline members``). A leader sees
every member; a member sees its leader. The table is a view: who owns
which runs is the lease table's business, never this one's.

**A lost member** (``remoteAdded`` false: it deregistered, or missed 3
re-registrations, see ``cluster.heartbeat_s``), on the leader only:

1. its live leases in the journal expire now
   (:func:`~sagaline.saga.lease.leases_of` decides which, by the member
   name it declared as ``sagaline.member``;
   :meth:`~sagaline.storage.journal_sqlite.SqliteJournal.expire` writes
   them, each only if its owner and token are unchanged), so the other
   daemons' standby hosts take its partitions at their next look (within
   a second, :data:`~sagaline.hosts.host_lease.STANDBY_POLL_S`) instead of
   after the lease time. A member only cut off is safe: the takeover
   raises the token and its later writes are refused;
2. its ``domain:*`` entries leave the leader's registry (the ones its
   mirror pushed there, marked ``{"member": <name>}``,
   :data:`MEMBER_KEY`) instead of lingering until their ``ttl_s``;
3. one warning line is logged and
   :data:`~sagaline.telemetry.names.CONVENTION_MEMBER_LOST` emitted.

A journal that cannot be written is logged; the leases then expire by
themselves, as without this watch.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.actors.convention_args import ConventionArgs
from sagaline.messages.admin import ListMembers, MemberList
from sagaline.messages.registry import Condition, Entries, Select, Unregister, Unregistered
from sagaline.saga.lease import leases_of
from sagaline.storage.errors import StorageError
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry

__all__ = ["ConventionWatch", "MEMBER_KEY"]

#: The key of a pushed ``domain:*`` entry's value naming the member that pushed it (:mod:`sagaline.daemon.mirror`).
MEMBER_KEY = "member"
_DOMAIN_PREFIX = "domain:"
_log = logging.getLogger("sagaline.actors")


class ConventionWatch(BaseActor):
    """Registered as ``convention``; args :class:`~sagaline.actors.convention_args.ConventionArgs`."""

    def on_start(self, args: dict[str, Any]) -> Any:
        self.cfg = ConventionArgs.parse(args)
        self.members: dict[str, dict[str, Any]] = {}
        try:
            self.notifyOnSystemRegistrationChanges(True)
        except Exception as exc:  # an in-process base has no convention: the table stays empty
            _log.info("no convention notifications on this system base: %s", exc)
        return super().on_start(args)

    def receive_ActorSystemConventionUpdate(self, message: Any, sender: Any) -> None:
        admin = str(message.remoteAdminAddress)
        if not message.remoteAdded:
            gone = self.members.pop(admin, None)
            if gone is not None and self.cfg.leader:
                self._lost(gone)
            return
        caps = dict(message.remoteCapabilities or {})
        self.members[admin] = {
            "admin": admin,
            "role": caps.get("sagaline.role", "?"),
            "joined_at": time.time(),
            "capabilities": {
                k.removeprefix("sagaline."): v
                for k, v in caps.items()
                if k.startswith("sagaline.") and k != "sagaline.role"
            },
        }
        theirs = caps.get("sagaline.heartbeat_s")
        if self.cfg.heartbeat_s is not None and theirs is not None and theirs != self.cfg.heartbeat_s:
            _log.warning(
                "convention member %s re-registers every %s s, this daemon every %s s: set the same "
                "cluster.heartbeat_s on every daemon of a convention",
                admin,
                theirs,
                self.cfg.heartbeat_s,
            )

    def receive_ListMembers(self, message: ListMembers, sender: Any) -> None:
        self.send(sender, MemberList(members=sorted(self.members.values(), key=lambda m: m["admin"])))

    def receive_Entries(self, message: Entries, sender: Any) -> None:
        """The lost member's pushed ``domain:*`` entries (the answer to :meth:`_lost`'s select): drop them."""
        for entry in message.entries:
            self.send(sender, Unregister(key=entry.key, holder=entry.holder))

    def receive_Unregistered(self, message: Unregistered, sender: Any) -> None:
        """Nothing to do: an entry already gone (its ttl ran out) is no error."""

    def _lost(self, gone: dict[str, Any]) -> None:
        member = str(gone["capabilities"].get("member") or "")
        expired = self._expire_leases(member)
        if member and self.registry is not None:
            self.send(
                self.registry,
                Select(key_prefix=_DOMAIN_PREFIX, where=(Condition(path=(MEMBER_KEY,), op="eq", operand=member),)),
            )
        _log.warning(
            "convention member %s (%s) lost: %s",
            member or "(no member name)",
            gone["admin"],
            f"{expired} of its leases expired now" if expired is not None else "its leases expire by themselves",
        )
        telemetry.execute(
            tn.CONVENTION_MEMBER_LOST, {"leases": expired or 0}, {"member": member, "admin": gone["admin"]}
        )

    def _expire_leases(self, member: str) -> int | None:
        """Expire ``member``'s live leases; how many (None: no journal, or it failed)."""
        if self.cfg.journal is None or not member:
            return None
        from sagaline.storage.journal_sqlite import SqliteJournal

        try:
            journal = SqliteJournal.open(self.cfg.journal)
        except StorageError as exc:
            _log.error("cannot open the journal to expire %s's leases: %s", member, exc)
            return None
        try:
            now = time.time()
            return journal.expire(leases_of(member, journal.leases(), now), now)
        except StorageError as exc:
            _log.error("cannot expire %s's leases: %s", member, exc)
            return None
        finally:
            journal.close()
