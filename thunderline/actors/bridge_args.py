"""What the Cerebros bridge is started with: :class:`BridgeArgs`, its ``config`` a :class:`BridgeSettings`."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from sagaline.actors.actor_args import ActorArgs
from sagaline.domains.faults import FaultRule

__all__ = ["BridgeArgs", "BridgeSettings", "TRAINER"]

TRAINER = "thunderline.actors.trainer.TrainerActor"


@dataclass(frozen=True)
class BridgeSettings:
    """What ``[domains.bridge]`` may hold (see :mod:`thunderline.actors.bridge`)."""

    artifacts_dir: str | None = None
    """Where trainers write model files; None: ``artifacts`` in the daemon's ``data_dir``."""
    max_parallel: int = 2
    """Trainer processes at once (trials are CPU-bound)."""
    trainer: str = TRAINER
    """The trainer actor class path."""
    preload_training: bool = False
    """Import scikit-learn in the bridge at start so forked trainers inherit it."""


class BridgeArgs(ActorArgs):
    """The bridge's args: a domain actor's (it has no store of its own), its config a :class:`BridgeSettings`."""

    db_path: str | None = None
    """The domain's store location given to every domain; the bridge has no store, so it is not used."""
    data_dir: str | None = None
    """The daemon's data directory: places the default ``artifacts_dir`` (None: ``./artifacts``)."""
    synchronous: str | None = None
    """Given to every domain; the bridge has no store, so it is not used."""
    config: BridgeSettings = Field(default_factory=BridgeSettings)
    """``[domains.bridge]``."""
    faults: tuple[FaultRule, ...] = ()
    """Injected faults (tests, rehearsals)."""
