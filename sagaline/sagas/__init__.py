"""PURE. The sagas sagaline ships, by name.

``catalog()`` maps each saga's name to a zero-argument factory of its
definition; the saga supervisor, the CLI (``sagaline graph``) and recovery
look sagas up here. A journal row naming a saga missing from the catalog is
reported as needing an operator, never dropped.
"""

from __future__ import annotations

from typing import Callable

from sagaline.saga import SagaDefinition
from sagaline.sagas import cerebros_nas, upm_activation, user_provisioning

__all__ = ["catalog", "definition"]

_built: dict[str, SagaDefinition] = {}


def catalog() -> dict[str, Callable[[], SagaDefinition]]:
    """Saga name -> factory of its definition."""
    return {user_provisioning.NAME: user_provisioning.definition,
            upm_activation.NAME: upm_activation.definition,
            cerebros_nas.NAME: cerebros_nas.definition}


def definition(name: str) -> SagaDefinition:
    """The definition of saga ``name``, built once per process (definitions are immutable).

    Raises:
        KeyError: no saga has that name.
    """
    if name not in _built:
        _built[name] = catalog()[name]()
    return _built[name]
