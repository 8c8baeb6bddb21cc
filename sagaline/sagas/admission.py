"""Checking a StartSaga before anything starts (pure).

The saga supervisor refuses a bad start at once, with a stable code and a
message naming what is wrong, so nothing is created for it: an unknown
saga, a malformed correlation or causation id (an empty correlation id
means "make one"), inputs the saga's definition rejects.

Ids are UUID v7 in any letter case (as the original accepted them) and are
admitted in their lowercase form, the only one stored and compared: a start
under ``...-7ABC-...`` and one under ``...-7abc-...`` name the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sagaline.messages.ids import canonical_uuid7, uuid7
from sagaline.messages.saga import SagaRefused, StartSaga
from sagaline.saga import InputError, SagaDefinition
from sagaline.saga.inputs import prepare_inputs

__all__ = ["Admitted", "admit"]


@dataclass(frozen=True, slots=True)
class Admitted:
    """A start that may proceed: its ids (lowercase; the correlation id possibly generated) and definition."""

    correlation_id: str
    definition: SagaDefinition
    causation_id: str | None = None


def admit(
    message: StartSaga,
    sagas: Mapping[str, Callable[[], SagaDefinition]],
    definitions: dict[str, SagaDefinition] | None = None,
) -> Admitted | SagaRefused:
    """Decide whether ``message`` may start a run.

    Args:
        message: the request.
        sagas: saga name -> definition factory (the catalog).
        definitions: a cache of built definitions, filled as sagas are used.

    Returns:
        :class:`Admitted`, or :class:`SagaRefused` with code
        ``unknown_saga``, ``invalid_correlation_id``, ``invalid_causation_id``
        or ``invalid_input``.
    """
    factory = sagas.get(message.saga)
    if factory is None:
        known = ", ".join(sorted(sagas)) or "none"
        return SagaRefused(code="unknown_saga", message=f"no saga named {message.saga!r} (known: {known})")
    correlation_id = canonical_uuid7(message.correlation_id) if message.correlation_id else uuid7()
    if correlation_id is None:
        return SagaRefused(
            code="invalid_correlation_id", message=f"correlation id {message.correlation_id!r:.80} is not a UUID v7"
        )
    causation_id = canonical_uuid7(message.causation_id)
    if message.causation_id is not None and causation_id is None:
        return SagaRefused(
            code="invalid_causation_id", message=f"causation id {message.causation_id!r:.80} is not a UUID v7"
        )
    cache = definitions if definitions is not None else {}
    definition = cache.get(message.saga) or cache.setdefault(message.saga, factory())
    try:
        prepare_inputs(definition, _plain(message.inputs))
    except InputError as exc:
        return SagaRefused(code="invalid_input", message=str(exc))
    return Admitted(correlation_id, definition, causation_id)


def _plain(inputs: Any) -> dict[str, Any]:
    return dict(inputs) if isinstance(inputs, Mapping) else {}
