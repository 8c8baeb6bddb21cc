"""An actor's arguments as a typed model: :class:`ActorArgs`, and :class:`BadArgs` when they are wrong.

An actor gets its arguments as plain data (the ``args`` of its child spec,
delivered in its :class:`~sagaline.messages.supervision.InitActor`). Each
actor declares them once, fields typed and defaults given, as a frozen
subclass of :class:`ActorArgs`, and reads them in ``on_start`` through
:meth:`ActorArgs.parse`::

    class EndpointArgs(ActorArgs):
        workers: int = Field(default=DEFAULT_WORKERS, ge=0)

    def on_start(self, args):
        self.cfg = EndpointArgs.parse(args)

A wrong type, a value out of range, a missing required field or an unknown
key raises :class:`BadArgs` naming the field; raised from ``on_start``, it
fails the actor's start (:class:`~sagaline.messages.supervision.InitFailed`,
reason ``error``, ``error_type`` ``BadArgs``). A caller builds the args from the
same model (``EndpointArgs(workers=4).model_dump()``), so a typo in a key
fails where it is made.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["ActorArgs", "BadArgs"]


class BadArgs(ValueError):
    """Raised by :meth:`ActorArgs.parse`: an actor's args do not fit its model.

    ``field`` names the (first) offending field, dotted for a nested one; the
    message has every problem. Fix the child spec's ``args`` that started it.
    """

    def __init__(self, model: str, field: str, problems: list[str]) -> None:
        super().__init__(f"bad {model}: " + "; ".join(problems))
        self.field = field


class ActorArgs(BaseModel):
    """Base of the actors' argument models: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    registry_value: Any = None
    """The value the registry keeps with the actor's name (its init's ``name``); every actor may be
    given one, and the base actor reads it when it registers, before ``on_start``."""

    @classmethod
    def parse(cls, args: dict[str, Any] | None) -> Self:
        """The validated args from ``args`` (None: every default).

        Raises:
            BadArgs: a field is missing, unknown, of the wrong type or out of range.
        """
        try:
            return cls.model_validate(dict(args or {}))
        except ValidationError as exc:
            errors = exc.errors()
            fields = [".".join(str(p) for p in error["loc"]) or cls.__name__ for error in errors]
            problems = [f"{field}: {error['msg']}" for field, error in zip(fields, errors, strict=True)]
            raise BadArgs(cls.__name__, fields[0], problems) from exc
