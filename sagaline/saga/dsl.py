"""The saga DSL: a builder mirroring Elixir Reactor's, producing a frozen
:class:`~sagaline.saga.definition.SagaDefinition`.

Example (a runnable doctest)::

    >>> from sagaline.saga import Saga, Ok, input_, result, local
    >>> saga = Saga("greet")
    >>> saga.input("name", transform=str.strip)
    >>> saga.step("hello", local(lambda args, ctx: Ok(f"hello {args['name']}")),
    ...           args={"name": input_("name")})
    >>> saga.step("shout", local(lambda args, ctx: Ok(args["text"].upper())),
    ...           args={"text": result("hello")})
    >>> saga.returns("shout")
    >>> definition = saga.build()
    >>> [s.name for s in definition.steps]
    ['hello', 'shout']

Reactor's vocabulary maps one to one: ``input`` (with a transform),
``step`` with arguments from ``input_(name)``, ``result(step, *path)`` and
``value(v)``, ``wait_for``, ``max_retries``, ``run_async`` (Reactor's
``async?``), ``where`` (a guard that skips), ``max_concurrency``, and
``compose`` to embed another saga. ``build()`` checks everything and raises
:class:`~sagaline.saga.errors.DefinitionError` (or a
:class:`~sagaline.saga.errors.PlanError`) naming the saga, step and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sagaline.saga.definition import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_UNDO_RETRIES,
    NAME_RE,
    Argument,
    FromInput,
    FromResult,
    FromValue,
    InputDef,
    SagaDefinition,
    Source,
    StepDef,
)
from sagaline.saga.errors import DefinitionError
from sagaline.saga.outcomes import Ok, Outcome
from sagaline.saga.planner import plan
from sagaline.saga.steps import LocalStep, StepBehaviour, StepContext

__all__ = ["Saga", "input_", "result", "value"]

_MISSING: Any = object()


def input_(name: str) -> FromInput:
    """Argument source: the run's input ``name`` (after its transform)."""
    return FromInput(name)


def result(step: str, *path: Any) -> FromResult:
    """Argument source: the result of ``step``, or the part of it at ``path``."""
    return FromResult(step, tuple(path))


def value(v: Any) -> FromValue:
    """Argument source: the constant ``v``."""
    return FromValue(v)


class Saga:
    """Builder of one saga definition; call :meth:`build` once it is complete."""

    def __init__(
        self,
        name: str,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        version: int = 1,
        description: str = "",
        isolation: str = "hosted",
        announce: bool = False,
    ) -> None:
        self.name = name
        self._max_concurrency = max_concurrency
        self._version = version
        self._description = description
        self._isolation = isolation
        self._announce = announce
        self._inputs: list[InputDef] = []
        self._steps: list[StepDef] = []
        self._returns: str | None = None

    def input(
        self,
        name: str,
        type: Any = None,
        *,
        required: bool | None = None,
        default: Any = _MISSING,
        transform: Callable[[Any], Any] | None = None,
        description: str = "",
    ) -> None:
        """Declare an input (see :class:`~sagaline.saga.definition.InputDef`).

        ``s.input("max_trials", int, default=3, description="trials to train")``:
        an input with a default is optional unless ``required=True``; one
        without is required unless ``required=False`` (its default is then None).
        """
        if required is None:
            required = default is _MISSING
        self._inputs.append(
            InputDef(name, required, None if default is _MISSING else default, transform, type, description)
        )

    def step(
        self,
        name: str,
        impl: StepBehaviour,
        *,
        args: Mapping[str, Source] | None = None,
        wait_for: Iterable[str] = (),
        max_retries: int = DEFAULT_MAX_RETRIES,
        undo_retries: int = DEFAULT_UNDO_RETRIES,
        timeout: float | None = None,
        run_async: bool = True,
        where: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """Declare a step (see :class:`~sagaline.saga.definition.StepDef` for each option)."""
        arguments = tuple(Argument(k, v) for k, v in (args or {}).items())
        self._steps.append(
            StepDef(name, impl, arguments, tuple(wait_for), max_retries, undo_retries, timeout, run_async, where)
        )

    def compose(
        self, name: str, saga: SagaDefinition, *, args: Mapping[str, Source] | None = None, wait_for: Iterable[str] = ()
    ) -> None:
        """Embed another saga as the step ``name``.

        The sub-saga's steps join this plan as ``name.<step>`` (so they run
        concurrently with ours where their dependencies allow, and roll back
        in the same last-completed-first order); its inputs come from
        ``args`` through a ``name.inputs`` step that applies the sub-saga's
        transforms; the step ``name`` itself yields the sub-saga's result.
        """
        args = dict(args or {})
        self.step(f"{name}.inputs", _SubInputs(saga), args=args, wait_for=wait_for)
        for sub in saga.steps:
            self._steps.append(_renamed(sub, name))
        final = FromResult(f"{name}.{saga.returns}") if saga.returns else FromValue(None)
        self.step(name, _Passthrough(), args={"result": final}, wait_for=[f"{name}.{s.name}" for s in saga.steps])

    def returns(self, step: str) -> None:
        """Make ``step``'s result the run's result."""
        self._returns = step

    def build(self) -> SagaDefinition:
        """Check the definition and freeze it.

        Raises:
            DefinitionError: a bad name, duplicate, option or reference
                (the message names the saga, step and field).
            UnknownDependencyError, CycleError: the steps are not a DAG.
        """
        definition = SagaDefinition(
            self.name,
            tuple(self._inputs),
            tuple(self._steps),
            self._returns,
            self._max_concurrency,
            self._version,
            self._description,
            self._isolation,
            bool(self._announce),
        )
        _check(definition)
        plan(definition)
        return definition


def _renamed(step: StepDef, prefix: str) -> StepDef:
    def source(src: Source) -> Source:
        if isinstance(src, FromInput):
            return FromResult(f"{prefix}.inputs", (src.name,))
        if isinstance(src, FromResult):
            return FromResult(f"{prefix}.{src.step}", src.path)
        return src

    return StepDef(
        f"{prefix}.{step.name}",
        step.impl,
        tuple(Argument(a.name, source(a.source)) for a in step.arguments),
        (f"{prefix}.inputs", *(f"{prefix}.{w}" for w in step.wait_for)),
        step.max_retries,
        step.undo_retries,
        step.timeout,
        step.run_async,
        step.where,
    )


class _SubInputs(LocalStep):
    """Collects a composed saga's inputs from the parent's arguments."""

    def __init__(self, saga: SagaDefinition) -> None:
        self._saga = saga

    def run(self, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        from sagaline.saga.inputs import prepare_inputs

        return Ok(prepare_inputs(self._saga, args))


class _Passthrough(LocalStep):
    """The composed step itself: yields the sub-saga's result."""

    def run(self, args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        return Ok(args["result"])


def _fail(definition: SagaDefinition, where: str, why: str) -> DefinitionError:
    return DefinitionError(f"saga {definition.name!r}: {where}: {why}")


#: Where a saga's runs may live (see :class:`~sagaline.saga.definition.SagaDefinition`).
ISOLATIONS = ("hosted", "process")


def _check(d: SagaDefinition) -> None:
    if not NAME_RE.match(d.name or ""):
        raise _fail(d, "name", "must be a lowercase identifier")
    if d.max_concurrency < 1:
        raise _fail(d, "max_concurrency", "must be at least 1")
    if d.isolation not in ISOLATIONS:
        raise _fail(d, "isolation", f"must be one of {', '.join(ISOLATIONS)}, not {d.isolation!r}")
    if not d.steps:
        raise _fail(d, "steps", "a saga needs at least one step")
    input_names = _unique(d, "input", [i.name for i in d.inputs])
    for spec in d.inputs:
        _check_input(d, spec)
    _unique(d, "step", [s.name for s in d.steps])
    for step in d.steps:
        _check_step(d, step, input_names)
    if d.returns is not None and not d.has_step(d.returns):
        raise _fail(d, "returns", f"names unknown step {d.returns!r}")


def _unique(d: SagaDefinition, kind: str, names: list[str]) -> set[str]:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _fail(d, f"{kind} {name!r}", "name must be a lowercase identifier")
        if name in seen:
            raise _fail(d, f"{kind} {name!r}", "declared twice")
        seen.add(name)
    return seen


def _check_input(d: SagaDefinition, spec: InputDef) -> None:
    from sagaline.saga.inputs import input_problem, input_schema

    where = f"input {spec.name!r}"
    if spec.type is not None:
        try:
            input_schema(spec)
        except Exception as exc:
            raise _fail(d, f"{where} type", f"{spec.type!r} is not a type pydantic can check ({exc})") from None
    if spec.default is not None:
        problem = input_problem(spec, spec.default)
        if problem:
            raise _fail(d, f"{where} default", problem)
    if not isinstance(spec.description, str):
        raise _fail(d, f"{where} description", "must be a string")


def _check_step(d: SagaDefinition, s: StepDef, input_names: set[str]) -> None:
    where = f"step {s.name!r}"
    if not (hasattr(s.impl, "invoke") and hasattr(s.impl, "interpret")):
        raise _fail(d, f"{where} impl", "must be a LocalStep, a CommandStep or another StepBehaviour")
    if s.max_retries < 0 or s.undo_retries < 0:
        raise _fail(d, f"{where} max_retries/undo_retries", "must be >= 0")
    if s.timeout is not None and not s.timeout > 0:
        raise _fail(d, f"{where} timeout", "must be a positive number of seconds or None")
    seen_args: set[str] = set()
    for arg in s.arguments:
        if arg.name in seen_args:
            raise _fail(d, f"{where} argument {arg.name!r}", "declared twice")
        seen_args.add(arg.name)
        if not isinstance(arg.source, (FromInput, FromResult, FromValue)):
            raise _fail(d, f"{where} argument {arg.name!r}", "source must be input_(), result() or value()")
        if isinstance(arg.source, FromInput) and arg.source.name not in input_names:
            raise _fail(d, f"{where} argument {arg.name!r}", f"unknown input {arg.source.name!r}")
