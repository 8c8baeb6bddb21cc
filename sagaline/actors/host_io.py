"""A saga host's plumbing: the runs' timers on one clock, and sends gathered per destination.

Both exist because a host carries many runs and a Thespian operation costs
far more than the work behind it:

* :class:`RunTimers` keeps every run's named timers in one heap and needs
  at most one Thespian ``wakeupAfter`` outstanding (for the earliest
  deadline). Thespian timers cannot be cancelled, so one wakeup per step
  deadline would deliver thousands of stale wakeups per second at a few
  hundred runs per second; here a cancelled or replaced timer is simply
  skipped when its time comes. Pure: the caller passes ``now``.
* :class:`Outbox` gathers what the runs send while the host handles one
  message and sends it at the end, one envelope per destination: several
  commands for one actor travel as one
  :class:`~sagaline.messages.batch.CommandBatch` (see that module for the
  measured cost of a message against an item).
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable

from sagaline.messages.base import Command
from sagaline.messages.batch import CommandBatch

__all__ = ["RunTimers", "Outbox"]


class RunTimers:
    """Named timers of many runs on one heap (``key`` is any hashable, e.g. ``(run_id, name)``)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._live: dict[Any, tuple[int, Any]] = {}  # key -> (serial, data) of its live start
        self._serials = itertools.count(1)

    def start(self, key: Any, at: float, data: Any = None) -> None:
        """(Re)start timer ``key`` to fire at ``at``, replacing any earlier start of it."""
        serial = next(self._serials)
        self._live[key] = (serial, data)
        heapq.heappush(self._heap, (at, serial, key))

    def cancel(self, key: Any) -> None:
        """Cancel timer ``key`` (no error if absent)."""
        self._live.pop(key, None)

    def cancel_all(self, prefix: Callable[[Any], bool]) -> None:
        """Cancel every timer whose key satisfies ``prefix`` (a run that ended)."""
        for key in [k for k in self._live if prefix(k)]:
            del self._live[key]

    def due(self, now: float) -> list[tuple[Any, Any]]:
        """Pop every live timer due at ``now``: ``[(key, data)]`` in deadline order."""
        fired = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, serial, key = heapq.heappop(heap)
            live = self._live.get(key)
            if live is not None and live[0] == serial:
                del self._live[key]
                fired.append((key, live[1]))
        return fired

    def next_at(self) -> float | None:
        """When the earliest live timer fires (None: none); drops stale heads on the way."""
        heap = self._heap
        while heap:
            at, serial, key = heap[0]
            live = self._live.get(key)
            if live is not None and live[0] == serial:
                return at
            heapq.heappop(heap)
        return None

    def __len__(self) -> int:
        return len(self._live)


class Outbox:
    """Messages gathered per destination, sent by :meth:`flush`.

    Args:
        send: the actor's ``send(address, message)``.
    """

    def __init__(self, send: Callable[[Any, Any], None]) -> None:
        self._send = send
        self._queues: list[tuple[Any, list[Any]]] = []  # addresses are not hashable: a short list
        self.envelopes = 0
        self.items = 0

    def put(self, address: Any, message: Any) -> None:
        """Queue ``message`` for ``address``."""
        for dest, queue in self._queues:
            if dest == address:
                queue.append(message)
                return
        self._queues.append((address, [message]))

    def flush(self) -> None:
        """Send everything queued: commands for one actor as one batch, the rest one by one."""
        queues, self._queues = self._queues, []
        for address, messages in queues:
            self.items += len(messages)
            commands = [m for m in messages if isinstance(m, Command)]
            if len(commands) > 1:
                self._send(address, CommandBatch(commands=commands))
                self.envelopes += 1
                messages = [m for m in messages if not isinstance(m, Command)]
            for message in messages:
                self._send(address, message)
            self.envelopes += len(messages)

    def __bool__(self) -> bool:
        return bool(self._queues)
