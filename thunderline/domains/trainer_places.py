"""PURE. Where the bridge's NAS trainers run in a convention: on the members declaring ``trainer``, least loaded first.

Thespian places an actor by capabilities: when the creating actor
system's capabilities fail the class's ``actorSystemCapabilityCheck``,
its admin forwards the ``createActor`` to a convention member whose
capabilities pass. It does not spread them: among several capable
members it means to pick the one with the fewest actors it created there
(``thespian/system/admin/convention.py``, ``forward_pending_to_remote_system``),
but that count (``ConventionMemberData.hasRemoteActors``) is never
appended to (``createdActor`` has no caller in Thespian 4.0), so every
forwarded trainer lands on the first capable member. So the bridge chooses
the member itself (:func:`choose_member`, from the members' convention
updates) and names it in ``targetActorRequirements``
(:func:`trainer_requirements`), which :func:`satisfies` checks on every
actor system Thespian tries.

The bridge's side (:mod:`thunderline.actors.bridge`): it learns the
trainer members from Thespian's ``ActorSystemConventionUpdate`` (without
any, trainers run in its own actor system). It stops a remote trainer by
an ``ActorExitRequest`` (honoured after the current epoch: its pid is
another machine's). A remote trainer is its member admin's child in
Thespian, and that admin relays its ``ChildActorExited`` to the bridge
(it "nannies" children made for a remote requester), so a trainer killed
there fails its trial as a local one. A member vanishing whole relays
nothing, and Thespian notices a silent member only after minutes: a
trainer repeats its progress every second, and a remote trainer silent
for the bridge's ``SILENT_S`` fails its trial; a member leaving the
convention fails the trials running there.

A member is named by two capabilities every multiprocTCPBase system has:
its ``Admin Port`` and its ``Thespian Version`` (the millisecond its
actor system started).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["IDENTITY", "declares_trainer", "trainer_requirements", "satisfies", "choose_member"]

#: The capabilities naming one actor system in a convention.
IDENTITY = ("Admin Port", "Thespian Version")


def declares_trainer(capabilities: Mapping[str, Any]) -> bool:
    """Whether an actor system may run trainers: ``sagaline.trainer``, by default true except on a member
    (an actor system that is no sagaline daemon, as in tests, may)."""
    trainer = capabilities.get("sagaline.trainer")
    if trainer is None:
        return capabilities.get("sagaline.role") != "member"
    return bool(trainer)


def trainer_requirements(capabilities: Mapping[str, Any]) -> dict[str, Any] | None:
    """The requirements naming the actor system with ``capabilities`` as a place for trainers; None when it
    declares no ``trainer`` or cannot be named (no :data:`IDENTITY` capabilities)."""
    if not declares_trainer(capabilities) or any(capabilities.get(key) is None for key in IDENTITY):
        return None
    return {key: capabilities[key] for key in IDENTITY}


def satisfies(capabilities: Mapping[str, Any], requirements: Mapping[str, Any] | None) -> bool:
    """Whether a trainer may run on an actor system with ``capabilities``, given the creator's requirements
    (None or empty: any system declaring ``trainer``)."""
    return declares_trainer(capabilities) and all(
        capabilities.get(key) == value for key, value in (requirements or {}).items()
    )


def choose_member(running: Mapping[str, int]) -> str | None:
    """The member for the next trainer: the one running the fewest of this bridge's trainers, the first
    (in ``running``'s order) on a tie; None without members (the trainer is created locally).

    Args:
        running: each trainer member's name -> how many trainers the bridge runs there now.
    """
    return min(running, key=running.__getitem__) if running else None
