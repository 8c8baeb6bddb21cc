"""The daemon's admin endpoint: the one door the CLI knocks on.

Three actors::

    CLI --ask(bytes)--> AdminDoor (global name "sagaline.admin", top level)
                           | AdminForward(payload, reply_to)
                           v
                        AdminEndpoint (child "admin" of the root supervisor,
                           |           registered as "admin")
                           | one AdminConversation child per request
                           v
                        AdminConversation --asks--> sagas, registry, root, flow, crown, bolt, bridge
                           |
                           +--AdminResult | AdminError--> the CLI (reply_to)

* :class:`AdminDoor` exists because a CLI can find an actor only by its
  Thespian global name, and a globally named actor cannot be supervised (the
  Thespian admin becomes its parent). The daemon creates it and tells it the
  registry; it finds the endpoint there (and follows its restarts through a
  registry subscription) and forwards each request. A door the daemon did
  not initialise (Thespian re-creates a dead global name on the next lookup)
  answers ``unavailable`` and exits.
* :class:`AdminEndpoint` is the trust boundary. A request arrives as codec
  bytes or as a model; it is decoded with a size limit
  (:data:`~sagaline.messages.admin.ADMIN_MAX_BYTES`), validated, and must be
  an :class:`~sagaline.messages.admin.AdminRequest`. Anything else is
  answered with an :class:`~sagaline.messages.admin.AdminError` (malformed,
  too_large, unknown_request, unsupported_version, invalid) and changes
  nothing; the endpoint keeps serving. Bytes are answered with bytes.
  Args: ``facts`` (daemon facts for ``health``), ``owner_pid`` (the daemon
  process; when it vanishes, e.g. SIGKILLed, the endpoint ends the whole
  actor system so no orphan keeps the ports), ``max_conversations``.
* :class:`AdminConversation` answers one request by driving its script from
  :mod:`sagaline.daemon.conversations`, then exits. A process per request
  (a few ms on multiprocTCPBase) buys isolation: replies cannot be mixed up
  between requests, a late reply dies with its conversation, and a slow
  request (``sagas wait``) blocks nobody.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from thespian.actors import Actor, ActorExitRequest

from sagaline.actors.base import BaseActor
from sagaline.apps import load_apps
from sagaline.daemon.conversations import Ask, Missing, NoAnswer, conversation, error
from sagaline.daemon.pidfile import pid_alive
from sagaline.messages import codec
from sagaline.messages.admin import (ADMIN_MAX_BYTES, ADMIN_REGISTRY_KEY, AdminDoorInit, AdminDoorReady,
                                     AdminError, AdminForward, AdminRequest, AdminResult)
from sagaline.messages.base import Message
from sagaline.messages.registry import Entries, Lookup, RegistryEvent, Subscribe
from sagaline.messages.supervision import ExitReason, Unrecognized
from sagaline.runtime.procs import TAG_VARIABLE, kill_all

__all__ = ["AdminDoor", "AdminEndpoint", "AdminConversation", "read_request", "CONVERSATION_CLASS"]

_log = logging.getLogger("sagaline.admin")
CONVERSATION_CLASS = "sagaline.actors.admin.AdminConversation"
#: Requests answered at once, at most (one process each on multiprocTCPBase).
DEFAULT_MAX_CONVERSATIONS = 32
#: Seconds between two checks that the daemon process still lives.
OWNER_CHECK_S = 1.0
_CODEC_ERRORS = ((codec.MessageTooLarge, "too_large"), (codec.UnknownMessageType, "unknown_request"),
                 (codec.UnsupportedVersion, "unsupported_version"), (codec.InvalidMessage, "invalid"),
                 (codec.CodecError, "malformed"))


#: Answers the endpoint drops instead of answering.
_REPLIES = (Unrecognized, AdminError, AdminResult)


def read_request(payload: Any) -> AdminRequest | AdminError:
    """Turn what arrived into a validated admin request, or the error that answers it."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            message = codec.decode(bytes(payload), max_bytes=ADMIN_MAX_BYTES)
        except codec.CodecError as exc:
            code = next(c for kind, c in _CODEC_ERRORS if isinstance(exc, kind))
            return AdminError(code=code, message=str(exc)[:1000])
    elif isinstance(payload, Message):
        message = payload
    else:
        return AdminError(code="malformed", message=f"an admin request is codec bytes or a message, "
                                                    f"not {type(payload).__name__}")
    if not isinstance(message, AdminRequest):
        return AdminError(code="unknown_request", message=f"{type(message).__name__} is not an admin request",
                          request=type(message).__name__)
    return _revalidated(message)


def _revalidated(message: AdminRequest) -> AdminRequest | AdminError:
    """A model may have been built without validation (``model_construct``) before it
    was pickled; validate its fields again, and bound its size as bytes would be."""
    name = type(message).__name__
    try:
        size = len(codec.encode(message))
        checked = type(message).model_validate(message.model_dump())
    except codec.CodecError as exc:
        return AdminError(code="malformed", message=str(exc)[:1000], request=name)
    except ValueError as exc:
        return AdminError(code="invalid", message=f"{name}: {str(exc)[:1000]}", request=name)
    if size > ADMIN_MAX_BYTES:
        return AdminError(code="too_large", message=f"{size} bytes exceeds the limit of {ADMIN_MAX_BYTES}",
                          request=name)
    return checked


def _answer(answer: AdminResult | AdminError, as_bytes: bool) -> Any:
    return codec.encode(answer) if as_bytes else answer


class AdminEndpoint(BaseActor):
    """Validates admin requests and starts one conversation per request (see the module docstring)."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.facts = dict(args.get("facts") or {})
        # The catalog and app commands need the apps; conversations forked from here inherit them.
        load_apps(self.facts.get("apps") or (), entry_points=False)
        self.max_conversations = int(args.get("max_conversations", DEFAULT_MAX_CONVERSATIONS))
        self.owner_pid = args.get("owner_pid")
        # [(child address, reply_to, as_bytes, request name)]: addresses are unhashable
        self.conversations: list[tuple[Any, Any, bool, str]] = []
        if self.owner_pid and self.owner_pid != os.getpid():
            self.timers.start("owner", OWNER_CHECK_S)

    def receive_AdminForward(self, message: AdminForward, sender: Any) -> None:
        self._accept(message.payload, message.reply_to)

    def receive_Started(self, message: Any, sender: Any) -> None:
        pass  # a conversation is under way

    def receive_InitFailed(self, message: Any, sender: Any) -> None:
        _log.warning("admin conversation failed to start: %s", message.reason)

    def receive_object(self, message: Any, sender: Any) -> None:
        """Everything else is a request (bytes or a model), judged by :func:`read_request`.
        Replies are never answered (two actors answering each other's answers would never stop)."""
        if sender is None or any(entry[0] == sender for entry in self.conversations):
            return
        if isinstance(message, _REPLIES):
            _log.warning("admin endpoint dropped a stray %s", type(message).__name__)
            return
        self._accept(message, sender)

    def _accept(self, payload: Any, reply_to: Any) -> None:
        as_bytes = isinstance(payload, (bytes, bytearray, memoryview))
        request = read_request(payload)
        if isinstance(request, AdminError):
            _log.warning("admin request refused: %s: %s", request.code, request.message[:200])
            self.send(reply_to, _answer(request, as_bytes))
            return
        if len(self.conversations) >= self.max_conversations:
            busy = error(request, "busy", f"{self.max_conversations} admin requests in progress; try again")
            self.send(reply_to, _answer(busy, as_bytes))
            return
        child = self.createActor(CONVERSATION_CLASS)
        self.conversations.append((child, reply_to, as_bytes, type(request).__name__))
        self.send(child, self.child_init({"request": request, "reply_to": reply_to, "as_bytes": as_bytes,
                                          "facts": self.facts, "root": self.parent}))

    def on_child_exit(self, address: Any, reason: ExitReason) -> None:
        entry = next((e for e in self.conversations if e[0] == address), None)
        if entry is None:
            return
        self.conversations.remove(entry)
        if reason.kind in ("normal", "shutdown"):
            return
        _, reply_to, as_bytes, name = entry
        failure = AdminError(code="internal", request=name,
                             message=f"the conversation ended with {reason.kind}: {reason.detail or ''}")
        self.send(reply_to, _answer(failure, as_bytes))

    def on_timer(self, name: str, data: Any) -> None:
        if name != "owner":
            return
        if pid_alive(self.owner_pid):
            self.timers.start("owner", OWNER_CHECK_S)
            return
        _log.error("the daemon (pid %s) is gone: ending its actor system", self.owner_pid)
        tag = os.environ.get(TAG_VARIABLE)
        if tag:
            kill_all(tag)
        os._exit(1)


class AdminConversation(BaseActor):
    """Answers one admin request, then exits. Args: ``request``, ``reply_to``,
    ``as_bytes``, ``facts``, ``root`` (the root supervisor)."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.request: AdminRequest = args["request"]
        self.reply_to, self.as_bytes = args["reply_to"], bool(args.get("as_bytes"))
        self.known: dict[str, Any] = {"registry": self.registry, "root": args.get("root")}
        self.script = conversation(self.request, args.get("facts"))
        self.batch: list[Ask] = []
        self.replies: list[Any] = []
        self.waiting: list[tuple[Any, int]] = []
        self.looking_up: str | None = None
        self.single = True
        self.done = False
        self.timers.start("deadline", self.request.deadline_s())
        self._advance(None)

    def _advance(self, reply: Any) -> None:
        try:
            asked = self.script.send(reply)
        except StopIteration as stop:
            self._finish(stop.value)
            return
        except Exception as exc:  # a bug in a script: answer, then exit normally
            _log.exception("admin conversation %s failed", type(self.request).__name__)
            self._finish(error(self.request, "internal", f"{type(exc).__name__}: {exc}"[:1000]))
            return
        self.single = not isinstance(asked, tuple)
        self.batch = [asked] if self.single else list(asked)
        self.replies = [None] * len(self.batch)
        self._resolve_or_send()

    def _resolve_or_send(self) -> None:
        for ask in self.batch:
            if ask.address is None and ask.target not in self.known:
                self.looking_up = ask.target
                self.send(self.registry, Lookup(key=ask.target))
                return
        self.waiting = []
        for index, ask in enumerate(self.batch):
            address = ask.address if ask.address is not None else self.known[ask.target]
            if isinstance(address, Missing):
                if not self._settle(index, address):
                    return
                continue
            self.waiting.append((address, index))
            self.send(address, ask.message)
        timeouts = [a.timeout_s for a in self.batch if a.timeout_s is not None]
        if timeouts:
            self.timers.start("step", min(timeouts))
        self._maybe_next()

    def receive_object(self, message: Any, sender: Any) -> None:
        if self.done:
            return
        if self.looking_up is not None and sender == self.registry and isinstance(message, Entries):
            key, self.looking_up = self.looking_up, None
            holder = next((e.holder for e in message.entries if e.key == key), None)
            self.known[key] = holder if holder is not None else Missing(key)
            self._resolve_or_send()
            return
        for position, (address, index) in enumerate(self.waiting):
            if address == sender:
                break
        else:  # the saga supervisor forwards run requests to a saga host, which answers directly
            if len(self.waiting) != 1:
                return
            position, index = 0, self.waiting[0][1]
        del self.waiting[position]
        if self._settle(index, message):
            self._maybe_next()

    def _settle(self, index: int, reply: Any) -> bool:
        """Record a reply; False when it ended the conversation (an error for a required ask)."""
        ask = self.batch[index]
        if not ask.optional:
            if isinstance(reply, Missing):
                self._finish(error(self.request, "unavailable", f"no actor is registered as {ask.target!r}: "
                                                                f"is that part of the tree running?"))
                return False
            if isinstance(reply, Unrecognized):
                self._finish(error(self.request, "unsupported",
                                   f"{reply.actor} does not answer {reply.message_type} (not implemented yet)"))
                return False
        self.replies[index] = reply
        return True

    def _maybe_next(self) -> None:
        if self.waiting or self.done:
            return
        self.timers.cancel("step")
        self._advance(self.replies[0] if self.single else tuple(self.replies))

    def on_timer(self, name: str, data: Any) -> None:
        if self.done:
            return
        late = [self.batch[index] for _, index in self.waiting]
        if name == "step" and all(ask.optional for ask in late):
            for address, index in self.waiting:
                self.replies[index] = NoAnswer(self.batch[index].describe())
            self.waiting = []
            self._maybe_next()
            return
        names = ", ".join(ask.describe() for ask in late) or (self.looking_up or "the registry")
        self._finish(error(self.request, "timeout", f"no answer from {names} within the time allowed"))

    def _finish(self, answer: AdminResult | AdminError) -> None:
        if self.done:
            return
        self.done = True
        cid = getattr(self.request, "correlation_id", None) or (
            answer.data.get("correlation_id") if isinstance(answer, AdminResult) else None)
        _log.info("admin %s%s: %s", type(self.request).__name__, f" cid={cid}" if cid else "",
                  "ok" if isinstance(answer, AdminResult) else f"{answer.code}: {answer.message[:200]}",
                  extra={"correlation_id": cid})
        try:
            reply = _answer(answer, self.as_bytes)
        except codec.CodecError as exc:
            reply = _answer(error(self.request, "internal", f"answer not encodable: {exc}"[:1000]), self.as_bytes)
        self.send(self.reply_to, reply)
        self.stop()


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
            self.registry, self.init_sender = message.registry, sender
            self.send(self.registry, Subscribe(key_prefix=ADMIN_REGISTRY_KEY))
            self.send(self.registry, Lookup(key=ADMIN_REGISTRY_KEY))
        elif self.registry is not None and sender == self.registry:
            self._registry_said(message)
        elif isinstance(message, (ActorExitRequest,)) or type(message).__module__.startswith("thespian"):
            return
        else:
            self._forward(message, sender)

    def _registry_said(self, message: Any) -> None:
        if isinstance(message, Entries):
            found = [e.holder for e in message.entries if e.key == ADMIN_REGISTRY_KEY]
            self.endpoint = found[0] if found else None
            if self.init_sender is not None:
                self.send(self.init_sender, AdminDoorReady(endpoint_found=self.endpoint is not None))
                self.init_sender = None
        elif isinstance(message, RegistryEvent) and message.key == ADMIN_REGISTRY_KEY:
            self.endpoint = message.holder if message.kind == "registered" else None

    def _forward(self, message: Any, sender: Any) -> None:
        as_bytes = isinstance(message, (bytes, bytearray, memoryview))
        if self.registry is None:
            lost = AdminError(code="unavailable", message="this admin door was not set up by a daemon (the "
                              "daemon's door was lost): restart the daemon")
            self.send(sender, _answer(lost, as_bytes))
            self.send(self.myAddress, ActorExitRequest())
        elif self.endpoint is None:
            self.send(sender, _answer(AdminError(code="unavailable", message="the admin endpoint is not "
                                                 "running (restarting?); try again"), as_bytes))
        else:
            self.send(self.endpoint, AdminForward(payload=message, reply_to=sender))
