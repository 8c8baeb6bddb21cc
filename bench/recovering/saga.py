"""The ``held`` saga of the recovery benchmark: one step, a pass through the gate (undone by nothing)."""

from __future__ import annotations

from recovering.gate import Pass
from sagaline.saga import CommandStep, Saga, SagaDefinition

NAME = "held"


def definition() -> SagaDefinition:
    """Build the saga."""
    s = Saga(NAME, description="waits at the gate until the benchmark opens it")
    s.step("pass_gate", CommandStep("gate", build=lambda a, ctx: Pass(headers=ctx.headers())), timeout=3600.0)
    return s.build()
