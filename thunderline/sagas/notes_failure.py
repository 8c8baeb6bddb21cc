"""A CerebrosNAS step wrapper: a command step whose failure is noted on the model run in bolt.

When a step after ``create_model_run`` fails, the wrapped step's
compensation sends bolt the failure (:class:`~thunderline.messages.bolt_models.RecordRunFailure`:
step, code, message) and then stands; the undo of ``create_model_run``
marks the run ``failed`` with that reason. Undo callbacks do not see the
run's error, so the failing step hands it to bolt itself. A cancellation is
not a failure (``NOT_FAILURES``), and a timed-out step with an undo is
compensated by that undo (see :mod:`thunderline.sagas.cerebros_nas`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.saga import CommandStep, Ok, Send
from thunderline.messages import bolt_models as m

__all__ = ["NOT_FAILURES", "NotesFailure"]

#: Step errors that mean "cancelled", not "failed": noted as no failure.
NOT_FAILURES = frozenset({"training_cancelled"})


@dataclass(frozen=True)
class NotesFailure:
    """A command step whose failure is noted on the model run in bolt, then stands.

    Everything else is the wrapped step's: run, undo, parsing. For a timed
    out step with an undo, the wrapped step's compensation (its undo) wins:
    its effect may exist and must be reversed.
    """

    inner: CommandStep

    can_compensate = True

    @property
    def can_undo(self) -> bool:
        return self.inner.can_undo

    @property
    def can_interrupt(self) -> bool:
        return self.inner.can_interrupt

    def invoke(self, kind, args, value, reason, ctx):
        if kind != "compensate" or reason is None or (reason.indefinite and self.inner.can_undo):
            return self.inner.invoke(kind, args, value, reason, ctx)
        if reason.code in NOT_FAILURES:
            return Ok()  # the run was cancelled, not failed: the undo marks it so
        return Send(
            "bolt",
            m.RecordRunFailure(
                headers=ctx.headers(),
                run_id=args["run_id"],
                step=ctx.step,
                code=reason.code,
                message=reason.message[:1000],
            ),
        )

    def interpret(self, kind, reply, args):
        if kind == "compensate" and isinstance(reply, m.RunFailureRecorded):
            return Ok()
        return self.inner.interpret(kind, reply, args)

    def backoff(self, reason, args, ctx):
        return self.inner.backoff(reason, args, ctx)

    def describe(self) -> str:
        return self.inner.describe()

    @property
    def targets(self) -> frozenset[str]:
        """The wrapped step's domain, and bolt (where failures are noted)."""
        return frozenset({self.inner.target, "bolt"})
