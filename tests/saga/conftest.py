"""Helpers for driving the pure executor by hand in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sagaline.messages.ids import uuid7
from sagaline.saga import Executor, InvocationResult, Invoke, Ok, SetTimer, TimerFired
from sagaline.saga.signals import Finished


@dataclass
class Manual:
    """A run driven one event at a time, keeping every command it produced."""

    executor: Executor
    state: Any = None
    now: float = 0.0
    commands: list = field(default_factory=list)

    def start(self, inputs: dict | None = None) -> list:
        self.state, cmds = self.executor.start(uuid7(), inputs or {}, self.now)
        self.commands.extend(cmds)
        return cmds

    def feed(self, event) -> list:
        self.state, cmds = self.executor.transition(self.state, event, self.now)
        self.commands.extend(cmds)
        return cmds

    def invokes(self, cmds=None, kind=None) -> list[Invoke]:
        return [
            c
            for c in (self.commands if cmds is None else cmds)
            if isinstance(c, Invoke) and (kind is None or c.kind == kind)
        ]

    def pending(self, step: str, kind: str = "run") -> Invoke:
        """The latest invoke of ``kind`` for ``step``."""
        return [c for c in self.invokes(kind=kind) if c.step == step][-1]

    def answer(self, step: str, outcome=None, kind: str = "run") -> list:
        inv = self.pending(step, kind)
        return self.feed(InvocationResult(step, kind, inv.key, outcome if outcome is not None else Ok(step)))

    def timers(self, purpose: str | None = None) -> list[SetTimer]:
        return [c for c in self.commands if isinstance(c, SetTimer) and (purpose is None or c.token.purpose == purpose)]

    def fire_latest(self, step: str, purpose: str) -> list:
        timer = [t for t in self.timers(purpose) if t.token.step == step][-1]
        self.now = max(self.now, timer.at)
        return self.feed(TimerFired(timer.token))

    def finished(self) -> Finished | None:
        done = [c for c in self.commands if isinstance(c, Finished)]
        return done[-1] if done else None

    def undo_order(self) -> list[str]:
        return [c.step for c in self.invokes(kind="undo")]


@pytest.fixture
def manual():
    return lambda definition: Manual(Executor(definition))
