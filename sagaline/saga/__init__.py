"""PURE. The saga core: DSL, frozen definitions, planner, executor, driver.

Pipeline (as in Reactor): :class:`Saga` (DSL builder) -> :class:`SagaDefinition`
(plain frozen data) -> :func:`plan` (checked DAG) -> :class:`Executor`
(pure ``transition(state, event, now) -> (state', commands)``) -> a shell
that carries out the commands: the in-process :class:`Driver` here, the
saga actor in ``sagaline.actors``.

This package imports no Thespian, aiosqlite or OpenTelemetry (a test parses
its imports to keep it so).
"""

from sagaline.saga.backoff import DEFAULT_BACKOFF, Backoff
from sagaline.saga.definition import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_UNDO_RETRIES,
    SagaDefinition,
    StepDef,
)
from sagaline.saga.driver import Driver, RunReport, TimelineEntry
from sagaline.saga.dsl import Saga, input_, result, value
from sagaline.saga.errors import CycleError, DefinitionError, InputError, PlanError, SagaError, UnknownDependencyError
from sagaline.saga.executor import Executor
from sagaline.saga.mermaid import to_mermaid
from sagaline.saga.outcomes import Continue, Fail, Halt, Ok, Retry, StepError
from sagaline.saga.planner import Plan, plan
from sagaline.saga.signals import (
    CancelRequested,
    Finished,
    InvocationResult,
    Invoke,
    ResumeRequested,
    RetryCompensations,
    SetTimer,
    TimerFired,
    TimerToken,
)
from sagaline.saga.state import RunState, StepState
from sagaline.saga.steps import CommandStep, LocalStep, Send, StepContext, local

__all__ = [
    "Backoff",
    "CancelRequested",
    "CommandStep",
    "Continue",
    "CycleError",
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_UNDO_RETRIES",
    "DefinitionError",
    "Driver",
    "Executor",
    "Fail",
    "Finished",
    "Halt",
    "InputError",
    "InvocationResult",
    "Invoke",
    "LocalStep",
    "Ok",
    "Plan",
    "PlanError",
    "ResumeRequested",
    "Retry",
    "RetryCompensations",
    "RunReport",
    "RunState",
    "Saga",
    "SagaDefinition",
    "SagaError",
    "Send",
    "SetTimer",
    "StepContext",
    "StepDef",
    "StepError",
    "StepState",
    "TimelineEntry",
    "TimerFired",
    "TimerToken",
    "UnknownDependencyError",
    "input_",
    "local",
    "plan",
    "result",
    "to_mermaid",
    "value",
]
