"""Actors and messages used only by tests (importable by actor processes).

A :class:`Probe` collects :class:`ProbeEvent` s (and the ExitNotices of
actors it is made parent of); a :class:`Worker` reports its start and its
end to a probe and crashes, exits or vanishes on request.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import Field

from sagaline.actors.base import BaseActor
from sagaline.messages.base import ActorRef, Message
from sagaline.messages.registry import RegistryEvent
from sagaline.messages.supervision import ExitNotice, ExitReason


class ProbeEvent(Message):
    """Something a test wants to see happen."""

    kind: str
    """started | stopped | notice."""
    label: str
    """Who it happened to."""
    detail: str | None = None
    """Exit reason kind, or other detail."""
    pid: int | None = None
    """OS pid of the reporter."""
    at: float = Field(default_factory=time.monotonic)
    """When the reporter acted (CLOCK_MONOTONIC is one clock for every process
    here): messages from different senders may arrive out of that order."""


class ProbeGetEvents(Message):
    """Ask a probe for everything it has recorded."""


class ProbeEvents(Message):
    """Reply to ProbeGetEvents."""

    events: tuple[ProbeEvent, ...]
    """In arrival order."""


class ProbeCrash(Message):
    """Make a worker raise."""


class ProbeExit(Message):
    """Make a worker exit with ``kind``."""

    kind: str = "normal"
    """normal | shutdown."""
    term: str | None = None
    """With shutdown: exit with ``{shutdown, term}``."""


class ProbeVanish(Message):
    """Make a worker exit without an ExitNotice (a kill, on in-process bases)."""


class ProbePing(Message):
    """Ask a worker who it is."""


class ProbePong(Message):
    """Reply to ProbePing."""

    label: str
    """The worker's label."""
    pid: int
    """Its OS pid."""
    address: ActorRef = None
    """Its address."""


class Probe(BaseActor):
    """Records ProbeEvents and the ExitNotices sent to it."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.events: list[ProbeEvent] = []

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, ExitNotice) and self._ready:
            self.events.append(ProbeEvent(kind="notice", label=message.child_id or "?", detail=message.reason.kind))
            return
        super().receiveMessage(message, sender)

    def receive_ProbeEvent(self, message: ProbeEvent, sender: Any) -> None:
        self.events.append(message)

    def receive_RegistryEvent(self, message: RegistryEvent, sender: Any) -> None:
        self.events.append(ProbeEvent(kind=message.kind, label=message.key, detail=message.reason))

    def receive_EventDelivery(self, message: Any, sender: Any) -> None:
        self.events.append(ProbeEvent(kind="event", label=message.event.name, detail=message.pattern))

    def receive_ProbeGetEvents(self, message: ProbeGetEvents, sender: Any) -> None:
        self.send(sender, ProbeEvents(events=tuple(self.events)))


class Worker(BaseActor):
    """args: probe (address), label, fail_start (bool), ignore_stop (bool),
    last_words (a file its on_terminate appends "label reason" to)."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.label = args.get("label", self.child_id or "worker")
        if args.get("fail_start"):
            raise RuntimeError(f"{self.label} refuses to start")
        self._report("started")

    def on_terminate(self, reason: ExitReason) -> None:
        self._report("stopped", reason.kind)
        if self.args.get("last_words"):
            with open(self.args["last_words"], "a") as out:
                out.write(f"{self.label} {reason.kind}\n")

    def on_stop_request(self, reason: ExitReason) -> None:
        if not self.args.get("ignore_stop"):
            self.exit_with(reason)

    def receive_ProbeCrash(self, message: ProbeCrash, sender: Any) -> None:
        self._report("crashing")
        raise RuntimeError(f"{self.label} crashed on purpose")

    def receive_ProbeExit(self, message: ProbeExit, sender: Any) -> None:
        self.stop(message.kind, message.term)

    def receive_ProbeVanish(self, message: ProbeVanish, sender: Any) -> None:
        self.parent = None  # no ExitNotice: the parent reads the exit as a kill
        self.stop("normal")

    def receive_ProbePing(self, message: ProbePing, sender: Any) -> None:
        self.send(sender, ProbePong(label=self.label, pid=os.getpid(), address=self.myAddress))

    def _report(self, kind: str, detail: str | None = None) -> None:
        probe = self.args.get("probe")
        if probe is not None:
            self.send(probe, ProbeEvent(kind=kind, label=self.label, detail=detail, pid=os.getpid()))


class BrokenInit(BaseActor):
    """An actor whose constructor raises (Thespian-level start failure)."""

    def __init__(self) -> None:
        raise RuntimeError("constructor refuses")
