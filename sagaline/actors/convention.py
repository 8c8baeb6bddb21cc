"""The convention watch: which actor systems this daemon's admin knows, with their capabilities.

A daemon's actor system joins its leader's Thespian convention
(:mod:`sagaline.daemon.cluster`); Thespian tells an actor that asked
(``notifyOnSystemRegistrationChanges``) about every remote actor system
joining or leaving (``ActorSystemConventionUpdate``: its admin's address
and the capabilities it declared), first the ones already there. This
actor keeps that table and answers :class:`~sagaline.messages.admin.ListMembers`
for the admin's ``AdminConvention`` (``sagaline members``). A leader sees
every member; a member sees its leader. The table is a view: who owns
which runs is the lease table's business, never this one's.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.admin import ListMembers, MemberList

__all__ = ["ConventionWatch"]

_log = logging.getLogger("sagaline.actors")


class ConventionWatch(BaseActor):
    """Registered as ``convention``; no args."""

    def on_start(self, args: dict[str, Any]) -> Any:
        self.members: dict[str, dict[str, Any]] = {}
        try:
            self.notifyOnSystemRegistrationChanges(True)
        except Exception as exc:  # an in-process base has no convention: the table stays empty
            _log.info("no convention notifications on this system base: %s", exc)
        return super().on_start(args)

    def receive_ActorSystemConventionUpdate(self, message: Any, sender: Any) -> None:
        admin = str(message.remoteAdminAddress)
        if not message.remoteAdded:
            self.members.pop(admin, None)
            return
        caps = dict(message.remoteCapabilities or {})
        self.members[admin] = {
            "admin": admin, "role": caps.get("sagaline.role", "?"), "joined_at": time.time(),
            "capabilities": {k.removeprefix("sagaline."): v for k, v in caps.items()
                             if k.startswith("sagaline.") and k != "sagaline.role"}}

    def receive_ListMembers(self, message: ListMembers, sender: Any) -> None:
        self.send(sender, MemberList(members=sorted(self.members.values(), key=lambda m: m["admin"])))
