"""Actors: the base actor with OTP crash semantics, timers, and starting an
actor from outside. Supervisors live in :mod:`sagaline.supervisors`, the
registry in :mod:`sagaline.registry`."""

from sagaline.actors.base import DEFER_START, BaseActor
from sagaline.actors.spawn import start_actor
from sagaline.actors.timers import Timers

__all__ = ["BaseActor", "DEFER_START", "Timers", "start_actor"]
