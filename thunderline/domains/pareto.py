"""PURE. The Pareto frontier of trained models: accuracy up, size down.

A NAS run trains several candidate models; none is simply "the best" when
one is more accurate and another smaller. The frontier is the set of
candidates that no other candidate *dominates*, where ``a`` dominates ``b``
when ``a`` is at least as accurate **and** at most as large, and strictly
better on one of the two. (The original system only sorted by accuracy and
kept five; a sorted list keeps dominated models and can drop
non-dominated ones.)

Size is the parameter count (deterministic, and what
``ml.trial.completed`` reports as the size axis); byte size follows it.

Example::

    >>> a = Candidate("a", accuracy=0.90, size=1000)
    >>> b = Candidate("b", accuracy=0.85, size=2000)   # worse and bigger than a
    >>> c = Candidate("c", accuracy=0.95, size=5000)
    >>> [m.id for m in frontier([a, b, c])]
    ['a', 'c']
    >>> choose(frontier([a, b, c]), max_size=4000).id
    'a'

Only the standard library; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "dominates", "frontier", "choose"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One trained model as the frontier sees it.

    Attributes:
        id: Its identity (an artifact id); ties are broken by it, so results are stable.
        accuracy: Higher is better (0..1 for accuracies, but any finite number works).
        size: Lower is better (a parameter count).

    Raises:
        ValueError: ``accuracy`` or ``size`` is not finite (NaN has no order).
    """

    id: str
    accuracy: float
    size: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.accuracy) and math.isfinite(self.size)):
            raise ValueError(f"candidate {self.id!r}: accuracy and size must be finite numbers")


def dominates(a: Candidate, b: Candidate) -> bool:
    """True when ``a`` is at least as good as ``b`` on both axes and better on one."""
    no_worse = a.accuracy >= b.accuracy and a.size <= b.size
    better = a.accuracy > b.accuracy or a.size < b.size
    return no_worse and better


def frontier(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The non-dominated candidates, smallest first (then most accurate, then by id).

    Candidates equal on both axes do not dominate each other, so all of
    them stay on the frontier.

    Args:
        candidates: Any number of candidates (ids need not be unique).

    Returns:
        Every candidate no other candidate dominates; empty for no input.
    """
    ordered = sorted(candidates, key=lambda c: (c.size, -c.accuracy, c.id))
    kept: list[Candidate] = []
    best_accuracy = -math.inf
    best_size = math.nan
    for cand in ordered:
        # Sorted by size: a candidate is dominated exactly when a smaller (or
        # equal-size) one already kept is at least as accurate, strictly so
        # or strictly smaller.
        if cand.accuracy > best_accuracy:
            kept.append(cand)
            best_accuracy, best_size = cand.accuracy, cand.size
        elif cand.accuracy == best_accuracy and cand.size == best_size:
            kept.append(cand)
    return kept


def choose(front: Sequence[Candidate], max_size: float | None = None) -> Candidate | None:
    """The model to version: the most accurate frontier member within ``max_size``.

    Ties go to the smaller model, then to the lower id.

    Args:
        front: A frontier (any candidates work; only those within the bound count).
        max_size: The size bound (the run's ``max_params``); None: no bound.

    Returns:
        The chosen candidate, or None when none is within the bound.
    """
    allowed = [c for c in front if max_size is None or c.size <= max_size]
    if not allowed:
        return None
    return min(allowed, key=lambda c: (-c.accuracy, c.size, c.id))
