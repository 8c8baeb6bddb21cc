"""A test app for saga hosts: a saga whose step's own code crashes (not a step failure: a crash).

``crashy`` has one step, a custom :class:`~sagaline.saga.steps.StepBehaviour`
whose ``invoke`` raises while the marker file named by its ``marker`` input
says crashes are left (the file holds their number), so the run's actor dies
inside its host, as a bug in a user's step behaviour would make it. ``calm``
is a one-step local saga that never crashes; ``apart`` is ``calm`` declared
``isolation="process"`` (each run its own process); ``patient`` stays in
flight, its one step failing (retryably, every 0.2 s) until the file named by
its ``go`` input exists. All are
loaded like any app: ``apps = ["tests.support.hosts_app:app"]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sagaline.apps import App
from sagaline.saga import Fail, Ok, Saga, SagaDefinition, StepError, input_, local

__all__ = ["app"]


class CrashingStep:
    """Raises from ``invoke`` while the run's marker says crashes are left."""

    can_compensate = False
    can_undo = False
    can_interrupt = False

    def invoke(self, kind: str, args: Any, value: Any, reason: Any, ctx: Any) -> Any:
        marker = Path(args["marker"])
        left = int(marker.read_text()) if marker.exists() else 0
        if left > 0:
            marker.write_text(str(left - 1))
            raise RuntimeError(f"a bug in a step behaviour ({left} crashes left)")
        return Ok({"survived": True})

    def interpret(self, kind: str, reply: Any, args: Any) -> Any:
        raise AssertionError("a local step gets no reply")

    def backoff(self, reason: Any, args: Any, ctx: Any) -> float | None:
        return None

    def describe(self) -> str:
        return "crashing"


def crashy() -> SagaDefinition:
    s = Saga("crashy", description="its one step's code crashes while its marker says so")
    s.input("marker", str, description="a file holding how many more times the step's code crashes")
    s.step("fragile", CrashingStep(), args={"marker": input_("marker")})
    return s.build()


def calm() -> SagaDefinition:
    s = Saga("calm", description="one local step that never fails")
    s.input("label", str, default="")
    s.step("easy", local(lambda a, c: Ok(a["label"])), args={"label": input_("label")})
    return s.build()


def apart() -> SagaDefinition:
    s = Saga("apart", description="calm, but each run in an OS process of its own", isolation="process")
    s.input("label", str, default="")
    s.step("easy", local(lambda a, c: Ok({"label": a["label"], "pid": os.getpid()})), args={"label": input_("label")})
    return s.build()


def patient() -> SagaDefinition:
    s = Saga("patient", description="in flight until its go file exists (its step retries every 0.2 s)")
    s.input("go", str, description="the file whose existence lets the step succeed")
    s.step("wait_for_go", local(_go, backoff=lambda reason, a, c: 0.2), args={"go": input_("go")}, max_retries=100_000)
    return s.build()


def _go(args: Any, ctx: Any) -> Any:
    if Path(args["go"]).exists():
        return Ok("went")
    return Fail(StepError("not_yet", "the go file is not there yet", retryable=True))


app = App(name="hosts_test", description="saga-host behaviour tests", sagas=[crashy, calm, apart, patient])
