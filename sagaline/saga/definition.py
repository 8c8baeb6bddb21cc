"""Frozen saga definitions: the plain data the DSL builds and the planner reads.

A definition says *what* a saga is (inputs, steps, how arguments flow); it
holds no run-time state. Runs are :class:`~sagaline.saga.state.RunState`
values, changed only by the executor's transition function.

Defaults live here, once:

* :data:`DEFAULT_MAX_RETRIES` (3): Reactor's default is infinite; a saga
  that retries forever never compensates, so ours is finite. ``max_retries``
  N means N+1 attempts; run retries and compensate-driven retries share it.
* :data:`DEFAULT_UNDO_RETRIES` (5): how often a failing undo or compensation
  is retried (with backoff) before the run is declared ``stuck``.
* :data:`DEFAULT_MAX_CONCURRENCY` (16): async steps in flight at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sagaline.saga.steps import StepBehaviour

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_UNDO_RETRIES",
    "DEFAULT_MAX_CONCURRENCY",
    "NAME_RE",
    "FromInput",
    "FromResult",
    "FromValue",
    "Source",
    "Argument",
    "InputDef",
    "StepDef",
    "SagaDefinition",
]

DEFAULT_MAX_RETRIES = 3
DEFAULT_UNDO_RETRIES = 5
DEFAULT_MAX_CONCURRENCY = 16

#: Step and input names: lowercase identifiers; dots appear only in the names
#: of steps a composed sub-saga contributes (``sub.step``).
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class FromInput:
    """An argument taken from the run's (transformed) input ``name``."""

    name: str


@dataclass(frozen=True, slots=True)
class FromResult:
    """An argument taken from the result of ``step``, optionally at ``path``
    (a tuple of mapping keys / sequence indices)."""

    step: str
    path: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class FromValue:
    """A constant argument."""

    value: Any


Source = FromInput | FromResult | FromValue


@dataclass(frozen=True, slots=True)
class Argument:
    """One named argument of a step and where its value comes from."""

    name: str
    source: Source


@dataclass(frozen=True, slots=True)
class InputDef:
    """One saga input.

    Attributes:
        name: the input's name.
        required: a run without it is refused (:class:`~sagaline.saga.errors.InputError`).
        default: the value when not required and not given.
        transform: ``value -> value`` applied once at start (pure); an
            exception there refuses the run with that input named.
        type: what the value must be, as a Python type or annotation
            (``int``, ``float``, ``list[str]``, ``Literal["a", "b"]``,
            ``Annotated[int, Field(ge=1)]``, a pydantic model); None accepts
            anything. Checked (and coerced the way pydantic does: ``"3"``
            becomes ``3`` for an ``int``) before the transform; the catalog
            shows it as a JSON schema (:func:`~sagaline.saga.inputs.input_schema`).
        description: one line for the catalog and the CLI.
    """

    name: str
    required: bool = True
    default: Any = None
    transform: Callable[[Any], Any] | None = None
    type: Any = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class StepDef:
    """One step of a saga.

    Attributes:
        name: unique within the saga.
        impl: the behaviour (:class:`~sagaline.saga.steps.LocalStep` or
            :class:`~sagaline.saga.steps.CommandStep`).
        arguments: named arguments and their sources; the ``FromResult``
            ones are this step's data dependencies.
        wait_for: steps that must finish first though no data flows.
        max_retries: retries after the first attempt (N+1 attempts in all).
        undo_retries: retries of a failing undo/compensation before the run
            is declared stuck.
        timeout: seconds an invocation may take before it counts as timed
            out (an *indefinite* failure: re-sent with the same idempotency
            key); None: no limit.
        run_async: False makes the step exclusive: it starts only when no
            other step is in flight, and nothing starts while it runs.
        where: ``args -> bool`` guard evaluated when the step is ready; False
            skips the step (result None; a skipped step is never undone).
    """

    name: str
    impl: StepBehaviour
    arguments: tuple[Argument, ...] = ()
    wait_for: tuple[str, ...] = ()
    max_retries: int = DEFAULT_MAX_RETRIES
    undo_retries: int = DEFAULT_UNDO_RETRIES
    timeout: float | None = None
    run_async: bool = True
    where: Callable[[Mapping[str, Any]], bool] | None = None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Steps that must be done before this one, data first, in declaration order."""
        deps = [a.source.step for a in self.arguments if isinstance(a.source, FromResult)]
        return tuple(dict.fromkeys([*deps, *self.wait_for]))


@dataclass(frozen=True)
class SagaDefinition:
    """A complete, immutable saga.

    Attributes:
        name: the saga's name (how runs, the CLI and the registry refer to it).
        inputs: the inputs, in declaration order.
        steps: the steps, in declaration order (ties in the plan keep it).
        returns: the step whose result is the run's result; None: a mapping
            of every step's result.
        max_concurrency: async steps in flight at once.
        version: bumped when the saga changes incompatibly (journals record it).
        description: one line for listings.
        isolation: where its runs live: ``"hosted"``, many runs as lightweight
            actors of a saga host process (the default), or ``"process"``,
            each run in an OS process of its own (for heavy or untrusted
            step code: a crash, a leak or a blocked thread stays in it). The
            daemon's ``runs.isolation`` overrides it for every saga.
        announce: publish the run's life on the bus: ``reactor.saga.complete``
            or ``reactor.saga.fail`` when it ends, ``flow.reactor.retry`` when
            a step is tried again (:mod:`sagaline.sagas.announcements`). Off by
            default (each costs a bus round trip); a stuck run is always
            announced (``reactor.saga.stuck``: an operator must act).
    """

    name: str
    inputs: tuple[InputDef, ...]
    steps: tuple[StepDef, ...]
    returns: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    version: int = 1
    description: str = ""
    isolation: str = "hosted"
    announce: bool = False
    _by_name: Mapping[str, StepDef] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {s.name: s for s in self.steps})

    def step(self, name: str) -> StepDef:
        """Return the step called ``name`` (KeyError when there is none)."""
        return self._by_name[name]

    def has_step(self, name: str) -> bool:
        """True when the saga has a step called ``name``."""
        return name in self._by_name
