"""PURE. The NAS search space and the seeded proposal of architectures.

A search space is data (what a saga's ``search_space`` input holds),
validated by :class:`SearchSpace`; an unknown key or a bad value is a
``ValueError`` naming the field. :func:`propose` draws distinct
architectures from it with a seeded generator, so the same space, seed and
dataset shape always give the same proposals, in the same order.

The models are multi-layer perceptrons (scikit-learn's ``MLPClassifier``):
``hidden_layers`` picks the depth, ``widths`` each hidden layer's width,
then an activation, a learning rate, an L2 penalty and a batch size.
:func:`param_count` is that network's exact number of weights and biases,
so a proposal over the run's ``max_params`` is never trained.

Example::

    >>> space = SearchSpace(hidden_layers=[1], widths=[8, 16], activations=["relu"],
    ...                     learning_rates=[0.01], epochs=5)
    >>> [p.layers for p in propose(space, 5, seed=1, n_features=64, n_classes=10)]
    [(8,), (16,)]
    >>> param_count(64, (8,), 10)   # 64*8+8 + 8*10+10
    610

Only the standard library and pydantic; no I/O.
"""

from __future__ import annotations

import itertools
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "MAX_COMBINATIONS",
    "DEFAULT_SEARCH_SPACE",
    "SearchSpace",
    "Proposal",
    "param_count",
    "parse_space",
    "propose",
]

#: Largest space :func:`propose` enumerates (it lists every combination).
MAX_COMBINATIONS = 100_000

Activation = Literal["relu", "tanh", "logistic", "identity"]


class SearchSpace(BaseModel):
    """The declared choices of a NAS run (defaults: a small space that trains in seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_layers: list[int] = Field(default=[1, 2], min_length=1)
    """Depths to try (number of hidden layers), each 1..8."""
    widths: list[int] = Field(default=[16, 32, 64], min_length=1)
    """Widths a hidden layer may have, each 1..4096."""
    activations: list[Activation] = Field(default=["relu", "tanh"], min_length=1)
    """Hidden-layer activations to try."""
    learning_rates: list[float] = Field(default=[0.001, 0.01], min_length=1)
    """Initial learning rates (Adam) to try, each in (0, 1]."""
    alphas: list[float] = Field(default=[0.0001], min_length=1)
    """L2 penalties to try, each >= 0."""
    batch_sizes: list[int] = Field(default=[64], min_length=1)
    """Minibatch sizes to try, each >= 1."""
    epochs: int = Field(default=20, ge=1, le=1_000_000)
    """Passes over the training data per trial (the training budget)."""

    @model_validator(mode="after")
    def _small_enough(self) -> SearchSpace:
        if self.combinations() > MAX_COMBINATIONS:
            raise ValueError(
                f"the space has {self.combinations():,} combinations; at most {MAX_COMBINATIONS:,} are allowed"
            )
        return self

    def combinations(self) -> int:
        """How many distinct architectures the space holds."""
        widths = len(set(self.widths))
        shapes = sum(widths**depth for depth in set(self.hidden_layers))
        return (
            shapes
            * len(set(self.activations))
            * len(set(self.learning_rates))
            * len(set(self.alphas))
            * len(set(self.batch_sizes))
        )

    @field_validator("hidden_layers")
    @classmethod
    def _depths(cls, v: list[int]) -> list[int]:
        return _within(v, 1, 8, "depth")

    @field_validator("widths")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        return _within(v, 1, 4096, "width")

    @field_validator("learning_rates")
    @classmethod
    def _rates(cls, v: list[float]) -> list[float]:
        if any(not 0 < r <= 1 for r in v):
            raise ValueError("every learning rate must be in (0, 1]")
        return v

    @field_validator("alphas")
    @classmethod
    def _alphas(cls, v: list[float]) -> list[float]:
        if any(not a >= 0 for a in v):
            raise ValueError("every alpha must be >= 0")
        return v

    @field_validator("batch_sizes")
    @classmethod
    def _batches(cls, v: list[int]) -> list[int]:
        return _within(v, 1, 1_000_000, "batch size")


def _within(values: list[int], low: int, high: int, what: str) -> list[int]:
    if any(not low <= v <= high for v in values):
        raise ValueError(f"every {what} must be in {low}..{high}")
    return values


#: The space used when a run gives none (plain data, as a saga input would be).
DEFAULT_SEARCH_SPACE: dict = SearchSpace().model_dump()


class Proposal(BaseModel):
    """One architecture to train, with its exact size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layers: tuple[int, ...]
    """Width of each hidden layer, input side first."""
    activation: Activation
    """Hidden-layer activation."""
    learning_rate: float
    """Adam's initial learning rate."""
    alpha: float
    """L2 penalty."""
    batch_size: int
    """Minibatch size."""
    epochs: int
    """Passes over the training data."""
    param_count: int
    """Weights and biases of the network for the dataset's shape."""


def parse_space(data: dict | None) -> SearchSpace:
    """Validate a search space given as data (None: the default space).

    Raises:
        ValueError: An unknown key or a bad value; the message names the field.
    """
    try:
        return SearchSpace.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "search_space"
        raise ValueError(f"search_space.{where}: {first['msg']}") from None


def param_count(n_features: int, layers: tuple[int, ...], n_classes: int) -> int:
    """Weights and biases of an MLP classifier with these hidden ``layers``.

    scikit-learn gives a two-class problem one output unit, else one per class.
    """
    outputs = 1 if n_classes <= 2 else n_classes
    sizes = (n_features, *layers, outputs)
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def propose(
    space: SearchSpace, count: int, *, seed: int, n_features: int, n_classes: int, max_params: int | None = None
) -> list[Proposal]:
    """Draw up to ``count`` distinct architectures from ``space``, reproducibly.

    Every combination of the space is enumerated, those over ``max_params``
    are dropped, and ``count`` of the rest are sampled without replacement
    by ``random.Random(seed)``.

    Args:
        space: The search space.
        count: How many proposals are wanted (>= 1).
        seed: Seeds the draw: same inputs, same proposals in the same order.
        n_features, n_classes: The dataset's shape (for the size).
        max_params: Largest allowed network; None: no bound.

    Returns:
        ``min(count, viable)`` proposals (empty when nothing fits the bound).

    Raises:
        ValueError: ``count < 1`` or a non-positive dataset shape.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, not {count}")
    if n_features < 1 or n_classes < 2:
        raise ValueError(f"a dataset needs >= 1 feature and >= 2 classes, not {n_features}/{n_classes}")
    viable = [p for p in _all(space, n_features, n_classes) if max_params is None or p.param_count <= max_params]
    return random.Random(seed).sample(viable, min(count, len(viable)))


def _all(space: SearchSpace, n_features: int, n_classes: int) -> list[Proposal]:
    shapes = [
        shape
        for depth in sorted(set(space.hidden_layers))
        for shape in itertools.product(sorted(set(space.widths)), repeat=depth)
    ]
    combos = itertools.product(
        shapes,
        dict.fromkeys(space.activations),
        sorted(set(space.learning_rates)),
        sorted(set(space.alphas)),
        sorted(set(space.batch_sizes)),
    )
    return [
        Proposal(
            layers=shape,
            activation=act,
            learning_rate=lr,
            alpha=alpha,
            batch_size=batch,
            epochs=space.epochs,
            param_count=param_count(n_features, shape, n_classes),
        )
        for shape, act, lr, alpha, batch in combos
    ]
