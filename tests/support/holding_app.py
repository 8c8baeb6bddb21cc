"""A test app whose runs wait in flight: the ``hold`` domain answers nothing it is sent.

``held`` has one command step to ``hold``; its run waits there (for as long
as its step's timeout) and is therefore in flight when its host dies. The
domain counts the :class:`Hold` commands per run, so a test sees which runs
a restarted host rebuilt (a rebuilt run sends its unanswered command again).
Loaded like any app: ``apps = ["tests.support.holding_app:app"]``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.apps import App, AppDomain
from sagaline.messages.base import Command, Reply
from sagaline.messages.batch import CommandBatch
from sagaline.saga import CommandStep, Saga, SagaDefinition

__all__ = ["app", "Hold", "CountHolds", "Holds", "HoldActor"]


class Hold(Command):
    """Wait here (never answered)."""


class CountHolds(Command):
    """How many runs hold, and how many of them sent their :class:`Hold` more than once."""


class Holds(Reply):
    """Answer to :class:`CountHolds`."""

    runs: int
    """Runs that sent a :class:`Hold`."""
    resent: int
    """Runs that sent it more than once."""


class HoldActor(BaseActor):
    """Keeps every :class:`Hold` unanswered; answers :class:`CountHolds`."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.holds: Counter[str] = Counter()

    def receive_CommandBatch(self, batch: CommandBatch, sender: Any) -> None:
        for command in batch.commands:
            self.receive_Command(command, sender)

    def receive_Command(self, command: Command, sender: Any) -> None:
        if isinstance(command, Hold):
            self.holds[command.headers.correlation_id] += 1
        elif isinstance(command, CountHolds):
            self.send(
                sender,
                Holds(
                    headers=command.headers, runs=len(self.holds), resent=sum(1 for n in self.holds.values() if n > 1)
                ),
            )


def held() -> SagaDefinition:
    s = Saga("held", description="waits at the hold domain (never answered)")
    s.step("hold", CommandStep("hold", build=lambda a, ctx: Hold(headers=ctx.headers())), timeout=3600.0)
    return s.build()


app = App(
    name="holding_test",
    description="runs held in flight",
    sagas=[held],
    domains=[AppDomain("hold", HoldActor, description="answers nothing")],
    messages=[Hold, CountHolds, Holds],
)
