"""Errors of the saga layer.

::

    SagaError (SagalineError)
    +-- DefinitionError     a saga definition is malformed (raised by the DSL
    |   |                   while building; fix the definition)
    |   +-- PlanError       the steps do not form a DAG (raised by the planner)
    |       +-- UnknownDependencyError   a step names a step that does not exist
    |       +-- CycleError               steps depend on each other in a ring
    +-- InputError          a run's inputs are missing or invalid (raised when
                            a run starts; the run is refused, nothing happened)

Errors *inside* a run (a step that fails) are not exceptions: they are
:class:`~sagaline.saga.outcomes.StepError` values carried by outcomes, so the
executor can decide on retries and rollback without unwinding a stack.
"""

from __future__ import annotations

from sagaline.errors import SagalineError

__all__ = [
    "SagaError",
    "DefinitionError",
    "PlanError",
    "UnknownDependencyError",
    "CycleError",
    "InputError",
]


class SagaError(SagalineError):
    """Base of the saga layer's exceptions."""


class DefinitionError(SagaError):
    """A saga definition is malformed; raised while building it.

    The message names the saga, the step and the field at fault.
    """


class PlanError(DefinitionError):
    """The steps of a saga do not form a valid dependency graph."""


class UnknownDependencyError(PlanError):
    """A step depends on (takes a result of, or waits for) a step that does not exist.

    Attributes:
        step: the step holding the bad reference.
        missing: the name it refers to.
    """

    def __init__(self, saga: str, step: str, missing: str) -> None:
        super().__init__(f"saga {saga!r}: step {step!r} depends on unknown step {missing!r}")
        self.step = step
        self.missing = missing


class CycleError(PlanError):
    """Some steps depend on each other in a cycle.

    Attributes:
        cycle: the step names along the cycle, the first repeated at the end.
    """

    def __init__(self, saga: str, cycle: tuple[str, ...]) -> None:
        super().__init__(f"saga {saga!r}: dependency cycle {' -> '.join(cycle)}")
        self.cycle = cycle


class InputError(SagaError):
    """The inputs given to start a run are missing or invalid; the run was not started.

    Attributes:
        problems: one ``(input name, what is wrong)`` pair per problem.
    """

    def __init__(self, saga: str, problems: list[tuple[str, str]]) -> None:
        detail = "; ".join(f"{name}: {why}" for name, why in problems)
        super().__init__(f"saga {saga!r}: invalid input: {detail}")
        self.problems = problems
