"""The closed sets of values a step's callbacks return.

A step is a behaviour with three callbacks (see :mod:`sagaline.saga.steps`);
each returns one of a fixed set of outcomes, never anything else:

=============  =========================================================
callback       may return
=============  =========================================================
``run``        :class:`Ok` (value) | :class:`Retry` | :class:`Fail` | :class:`Halt`
``compensate`` :class:`Continue` (value) | :class:`Ok` | :class:`Retry` | :class:`Fail`
``undo``       :class:`Ok` | :class:`Retry` | :class:`Fail`
=============  =========================================================

``compensate`` runs for the *failing* step (Reactor's meaning): it may turn
the failure into a success (``Continue``), accept it (``Ok``), ask for the
step to be run again (``Retry``), or fail itself (``Fail``, recorded as a
failed compensation). ``undo`` runs for *completed* steps during rollback.

Any other return value (or an exception, caught by the shell that ran the
callback) becomes ``Fail(StepError("bad_outcome" | "exception", ...))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "StepError",
    "Ok",
    "Retry",
    "Fail",
    "Halt",
    "Continue",
    "Outcome",
    "RUN_OUTCOMES",
    "COMPENSATE_OUTCOMES",
    "UNDO_OUTCOMES",
    "check_outcome",
]


@dataclass(frozen=True, slots=True)
class StepError:
    """Why a step (or one of its compensations) failed.

    Attributes:
        code: a stable machine-readable reason, e.g. ``"invalid_email_format"``.
        message: a human-readable explanation.
        retryable: True when trying again may succeed (a transient fault).
        indefinite: True when the effect may or may not have happened (the
            invocation timed out): such a failure is compensated, never
            assumed harmless.
        details: extra facts (plain, serialisable data).
    """

    code: str
    message: str = ""
    retryable: bool = False
    indefinite: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


@dataclass(frozen=True, slots=True)
class Ok:
    """Success; ``value`` is the step's result (``run``) or ignored (``compensate``/``undo``)."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after ``delay`` seconds (the step's backoff decides when ``None``)."""

    reason: Any = None
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class Fail:
    """A failure; ``error.retryable`` lets the executor retry while attempts remain."""

    error: StepError


@dataclass(frozen=True, slots=True)
class Halt:
    """Pause the whole run (``run`` only): in-flight steps drain, nothing is undone,
    the run can be resumed later."""

    reason: Any = None


@dataclass(frozen=True, slots=True)
class Continue:
    """``compensate`` only: treat the failing step as succeeded with ``value``."""

    value: Any = None


Outcome = Ok | Retry | Fail | Halt | Continue

RUN_OUTCOMES: tuple[type[Outcome], ...] = (Ok, Retry, Fail, Halt)
COMPENSATE_OUTCOMES: tuple[type[Outcome], ...] = (Continue, Ok, Retry, Fail)
UNDO_OUTCOMES: tuple[type[Outcome], ...] = (Ok, Retry, Fail)

_ALLOWED = {"run": RUN_OUTCOMES, "compensate": COMPENSATE_OUTCOMES, "undo": UNDO_OUTCOMES}


def check_outcome(kind: str, outcome: Any) -> Outcome:
    """Return ``outcome`` when it belongs to ``kind``'s closed set, else a ``Fail``.

    Args:
        kind: ``"run"``, ``"compensate"`` or ``"undo"``.
        outcome: what the callback returned.

    Returns:
        ``outcome`` itself, or ``Fail(StepError("bad_outcome", ...))`` naming
        what was returned instead.
    """
    if isinstance(outcome, _ALLOWED[kind]):
        return outcome
    allowed = ", ".join(t.__name__ for t in _ALLOWED[kind])
    return Fail(StepError("bad_outcome", f"{kind} returned {type(outcome).__name__}; expected one of {allowed}"))
