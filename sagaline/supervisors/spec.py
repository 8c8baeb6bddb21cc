"""PURE. Child specs and supervisor flags: validated, frozen data.

A :class:`ChildSpec` says how a supervisor starts, restarts and stops one
child; :class:`SupervisorFlags` say how the supervisor reacts to exits.
Defaults live here and only here (OTP/Elixir values; the intensity's two are
:data:`~sagaline.supervisors.strategy.DEFAULT_MAX_RESTARTS` and ``DEFAULT_MAX_SECONDS``,
which the pure intensity window shares):

=================  ==============================================
restart            ``permanent``
shutdown           5000 ms for a worker, ``infinity`` for a supervisor
type               ``worker``
strategy           ``one_for_one``
max_restarts       3 (the 4th restart within ``max_seconds`` trips)
max_seconds        5
=================  ==============================================

``start`` is the dotted path of an importable actor class
(``"package.module.Class"``; :func:`class_path` makes it from the class),
never a class object, so a spec travels between processes as plain data; ``args`` is plain data handed to the
child in its init message.

Build specs with :func:`child_spec`, :func:`supervisor_spec` and
:func:`dynamic_supervisor_spec`: they raise :class:`InvalidSpec` naming the
bad field. Errors::

    SagalineError
    +-- SupervisionError
        +-- InvalidSpec      a spec or flags field is invalid (names the field)
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sagaline.errors import SagalineError
from sagaline.supervisors.strategy import DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS

__all__ = [
    "ChildSpec",
    "SupervisorFlags",
    "DynamicFlags",
    "InvalidSpec",
    "SupervisionError",
    "child_spec",
    "supervisor_flags",
    "dynamic_flags",
    "supervisor_spec",
    "dynamic_supervisor_spec",
    "check_unique_ids",
    "shutdown_ms",
    "class_path",
    "SUPERVISOR_CLASS",
    "DYNAMIC_SUPERVISOR_CLASS",
]

RestartType = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
Shutdown = Literal["brutal_kill", "infinity"] | int

#: Dotted paths of the supervisor actors (strings: this module imports no actor code).
SUPERVISOR_CLASS = "sagaline.supervisors.supervisor.Supervisor"
DYNAMIC_SUPERVISOR_CLASS = "sagaline.supervisors.dynamic.DynamicSupervisor"
#: OTP's default shutdown for a worker, in milliseconds.
WORKER_SHUTDOWN_MS = 5000
_CLASS_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class SupervisionError(SagalineError):
    """Base of the supervision errors raised outside actors."""


class InvalidSpec(SupervisionError, ValueError):
    """A child spec or supervisor flags field is invalid.

    Raised by the builders of this module and by supervisors checking
    their child list. ``field`` names the offending field; fix it and build
    the spec again.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ChildSpec(_Data):
    """How a supervisor starts, restarts and stops one child."""

    id: str = Field(min_length=1, max_length=200)
    """Unique id of the child within its supervisor."""
    start: str
    """Dotted path of the child's actor class (``package.module.Class``)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Plain data handed to the child in its init message."""
    restart: RestartType = "permanent"
    """permanent: always restarted; transient: only after an abnormal exit; temporary: never."""
    shutdown: Shutdown | None = None
    """brutal_kill, a timeout in ms, or infinity; None means the default for ``type``."""
    type: Literal["worker", "supervisor"] = "worker"
    """Whether the child is a worker or a supervisor (changes the shutdown default)."""
    name: str | None = Field(default=None, min_length=1, max_length=500)
    """Registry key the child is registered under while it runs, if any."""

    @field_validator("start")
    @classmethod
    def _dotted_path(cls, value: str) -> str:
        if not _CLASS_PATH.match(value):
            raise ValueError("must be a dotted class path such as 'package.module.Class'")
        return value

    @field_validator("shutdown")
    @classmethod
    def _non_negative(cls, value: Shutdown | None) -> Shutdown | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("a shutdown timeout must be >= 0 ms")
        return value


class SupervisorFlags(_Data):
    """How a (static) supervisor reacts to its children's exits."""

    strategy: Strategy = "one_for_one"
    """Which siblings are restarted with a dead child."""
    max_restarts: int = Field(default=DEFAULT_MAX_RESTARTS, ge=0)
    """More restarts than this within ``max_seconds`` make the supervisor give up."""
    max_seconds: float = Field(default=DEFAULT_MAX_SECONDS, gt=0)
    """Length of the restart-intensity window, in seconds."""
    start_timeout_ms: int = Field(default=10_000, gt=0)
    """How long one child may take to confirm its start (Thespian can lose a failed create)."""


class DynamicFlags(_Data):
    """How a dynamic supervisor (one_for_one only) limits and restarts children."""

    max_children: int | None = Field(default=None, ge=1)
    """Most children at once; start_child fails with max_children beyond it. None: unlimited."""
    max_restarts: int = Field(default=DEFAULT_MAX_RESTARTS, ge=0)
    """More restarts than this within ``max_seconds`` make the supervisor give up."""
    max_seconds: float = Field(default=DEFAULT_MAX_SECONDS, gt=0)
    """Length of the restart-intensity window, in seconds."""
    start_timeout_ms: int = Field(default=10_000, gt=0)
    """How long one child may take to confirm its start."""


def class_path(actor_class: type) -> str:
    """The dotted path a spec's ``start`` takes for ``actor_class``: name the class, not a string,
    so a renamed or moved actor breaks at import rather than at the first start."""
    return f"{actor_class.__module__}.{actor_class.__qualname__}"


def shutdown_ms(spec: ChildSpec) -> int | Literal["brutal_kill"] | None:
    """Return the effective shutdown: ``"brutal_kill"``, a timeout in ms, or None (infinity)."""
    shutdown = spec.shutdown
    if shutdown is None:
        shutdown = WORKER_SHUTDOWN_MS if spec.type == "worker" else "infinity"
    return None if shutdown == "infinity" else shutdown


_D = TypeVar("_D", bound=_Data)


def _build(model: type[_D], fields: dict[str, Any]) -> _D:
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or model.__name__
        raise InvalidSpec(where, first["msg"]) from exc


def child_spec(id: str, start: str, args: dict[str, Any] | None = None, **options: Any) -> ChildSpec:
    """Build a worker (or any) child spec.

    Args:
        id: Unique id within the supervisor.
        start: Dotted path of the actor class.
        args: Plain data for the child's init message.
        **options: ``restart``, ``shutdown``, ``type``, ``name``.

    Raises:
        InvalidSpec: A field is invalid; ``field`` names it.
    """
    return _build(ChildSpec, dict(id=id, start=start, args=dict(args or {}), **options))


def supervisor_flags(**fields: Any) -> SupervisorFlags:
    """Build supervisor flags; raises :class:`InvalidSpec` naming a bad field."""
    return _build(SupervisorFlags, fields)


def dynamic_flags(**fields: Any) -> DynamicFlags:
    """Build dynamic supervisor flags; raises :class:`InvalidSpec` naming a bad field (a ``strategy``
    among them: a dynamic supervisor is always one_for_one)."""
    return _build(DynamicFlags, fields)


def supervisor_spec(
    id: str, children: list[ChildSpec], flags: SupervisorFlags | None = None, **options: Any
) -> ChildSpec:
    """Build the spec of a child that is itself a (static) supervisor.

    Raises:
        InvalidSpec: A field is invalid, or two children share an id.
    """
    check_unique_ids(children)
    args = {"flags": (flags or SupervisorFlags()).model_dump(), "children": [c.model_dump() for c in children]}
    return child_spec(id, SUPERVISOR_CLASS, args, type="supervisor", **options)


def dynamic_supervisor_spec(
    id: str, flags: DynamicFlags | None = None, start: str = DYNAMIC_SUPERVISOR_CLASS, **options: Any
) -> ChildSpec:
    """Build the spec of a dynamic supervisor child (``start`` may name a subclass)."""
    args = {"flags": (flags or DynamicFlags()).model_dump()}
    return child_spec(id, start, args, type="supervisor", **options)


def check_unique_ids(children: list[ChildSpec]) -> None:
    """Raise :class:`InvalidSpec` (field ``children[i].id``) on a duplicate id."""
    seen: set[str] = set()
    for index, child in enumerate(children):
        if child.id in seen:
            raise InvalidSpec(f"children[{index}].id", f"duplicate child id {child.id!r}")
        seen.add(child.id)
