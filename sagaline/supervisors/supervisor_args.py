"""What a supervisor is started with: :class:`SupervisorArgs` and :class:`DynamicSupervisorArgs`.

The flags' defaults are the flags models' own (:class:`~sagaline.supervisors.spec.SupervisorFlags`,
:class:`~sagaline.supervisors.spec.DynamicFlags`, their intensity from
:mod:`sagaline.supervisors.strategy`); a spec's fields are :class:`~sagaline.supervisors.spec.ChildSpec`'s.
"""

from __future__ import annotations

from pydantic import Field

from sagaline.actors.actor_args import ActorArgs
from sagaline.supervisors.spec import ChildSpec, DynamicFlags, SupervisorFlags

__all__ = ["SupervisorArgs", "DynamicSupervisorArgs"]


class SupervisorArgs(ActorArgs):
    """A (static) supervisor's args."""

    flags: SupervisorFlags = Field(default_factory=SupervisorFlags)
    """Strategy, restart intensity, start timeout."""
    children: tuple[ChildSpec, ...] = ()
    """The children, in start order."""


class DynamicSupervisorArgs(ActorArgs):
    """A dynamic supervisor's args (its children are started one by one, later)."""

    flags: DynamicFlags = Field(default_factory=DynamicFlags)
    """Most children, restart intensity, start timeout."""
