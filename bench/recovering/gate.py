"""The ``gate`` domain: holds one :class:`Pass` per run until :class:`OpenGate`, and counts re-sent passes.

A run's pass is keyed by its correlation id. A run rebuilt from the journal
(its saga host died) sends its unanswered pass again, with the same
idempotency key, from the host's successor: the gate then holds the newest
pass only (the old sender is gone) and counts the run as re-sent. After
:class:`OpenGate` the gate stays open: later passes are answered at once
(and counted as ``late``). Nothing is stored: the gate's state is the passes
it holds and its counters.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.base import Command, Reply
from sagaline.messages.batch import CommandBatch, ReplyBatch
from sagaline.saga.placement import partition_of

__all__ = ["Pass", "Passed", "OpenGate", "GateOpened", "CountWaiting", "Waiting", "GateActor"]


class Pass(Command):
    """Go through the gate (answered when it opens)."""


class Passed(Reply):
    """Through."""


class OpenGate(Command):
    """Answer every held :class:`Pass`, and every later one at once (admin command ``open_gate``)."""


class GateOpened(Reply):
    """What opening the gate did."""

    released: int
    """Runs let through (one answer per run, to its newest pass)."""


class CountWaiting(Command):
    """Where the gate stands (admin command ``count_waiting``)."""

    partitions: int = 1
    """Split the per-run figures by :func:`~sagaline.saga.placement.partition_of` over this many partitions."""


class Waiting(Reply):
    """The gate's counters."""

    count: int
    """Runs waiting at the gate."""
    passes: int
    """Passes received so far (re-sent ones included)."""
    resent: int
    """Runs whose pass came more than once."""
    most_passes: int
    """The most passes one run sent."""
    late: int
    """Passes that came after the gate opened."""
    waiting_by_partition: list[int]
    """``count`` per partition."""
    resent_by_partition: list[int]
    """``resent`` per partition."""


class GateActor(BaseActor):
    """Holds one pass per run; answers the gate's admin commands at once."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.held: dict[str, tuple[Pass, Any]] = {}
        self.passes: Counter[str] = Counter()
        self.opened = False
        self.late = 0

    def receive_CommandBatch(self, batch: CommandBatch, sender: Any) -> None:
        for command in batch.commands:
            self.receive_Command(command, sender)

    def receive_Command(self, command: Command, sender: Any) -> None:
        if isinstance(command, Pass):
            self._pass(command, sender)
        elif isinstance(command, OpenGate):
            held, self.held, self.opened = self.held, {}, True
            for who, replies in _by_sender(held.values()):
                self.send(who, ReplyBatch(replies=replies))
            self.send(sender, GateOpened(headers=command.headers, released=len(held)))
        elif isinstance(command, CountWaiting):
            self.send(sender, self._counts(command))

    def _pass(self, command: Pass, sender: Any) -> None:
        cid = command.headers.correlation_id
        self.passes[cid] += 1
        if self.opened:
            self.late += 1
            self.send(sender, Passed(headers=command.headers))
        else:
            self.held[cid] = (command, sender)  # a re-sent pass replaces its run's older one

    def _counts(self, command: CountWaiting) -> Waiting:
        parts = max(1, command.partitions)
        waiting, resent = [0] * parts, [0] * parts
        for cid in self.held:
            waiting[partition_of(cid, parts)] += 1
        again = [cid for cid, n in self.passes.items() if n > 1]
        for cid in again:
            resent[partition_of(cid, parts)] += 1
        return Waiting(
            headers=command.headers,
            count=len(self.held),
            passes=sum(self.passes.values()),
            resent=len(again),
            most_passes=max(self.passes.values(), default=0),
            late=self.late,
            waiting_by_partition=waiting,
            resent_by_partition=resent,
        )


def _by_sender(held: Any) -> list[tuple[Any, list[Reply]]]:
    """The answers to the held passes, one batch per sender (a saga host takes a batch as one message:
    thousands of single replies took the gate over 10 s to send to two hosts)."""
    batches: list[tuple[Any, list[Reply]]] = []  # addresses are not hashable: a short list
    for waiting, who in held:
        for address, replies in batches:
            if address == who:
                replies.append(Passed(headers=waiting.headers))
                break
        else:
            batches.append((who, [Passed(headers=waiting.headers)]))
    return batches
