"""An admin worker: answers admin requests one at a time, by driving their scripts.

The admin endpoint keeps a fixed pool of these (children of the endpoint,
started with it, replaced when they end). A client sends each request
straight to one of them (or through the door and the endpoint, one hop
more). A worker:

* **reads** the request at the trust boundary
  (:func:`sagaline.admin.requests.read_request`: size, nesting depth,
  validation); a bad one is answered with an error at once;
* **answers one request at a time**: a request that arrives while it is
  busy is answered ``busy`` (a forwarded one goes back to the endpoint,
  which tries another worker);
* **drives** the request's script (:mod:`sagaline.admin.conversations`):
  resolves targets through the registry (cached; its subscription keeps the
  cache current), sends the asks, and matches the replies. A reply to an
  ask of the saga supervisor may come from another actor (the supervisor
  may hand the request on to whoever hosts the run), so such an ask is sent
  alone and matched by being the one in flight and of an expected type (and
  the same run, when both name one); every other reply is matched by
  sender. Anything else that arrives is late, and dropped;
* **answers within the request's deadline**: when it passes, the requester
  gets ``timeout`` saying how long it really waited. One wakeup is kept
  pending at a time (re-armed for the request in progress when it fires):
  Thespian timers cannot be cancelled, and one per request left thousands
  pending, which Thespian sorts at every new one;
* **retires** (exits; the endpoint starts a fresh worker) after a request
  that left an ask unanswered (a timeout, an optional ask that got no
  answer, a message that could not be delivered), so a late reply can
  never answer the next request;
* answers its requester with ``internal`` if it ends for any other reason
  mid-request (a crash included), and answers a ``PoisonMessage`` (an ask
  it sent could not be handled) by ending the request with an error;
* **checks its own stack** over :data:`THRASH_SAMPLE` requests after its
  first :data:`THRASH_WARMUP` (a freshly forked process pays copy-on-write
  faults at first).
  A forked actor process runs its message loop nested in the frames its
  parent had when it forked. Python 3.11 keeps frames in 16 KiB chunks and
  frees a chunk as soon as the frame that opened it returns; a loop that
  sits just below a chunk's end therefore maps, faults in and unmaps a
  chunk on nearly every call. Measured here: about 390 minor page faults
  and 3.3 ms of CPU per request instead of 1 fault and 1.2 ms (depth is
  luck; one frame more or less fixed it). A worker whose median request
  costs more than :data:`THRASH_FAULTS` faults tells the endpoint and
  retires; the endpoint forks its replacement one frame deeper.

Args (from the endpoint): :class:`~sagaline.admin.admin_args.WorkerArgs`: ``facts`` (the
daemon's facts), ``watch`` (name -> pid of the processes whose death ends the daemon; health checks them),
``heartbeat`` (the file the daemon touches every tick), ``root`` (the root
supervisor's address).
"""

from __future__ import annotations

import logging
import os
import resource
import statistics
import time
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.admin.admin_args import WorkerArgs
from sagaline.admin.conversations import Ask, Missing, NoAnswer, conversation, error
from sagaline.admin.requests import is_reply, read_request, reply_form
from sagaline.apps import load_apps
from sagaline.messages import codec
from sagaline.messages.admin import (
    AdminBounced,
    AdminConnect,
    AdminError,
    AdminForward,
    AdminHealth,
    AdminRequest,
    AdminResult,
    AdminWorkerPing,
    AdminWorkerState,
)
from sagaline.messages.registry import Entries, Lookup, RegistryEvent, Subscribe
from sagaline.messages.supervision import ExitReason, Unrecognized
from sagaline.runtime.procs import pid_alive

__all__ = ["AdminWorker"]

_log = logging.getLogger("sagaline.admin")
#: Registry key prefixes whose holders a worker caches (and follows through its subscription).
CACHED_PREFIXES = ("sagas", "domain:")
#: Requests a fresh worker answers before it counts page faults (copy-on-write faults come first).
THRASH_WARMUP = 16
#: Requests over which a worker then checks its page faults (once in its life).
THRASH_SAMPLE = 16
#: Median minor page faults per request above which the stack thrashes (measured: ~390 vs ~1).
THRASH_FAULTS = 64


class _Request:
    """One request in progress: who asked, the script, the asks in flight."""

    def __init__(self, request: AdminRequest, reply_to: Any, as_bytes: bool, script: Any) -> None:
        self.request, self.reply_to, self.as_bytes, self.script = request, reply_to, as_bytes, script
        self.began = time.monotonic()
        self.batch: list[Ask] = []
        self.replies: list[Any] = []
        self.waiting: list[tuple[Any, int]] = []  # (address, index in batch)
        self.single = True
        self.looking_up: str | None = None
        self.retire = False

    def waited(self) -> float:
        return time.monotonic() - self.began


class AdminWorker(BaseActor):
    """Answers admin requests one at a time (see the module docstring)."""

    def on_start(self, args: dict[str, Any]) -> None:
        cfg = WorkerArgs.parse(args)
        self.facts = dict(cfg.facts)
        self.facts["catalog"] = load_apps(self.facts.get("apps") or (), entry_points=False)
        self.watch = dict(cfg.watch)
        self.heartbeat = cfg.heartbeat
        self.known: dict[str, Any] = {"registry": self.registry, "root": cfg.root}
        self.current: _Request | None = None
        self.wake_at: float | None = None
        self.faults: list[int] = []
        self.faults_at: int | None = _page_faults()
        if self.registry is not None:
            for prefix in CACHED_PREFIXES:
                self.send(self.registry, Subscribe(key_prefix=prefix))

    # ----- requests ---------------------------------------------------------------------

    def receive_AdminForward(self, message: AdminForward, sender: Any) -> None:
        if self.current is not None:
            self.send(sender, AdminBounced(forward=message))
            return
        self._begin(message.payload, message.reply_to)

    def receive_AdminWorkerPing(self, message: AdminWorkerPing, sender: Any) -> None:
        overdue = 0.0
        if self.current is not None:
            overdue = max(0.0, self.current.waited() - self.current.request.deadline_s())
        self.send(sender, AdminWorkerState(busy=self.current is not None, overdue_s=overdue))

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        if message.kind == "registered":
            self.known[message.key] = message.holder
        else:
            self.known.pop(message.key, None)

    def receive_Subscribed(self, message: Any, sender: Any) -> None:
        pass

    def receive_object(self, message: Any, sender: Any) -> None:
        """A request (bytes or a model), or a reply to the request in progress.
        When idle, anything but an answer is taken as a request (and refused if it is none)."""
        if isinstance(message, (bytes, bytearray, memoryview, AdminRequest, AdminConnect)):
            self._arrived(message, sender)
        elif self.current is not None:
            self._replied(message, sender)
        elif not is_reply(message):
            self._arrived(message, sender)

    def _arrived(self, payload: Any, sender: Any) -> None:
        if sender is None:
            return
        if self.current is not None:
            busy = AdminError(
                code="busy",
                message="this admin worker is answering another request; send it to another worker or try again",
            )
            self._send_answer(sender, busy, isinstance(payload, (bytes, bytearray, memoryview)))
            return
        self._begin(payload, sender)

    def _begin(self, payload: Any, reply_to: Any) -> None:
        as_bytes = isinstance(payload, (bytes, bytearray, memoryview))
        request = read_request(payload)
        if isinstance(request, AdminConnect):
            request = AdminError(
                code="unknown_request",
                request="AdminConnect",
                message="send AdminConnect to the admin door, not to a worker",
            )
        if isinstance(request, AdminError):
            _log.warning("admin request refused: %s: %s", request.code, request.message[:200])
            self._send_answer(reply_to, request, as_bytes)
            return
        facts = (
            dict(self.facts, watch=self.watch, probes=self._probes())
            if isinstance(request, AdminHealth)
            else self.facts
        )
        self.current = _Request(request, reply_to, as_bytes, conversation(request, facts))
        self._arm(self.current.began + request.deadline_s())
        self._advance(None)

    def _arm(self, due: float) -> None:
        """Make sure a deadline wakeup is pending at or before ``due`` (monotonic)."""
        if self.wake_at is None or due < self.wake_at:
            self.wake_at = due
            self.timers.start("deadline", max(0.0, due - time.monotonic()))

    def _probes(self) -> dict[str, Any]:
        """What health needs measured here: which watched processes live, the heartbeat's age."""
        alive = {name: pid_alive(pid) for name, pid in self.watch.items() if pid}
        try:
            age = time.time() - os.stat(self.heartbeat).st_mtime if self.heartbeat else None
        except OSError:
            age = None
        return {"alive": alive, "heartbeat_age_s": age}

    # ----- the script -------------------------------------------------------------------

    def _in_hand(self) -> _Request:
        """The request being answered (these steps run only while there is one)."""
        if self.current is None:
            raise RuntimeError("the admin worker has no request in hand")
        return self.current

    def _advance(self, reply: Any) -> None:
        current = self._in_hand()
        try:
            asked = current.script.send(reply)
        except StopIteration as stop:
            self._finish(stop.value)
            return
        except Exception as exc:  # a bug in a script: answer, then carry on
            _log.exception("admin %s failed", type(current.request).__name__)
            self._finish(error(current.request, "internal", f"{type(exc).__name__}: {exc}"[:1000]))
            return
        current.single = not isinstance(asked, tuple)
        current.batch = [asked] if current.single else list(asked)
        current.replies = [None] * len(current.batch)
        self._resolve_or_send()

    def _resolve_or_send(self) -> None:
        current = self._in_hand()
        for ask in current.batch:
            if ask.address is None and ask.target not in self.known:
                current.looking_up = ask.target
                self.send(self.registry, Lookup(key=ask.target))
                return
        current.waiting = []
        for index, ask in enumerate(current.batch):
            target = ask.target or "an ask without a target"
            address = ask.address if ask.address is not None else self.known.get(target)
            if isinstance(address, Missing) or address is None:
                if not self._settle(index, address if isinstance(address, Missing) else Missing(target)):
                    return
                continue
            current.waiting.append((address, index))
            self.send(address, ask.message)
        timeouts = [a.timeout_s for a in current.batch if a.timeout_s is not None]
        if timeouts:
            self.timers.start("step", min(timeouts))
        self._maybe_next()

    def _replied(self, message: Any, sender: Any) -> None:
        current = self._in_hand()
        if current.looking_up is not None and sender == self.registry and isinstance(message, Entries):
            key, current.looking_up = current.looking_up, None
            holder = next((e.holder for e in message.entries if e.key == key), None)
            self.known[key] = holder if holder is not None else Missing(key)
            self._resolve_or_send()
            return
        for position, (address, index) in enumerate(current.waiting):
            if _answers(current.batch[index], address, message, sender):
                del current.waiting[position]
                if self._settle(index, message):
                    self._maybe_next()
                return
        _log.info("admin worker dropped a late %s", type(message).__name__)

    def _settle(self, index: int, reply: Any) -> bool:
        """Record a reply; False when it ended the request (an error for a required ask)."""
        current = self._in_hand()
        ask = current.batch[index]
        if not ask.optional:
            if isinstance(reply, Missing):
                self._finish(
                    error(
                        current.request,
                        "unavailable",
                        f"no actor is registered as {ask.target!r}: is that part of the tree running?",
                    )
                )
                return False
            if isinstance(reply, Unrecognized):
                self._finish(
                    error(
                        current.request,
                        "unsupported",
                        f"{reply.actor} does not answer {reply.message_type} (not implemented yet)",
                    )
                )
                return False
        current.replies[index] = reply
        return True

    def _maybe_next(self) -> None:
        current = self.current
        if current is None or current.waiting:
            return
        self.timers.cancel("step")
        self._advance(current.replies[0] if current.single else tuple(current.replies))

    def on_timer(self, name: str, data: Any) -> None:
        current = self.current
        if name == "deadline":
            self.wake_at = None
            if current is not None and current.waited() < current.request.deadline_s():
                self._arm(current.began + current.request.deadline_s())  # an earlier request's wakeup
                return
        if current is None:
            return
        late = [current.batch[index] for _, index in current.waiting]
        current.retire = True  # whatever is unanswered may still answer: never into the next request
        if name == "step" and all(ask.optional for ask in late):
            for _, index in current.waiting:
                current.replies[index] = NoAnswer(current.batch[index].describe())
            current.waiting = []
            self._maybe_next()
            return
        names = ", ".join(ask.describe() for ask in late) or (current.looking_up or "the registry")
        allowed = current.request.deadline_s()
        self._finish(
            error(
                current.request,
                "timeout",
                f"no answer from {names} within {allowed:g} s (waited {current.waited():.2f} s)",
                waited_s=round(current.waited(), 3),
            )
        )

    def on_poison(self, poison: Any) -> None:
        current = self.current
        lost = poison.poisonMessage
        if current is not None and any(current.batch[i].message == lost for _, i in current.waiting):
            current.retire = True
            self._finish(
                error(
                    current.request,
                    "internal",
                    f"{type(lost).__name__} could not be handled inside the daemon: {_last_line(poison.details)}",
                )
            )
            return
        _log.warning("admin worker: %s could not be delivered: %s", type(lost).__name__, _last_line(poison.details))

    # ----- the answer -------------------------------------------------------------------

    def _finish(self, answer: AdminResult | AdminError) -> None:
        current, self.current = self._in_hand(), None
        self.timers.cancel("step")
        request = current.request
        cid = getattr(request, "correlation_id", None) or (
            answer.data.get("correlation_id") if isinstance(answer, AdminResult) else None
        )
        _log.info(
            "admin %s%s: %s",
            type(request).__name__,
            f" cid={cid}" if cid else "",
            "ok" if isinstance(answer, AdminResult) else f"{answer.code}: {answer.message[:200]}",
            extra={"correlation_id": cid},
        )
        self._send_answer(current.reply_to, answer, current.as_bytes, request)
        if current.retire or self._thrashing():
            self.stop()

    def _thrashing(self) -> bool:
        """Over the first requests: does the message loop thrash the frame stack? (module docstring)"""
        if self.faults_at is None:
            return False
        now = _page_faults()
        self.faults.append(now - self.faults_at)
        self.faults_at = now
        if len(self.faults) < THRASH_WARMUP + THRASH_SAMPLE:
            return False
        self.faults_at = None  # judged once
        sample = statistics.median(self.faults[THRASH_WARMUP:])
        if sample <= THRASH_FAULTS:
            return False
        _log.warning("admin worker (pid %d): %d page faults per request; retiring", os.getpid(), sample)
        self.send(self.parent, AdminWorkerState(busy=False, stack_thrash=True))
        return True

    def _send_answer(
        self, reply_to: Any, answer: AdminResult | AdminError, as_bytes: bool, request: AdminRequest | None = None
    ) -> None:
        try:
            reply = reply_form(answer, as_bytes)
        except codec.CodecError as exc:
            failure = AdminError(
                code="internal",
                message=f"answer not encodable: {exc}"[:1000],
                request=type(request).__name__ if request is not None else None,
            )
            reply = reply_form(failure, as_bytes)
        self.send(reply_to, reply)

    def on_terminate(self, reason: ExitReason) -> None:
        current, self.current = self.current, None
        if current is not None:
            ended = error(
                current.request,
                "internal",
                f"the admin worker ended ({reason.kind}"
                f"{': ' + reason.detail if reason.detail else ''}) "
                f"before answering; the request may or may not have "
                f"been carried out",
            )
            self._send_answer(current.reply_to, ended, current.as_bytes, current.request)


def _answers(ask: Ask, address: Any, message: Any, sender: Any) -> bool:
    """Does ``message`` from ``sender`` answer ``ask`` (sent to ``address``)?"""
    if not ask.from_anyone:
        return address == sender
    if not isinstance(message, (*ask.replies, Unrecognized)):
        return False
    asked, said = getattr(ask.message, "correlation_id", None), getattr(message, "correlation_id", None)
    return asked is None or said is None or asked == said


def _page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _last_line(details: Any) -> str:
    lines = [line for line in str(details or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "unknown error"
