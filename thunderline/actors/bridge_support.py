"""The bridge's state records and process chores: its app's taxonomy, scikit-learn's preload, a dead trial's
partial files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thunderline.messages import bridge as b

__all__ = ["Trial", "TrainingRun", "load_own_app", "preload", "remove_partial_files"]


@dataclass
class Trial:
    """One NAS trial as the bridge tracks it."""

    trial_id: str
    run_id: str
    arch: b.Architecture
    state: str = "queued"
    address: Any = None
    pid: int | None = None
    member: str | None = None  # the convention member its trainer runs on; None: this actor system
    spawned: bool = False
    epoch: int = 0
    result: b.TrialResult | None = None
    reason: str = ""
    started_ns: int = 0
    heard_ns: int = 0  # last word from its trainer (monotonic)


@dataclass
class TrainingRun:
    """One model run's trials, deadline and waiters."""

    run_id: str
    dataset: b.TrainingDataset
    seed: int
    deadline_s: float
    trial_ids: list[str]
    correlation_id: str | None = None  # the saga run's: its trial announcements carry it
    waiters: list[tuple[Any, Any]] = field(default_factory=list)
    ended: str | None = None  # None, "deadline" or "cancelled" once cut short


def load_own_app() -> None:
    from sagaline.apps import load_apps
    from thunderline.app import SPEC  # here, not at the top: the app module imports this one

    load_apps((SPEC,), entry_points=False)


def preload() -> None:
    """Import what a trial needs (scikit-learn, numpy), so trainers forked from here inherit it."""
    import sklearn.model_selection
    import sklearn.neural_network
    import sklearn.preprocessing  # noqa: F401
    from sklearn.datasets import load_digits

    load_digits()  # also reads the bundled file once, into the page cache


def remove_partial_files(final: Path) -> None:
    for leftover in final.parent.glob(final.name + ".*.tmp"):
        leftover.unlink(missing_ok=True)
