"""The admin door: the one actor a client can find by name.

A client can find an actor only by its Thespian global name, and a globally
named actor cannot be supervised (the Thespian admin becomes its parent), so
the door is small and the daemon watches it (its death ends the daemon, see
:mod:`sagaline.daemon.liveness`). Its life:

1. The daemon creates it (global name :data:`~sagaline.messages.admin.ADMIN_DOOR_NAME`)
   right after the actor system starts, before anything else; no client can
   create it (:mod:`sagaline.runtime.guards`). Until step 2 it answers every
   request ``starting`` (try again), so clients that arrive early never
   disturb the start.
2. The daemon, once the tree is up, sends :class:`~sagaline.messages.admin.AdminDoorInit`
   with the registry and its control token. The door accepts exactly one
   such init, and only with the right token; it finds the admin endpoint in
   the registry and follows its restarts through a subscription, then
   answers :class:`~sagaline.messages.admin.AdminDoorReady`.
3. It forwards each request, as received, to the endpoint
   (:class:`~sagaline.messages.admin.AdminForward` with the requester as
   ``reply_to``): :class:`~sagaline.messages.admin.AdminConnect` is answered
   with the worker directory, anything else by a worker. If the endpoint is
   not running it answers ``unavailable``; if a forward cannot be delivered
   (a ``PoisonMessage`` comes back), the requester is answered ``unavailable``.

It never crashes on a message (a door that dies loses its name), ignores
Thespian's own messages, and never answers an answer.
"""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

from thespian.actors import Actor, PoisonMessage

from sagaline.admin.requests import is_reply, reply_form
from sagaline.messages.admin import ADMIN_REGISTRY_KEY, AdminDoorInit, AdminDoorReady, AdminError, AdminForward
from sagaline.messages.registry import Entries, Lookup, RegistryAt, RegistryEvent, Subscribe, WhereIsRegistry
from sagaline.runtime.guards import TOKEN_VARIABLE

__all__ = ["AdminDoor"]

_log = logging.getLogger("sagaline.admin")


class AdminDoor(Actor):
    """The admin endpoint's door, found by Thespian global name (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry: Any = None
        self.endpoint: Any = None
        self.init_sender: Any = None

    def receiveMessage(self, message: Any, sender: Any) -> None:
        try:
            self._route(message, sender)
        except Exception:  # never crash: a door that dies loses its name
            _log.exception("admin door failed on %s", type(message).__name__)

    def _route(self, message: Any, sender: Any) -> None:
        if isinstance(message, AdminDoorInit):
            self._init(message, sender)
        elif isinstance(message, WhereIsRegistry):  # a member daemon shares the domain entries
            self.send(sender, RegistryAt(registry=self.registry))
        elif self.registry is not None and sender == self.registry:
            self._registry_said(message)
        elif isinstance(message, PoisonMessage):
            self._undelivered(message)
        elif type(message).__module__.startswith("thespian") or is_reply(message):
            return
        else:
            self._forward(message, sender)

    def _init(self, message: AdminDoorInit, sender: Any) -> None:
        expected = os.environ.get(TOKEN_VARIABLE, "")
        if self.registry is not None or (expected and not secrets.compare_digest(message.token, expected)):
            why = "a second AdminDoorInit" if self.registry is not None else "an AdminDoorInit without the token"
            _log.warning("admin door refused %s from %s", why, sender)
            self.send(
                sender,
                AdminError(code="refused", message=f"the admin door refused {why}: only the daemon sets it up, once"),
            )
            return
        self.registry, self.init_sender = message.registry, sender
        self.send(self.registry, Subscribe(key_prefix=ADMIN_REGISTRY_KEY))
        self.send(self.registry, Lookup(key=ADMIN_REGISTRY_KEY))

    def _registry_said(self, message: Any) -> None:
        if isinstance(message, Entries):
            found = [e.holder for e in message.entries if e.key == ADMIN_REGISTRY_KEY]
            self.endpoint = found[0] if found else None
            if self.init_sender is not None:
                self.send(self.init_sender, AdminDoorReady(endpoint_found=self.endpoint is not None, pid=os.getpid()))
                self.init_sender = None
        elif isinstance(message, RegistryEvent) and message.key == ADMIN_REGISTRY_KEY:
            self.endpoint = message.holder if message.kind == "registered" else None

    def _forward(self, message: Any, sender: Any) -> None:
        if sender is None:
            return
        as_bytes = isinstance(message, (bytes, bytearray, memoryview))
        if self.registry is None:
            self.send(
                sender,
                reply_form(
                    AdminError(code="starting", message="the daemon is starting; try again in a moment"), as_bytes
                ),
            )
        elif self.endpoint is None:
            self.send(
                sender,
                reply_form(
                    AdminError(
                        code="unavailable", message="the admin endpoint is not running (restarting?); try again"
                    ),
                    as_bytes,
                ),
            )
        else:
            self.send(self.endpoint, AdminForward(payload=message, reply_to=sender))

    def _undelivered(self, poison: PoisonMessage) -> None:
        lost = poison.poisonMessage
        if isinstance(lost, AdminForward) and lost.reply_to is not None:
            as_bytes = isinstance(lost.payload, (bytes, bytearray, memoryview))
            self.send(
                lost.reply_to,
                reply_form(
                    AdminError(code="unavailable", message="the admin endpoint could not take the request; try again"),
                    as_bytes,
                ),
            )
        else:
            _log.warning("admin door: %s could not be delivered", type(lost).__name__)
