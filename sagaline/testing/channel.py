"""A stand-in daemon for :class:`sagaline.Client` tests: the double of
:class:`~sagaline.client.channel.ThespianChannel`.

::

    channel = FakeChannel(lambda worker, request: AdminResult(request="AdminHealth", data={...}))
    client = Client(channel=channel)

``answer(worker, request)`` gets the decoded request and which worker it
was sent to, and returns the daemon's answer (an
:class:`~sagaline.messages.admin.AdminResult` or
:class:`~sagaline.messages.admin.AdminError`), :data:`NO_ANSWER` (nothing
within the timeout; no time passes) or :data:`UNDELIVERED` (the worker is
gone). ``workers`` names the directory's workers; ``retire(name)`` removes
one from later directories; ``opens`` counts directory fetches,
``asked`` records ``(worker, request)``; ``starting`` makes ``open`` raise
:class:`~sagaline.client.errors.DaemonStarting`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sagaline.client.channel import Reply
from sagaline.client.errors import DaemonStarting
from sagaline.client.locate import Target
from sagaline.messages import codec
from sagaline.messages.admin import AdminDirectory, AdminError, AdminResult
from sagaline.messages.base import Message

__all__ = ["FakeChannel", "NO_ANSWER", "UNDELIVERED"]

NO_ANSWER = object()
UNDELIVERED = object()

Answer = Callable[[str, Message], "AdminResult | AdminError | object"]


class FakeChannel:
    """A scripted daemon (see the module docstring); thread-safe."""

    def __init__(self, answer: Answer, workers: tuple[str, ...] = ("w1", "w2"), starting: bool = False) -> None:
        self.target = Target("127.0.0.1", 7720, "a fake channel")
        self.answer = answer
        self.workers = list(workers)
        self.starting = starting
        self.opens = 0
        self.asked: list[tuple[str, Message]] = []
        self.closed = False
        self._lock = threading.Lock()

    def open(self) -> AdminDirectory:
        with self._lock:
            self.opens += 1
            if self.starting:
                raise DaemonStarting("the fake daemon is starting", "starting")
            return AdminDirectory(workers=list(self.workers), version="fake", daemon_pid=1)

    def retire(self, worker: str) -> None:
        with self._lock:
            self.workers = [w for w in self.workers if w != worker]

    def ask(self, address: Any, payload: bytes, timeout: float) -> Reply:
        request = codec.decode(payload)
        with self._lock:
            self.asked.append((address, request))
        answer = self.answer(address, request)
        if answer is UNDELIVERED:
            return Reply(None, True, 0.001)
        if answer is NO_ANSWER:
            return Reply(None, False, timeout)
        if not isinstance(answer, Message):
            raise TypeError(f"a FakeChannel answer must be a message, UNDELIVERED or NO_ANSWER, not {answer!r:.80}")
        return Reply(codec.encode(answer), False, 0.001)

    def close(self) -> None:
        self.closed = True
