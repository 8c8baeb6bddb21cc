"""The planner: a saga's steps as a dependency graph, checked and ordered.

A step depends on every step it takes a result from and every step it
waits for. The plan is the DAG of those edges with a topological order that
keeps declaration order among independent steps (so runs, renderings and
tests are deterministic).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sagaline.saga.definition import SagaDefinition
from sagaline.saga.errors import CycleError, UnknownDependencyError

__all__ = ["Plan", "plan"]


@dataclass(frozen=True)
class Plan:
    """The checked dependency graph of one saga.

    Attributes:
        order: every step name, dependencies before dependents, declaration
            order among independent steps.
        deps: step -> the steps it depends on.
        dependents: step -> the steps that depend on it.
    """

    order: tuple[str, ...]
    deps: Mapping[str, frozenset[str]]
    dependents: Mapping[str, frozenset[str]]

    def ancestors(self, step: str) -> frozenset[str]:
        """Every step ``step`` depends on, directly or not."""
        return _reach(step, self.deps)

    def descendants(self, step: str) -> frozenset[str]:
        """Every step that depends on ``step``, directly or not."""
        return _reach(step, self.dependents)


def _reach(step: str, edges: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Every step reachable from ``step`` along ``edges`` (``step`` itself excluded)."""
    seen: set[str] = set()
    stack = list(edges[step])
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(edges[name])
    return frozenset(seen)


def plan(definition: SagaDefinition) -> Plan:
    """Check a definition's dependencies and order its steps.

    Returns:
        The :class:`Plan`.

    Raises:
        UnknownDependencyError: a step refers to a step that does not exist
            (names the step and the missing name).
        CycleError: steps depend on each other in a cycle (names the cycle).
    """
    names = [s.name for s in definition.steps]
    deps: dict[str, frozenset[str]] = {}
    for step in definition.steps:
        for dep in step.dependencies:
            if not definition.has_step(dep):
                raise UnknownDependencyError(definition.name, step.name, dep)
        deps[step.name] = frozenset(step.dependencies)
    dependents: dict[str, set[str]] = {n: set() for n in names}
    for name, ds in deps.items():
        for dep in ds:
            dependents[dep].add(name)
    order = _topological(definition.name, names, deps)
    return Plan(order, deps, {n: frozenset(d) for n, d in dependents.items()})


def _topological(saga: str, names: list[str], deps: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(names)
    while remaining:
        ready = [n for n in remaining if deps[n] <= placed]
        if not ready:
            raise CycleError(saga, _find_cycle(remaining, deps))
        first = ready[0]  # lowest declaration index keeps the order stable
        done.append(first)
        placed.add(first)
        remaining.remove(first)
    return tuple(done)


def _find_cycle(candidates: list[str], deps: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    """Walk dependencies from the first unplaceable step until a name repeats."""
    pending = set(candidates)
    path: list[str] = []
    node = candidates[0]
    while node not in path:
        path.append(node)
        node = sorted(d for d in deps[node] if d in pending)[0]
    return tuple(path[path.index(node) :]) + (node,)
