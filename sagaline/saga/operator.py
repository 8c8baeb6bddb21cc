"""PURE. What an operator's action on an ended run does, decided from the journal's summary of it.

* ``RetryCompensation``: only a ``stuck`` run's failed compensations can be
  retried; the run is rebuilt and rolls back again (:class:`Reopen`).
* ``ResumeRun``: a ``halted`` run continues in place (:class:`Reopen`); a
  ``failed`` or ``cancelled`` run is resumed by a successor run
  (:class:`Succeed`), once (:class:`Refuse` names the successor after
  that); a ``needs_operator`` run is recovered again (:class:`Reopen`,
  answered at once); any other is refused.

Whether the run is known, busy, or its saga still exists is for the caller
to check first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.messages.saga import RunSummary

__all__ = ["Refuse", "Reopen", "Succeed", "Decision", "decide_retry", "decide_resume"]


@dataclass(frozen=True)
class Refuse:
    """Nothing happens; the operator is told why (and the successor, if one exists)."""

    status: str
    message: str
    successor: str | None = None


@dataclass(frozen=True)
class Reopen:
    """Rebuild the run and apply ``kind`` to it (None: just recover it, answered at once)."""

    kind: str | None


@dataclass(frozen=True)
class Succeed:
    """Start a successor run that redoes what the rollback undid."""


Decision = Refuse | Reopen | Succeed


def decide_retry(summary: RunSummary) -> Decision:
    """``RetryCompensation`` of the run ``summary`` describes."""
    if summary.status != "stuck":
        return Refuse(summary.status, "only a stuck run's compensations can be retried")
    return Reopen("retry_compensations")


def decide_resume(summary: RunSummary) -> Decision:
    """``ResumeRun`` of the run ``summary`` describes."""
    status = summary.status
    if status == "halted":
        return Reopen("resume")
    if status in ("failed", "cancelled") and summary.successor:
        return Refuse(status, f"already resumed as {summary.successor}", summary.successor)
    if status in ("failed", "cancelled"):
        return Succeed()
    if status == "needs_operator":
        return Reopen(None)
    return Refuse(status, f"a {status} run cannot be resumed")
