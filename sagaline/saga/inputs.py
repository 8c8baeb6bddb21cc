"""Preparing a run's inputs: presence, defaults and transforms, checked at start."""

from __future__ import annotations

from typing import Any, Mapping

from sagaline.saga.definition import SagaDefinition
from sagaline.saga.errors import InputError

__all__ = ["prepare_inputs"]


def prepare_inputs(definition: SagaDefinition, given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the run's inputs after defaults and transforms.

    Every problem is collected, so one refusal names them all.

    Raises:
        InputError: a required input is missing (None counts as missing),
            an input the saga does not declare was given, or a transform
            raised (its message is quoted).
    """
    problems: list[tuple[str, str]] = []
    declared = {i.name for i in definition.inputs}
    for name in given:
        if name not in declared:
            problems.append((str(name), "not an input of this saga"))
    prepared: dict[str, Any] = {}
    for spec in definition.inputs:
        raw = given.get(spec.name)
        if raw is None:
            if spec.required:
                problems.append((spec.name, "required"))
                continue
            raw = spec.default
        if spec.transform is not None and raw is not None:
            try:
                raw = spec.transform(raw)
            except Exception as exc:
                problems.append((spec.name, f"{type(exc).__name__}: {exc}"))
                continue
        prepared[spec.name] = raw
    if problems:
        raise InputError(definition.name, problems)
    return prepared
