"""The ``peers`` saga: seven steps in a row, each a ``PutRow`` undone by a ``DeleteRow``.

``fail_at`` (0: never) makes that step's put be refused, so the run fails
there and steps ``fail_at - 1 .. 1`` are undone, last first. The benchmark
gives every tenth run ``fail_at=5``.
"""

from __future__ import annotations

from peers.rows import DeleteRow, PutRow
from sagaline.saga import CommandStep, Saga, SagaDefinition, input_, result

__all__ = ["NAME", "STEPS", "definition"]

NAME = "peers"
STEPS = 7


def _step(i: int) -> CommandStep:
    return CommandStep(
        "rows",
        build=lambda a, ctx: PutRow(headers=ctx.headers(), run=ctx.run_id, step=i, reject=a["fail_at"] == i),
        build_undo=lambda v, a, ctx: DeleteRow(headers=ctx.headers(), effect_key=ctx.run_key),
    )


def definition() -> SagaDefinition:
    """Build the saga."""
    s = Saga(NAME, description="seven rows, one per step; a refused step undoes the others")
    s.input("fail_at", int, default=0, description="the step whose row is refused (0: none)")
    for i in range(1, STEPS + 1):
        args = {"fail_at": input_("fail_at")}
        if i > 1:
            args["previous"] = result(f"put_{i - 1}")
        s.step(f"put_{i}", _step(i), args=args, timeout=10.0)
    return s.build()
