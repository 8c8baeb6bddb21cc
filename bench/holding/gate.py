"""The ``gate`` domain: holds every :class:`Pass` command until :class:`OpenGate` (an admin command) answers them.

Runs of the ``held`` saga wait at the gate, so the benchmark can hold any
number in flight and measure the daemon while they wait. Nothing is stored:
the gate's state is the commands it holds.
"""

from __future__ import annotations

from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.base import Command, Reply
from sagaline.messages.batch import CommandBatch, ReplyBatch

__all__ = ["Pass", "Passed", "OpenGate", "GateOpened", "CountWaiting", "Waiting", "GateActor"]


class Pass(Command):
    """Go through the gate (answered when it opens)."""


class Passed(Reply):
    """Through."""


class OpenGate(Command):
    """Answer every held :class:`Pass` (admin command ``open_gate``)."""


class GateOpened(Reply):
    """How many passes were let through."""

    released: int


class CountWaiting(Command):
    """How many passes wait (admin command ``count_waiting``)."""


class Waiting(Reply):
    """The passes waiting at the gate."""

    count: int


class GateActor(BaseActor):
    """Holds passes; answers the gate's admin commands at once."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.held: list[tuple[Pass, Any]] = []

    def receive_CommandBatch(self, batch: CommandBatch, sender: Any) -> None:
        for command in batch.commands:
            self.receive_Command(command, sender)

    def receive_Command(self, command: Command, sender: Any) -> None:
        if isinstance(command, Pass):
            self.held.append((command, sender))
        elif isinstance(command, OpenGate):
            held, self.held = self.held, []
            by_sender: list[tuple[Any, list[Passed]]] = []  # one envelope per host, as domain actors answer
            for waiting, who in held:
                for address, replies in by_sender:
                    if address == who:
                        replies.append(Passed(headers=waiting.headers))
                        break
                else:
                    by_sender.append((who, [Passed(headers=waiting.headers)]))
            for who, replies in by_sender:
                self.send(who, ReplyBatch(replies=replies))
            self.send(sender, GateOpened(headers=command.headers, released=len(held)))
        elif isinstance(command, CountWaiting):
            self.send(sender, Waiting(headers=command.headers, count=len(self.held)))
