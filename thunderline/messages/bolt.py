"""Commands to the bolt domain actor for UPM (snapshots, drift, adapters) and its replies.

The UPMActivation saga's half of bolt; the NAS half (datasets, model runs,
artifacts, frontiers, versions) is :mod:`thunderline.messages.bolt_models`.
Conventions of :mod:`thunderline.messages.gate`: every effect is applied at
most once per idempotency key (a duplicate gets the first answer), undo
commands name their effect by ``effect_key``, failures are
:class:`~sagaline.messages.common.CommandFailed`. Reads (``Load*``,
``Get*``, ``List*``, ``Show*``) change nothing and are answered directly.
Each command's outcomes are listed in :mod:`thunderline.domains.bolt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from sagaline.messages.base import Command, Message, Reply

__all__ = [
    "SnapshotMode",
    "UpmSnapshot",
    "DriftWindow",
    "UpmAdapter",
    "RegisterSnapshot",
    "SnapshotRegistered",
    "RecordDrift",
    "DriftRecorded",
    "RegisterAdapter",
    "AdapterRegistered",
    "LoadSnapshot",
    "ShowSnapshot",
    "SnapshotLoaded",
    "GetLatestDrift",
    "LatestDrift",
    "ArchiveActiveSnapshot",
    "ActiveSnapshotArchived",
    "RestoreArchivedSnapshot",
    "ArchivedSnapshotRestored",
    "ActivateSnapshot",
    "SnapshotActivated",
    "RevertActivation",
    "ActivationReverted",
    "SyncAdapters",
    "AdaptersSynced",
    "RestoreAdapters",
    "AdaptersRestored",
    "ListSnapshots",
    "SnapshotsPage",
    "ListAdapters",
    "AdaptersPage",
]

SnapshotMode = Literal["shadow", "active", "archived"]


# ----- records ------------------------------------------------------------------------------


class UpmSnapshot(Message):
    """A trained UPM model snapshot."""

    snapshot_id: str
    """Its id (UUID v7)."""
    version: int
    """Its version number."""
    checksum: str
    """Checksum of its weights."""
    trained_by: str
    """The trainer that produced it (policies allow-list these)."""
    mode: SnapshotMode
    """shadow (trained, not serving), active (serving; at most one) or archived."""
    created_at: datetime
    """When it was registered (UTC)."""
    activated_at: datetime | None = None
    """When it last became active; None while never active or after a reverted activation."""
    archived_at: datetime | None = None
    """When it was archived, if it is."""


class DriftWindow(Message):
    """Drift measured for a snapshot over a window of traffic."""

    window_id: str
    """Its id (UUID v7)."""
    snapshot_id: str
    """The snapshot measured."""
    score: float
    """Drift score (the original's p95); lower is better."""
    sample_count: int
    """Samples in the window."""
    window_start: datetime
    """Window start (UTC)."""
    window_end: datetime
    """Window end (UTC); the latest window is the one ending last."""


class UpmAdapter(Message):
    """A consumer of UPM snapshots, pointing at one of them."""

    adapter_id: str
    """Its id (UUID v7)."""
    name: str
    """Its unique name."""
    snapshot_id: str | None = None
    """The snapshot it serves from (None: none yet)."""
    previous_snapshot_id: str | None = None
    """The one it served before its last sync (for rollback)."""
    pinned: bool = False
    """A pinned adapter refuses to be moved: a sync fails, naming it."""
    synced_at: datetime | None = None
    """When it was last pointed at a snapshot."""


# ----- commands and replies -----------------------------------------------------------------


class RegisterSnapshot(Command):
    """Register a trained snapshot in shadow mode (``snapshot_id_taken``)."""

    snapshot_id: str | None = Field(default=None, min_length=1, max_length=64)
    """The snapshot's id; None: a new UUID v7."""
    version: int
    """Its version number."""
    checksum: str
    """Checksum of its weights."""
    trained_by: str
    """The trainer."""


class SnapshotRegistered(Reply):
    """Answer to :class:`RegisterSnapshot`."""

    snapshot: UpmSnapshot
    """The new snapshot."""


class RecordDrift(Command):
    """Record a drift window for a snapshot (``unknown_snapshot``, ``invalid_drift``)."""

    snapshot_id: str
    """The snapshot measured."""
    score: float
    """Drift score (>= 0)."""
    sample_count: int
    """Samples (>= 0)."""
    window_start: datetime
    """Window start (aware)."""
    window_end: datetime
    """Window end (aware, after the start)."""


class DriftRecorded(Reply):
    """Answer to :class:`RecordDrift`."""

    window: DriftWindow
    """The recorded window."""


class RegisterAdapter(Command):
    """Register an adapter (``adapter_name_taken``, ``unknown_snapshot``)."""

    name: str
    """Its unique name."""
    snapshot_id: str | None = None
    """The snapshot it starts on."""
    pinned: bool = False
    """Pinned adapters refuse syncs."""


class AdapterRegistered(Reply):
    """Answer to :class:`RegisterAdapter`."""

    adapter: UpmAdapter
    """The new adapter."""


class LoadSnapshot(Command):
    """The snapshot to activate: it must exist and be in shadow mode
    (``snapshot_not_found``, ``invalid_status``)."""

    snapshot_id: str
    """The snapshot."""


class ShowSnapshot(Command):
    """Any snapshot, whatever its mode (``snapshot_not_found``)."""

    snapshot_id: str
    """The snapshot."""


class SnapshotLoaded(Reply):
    """Answer to :class:`LoadSnapshot` and :class:`ShowSnapshot`."""

    snapshot: UpmSnapshot
    """The snapshot."""


class GetLatestDrift(Command):
    """The drift window of a snapshot that ended last."""

    snapshot_id: str
    """The snapshot."""


class LatestDrift(Reply):
    """Answer to :class:`GetLatestDrift`."""

    window: DriftWindow | None
    """The latest window; None when none was recorded."""


class ArchiveActiveSnapshot(Command):
    """Archive the active snapshot, if there is one other than ``keep_snapshot_id``."""

    keep_snapshot_id: str
    """The snapshot about to be activated (left alone if it were active)."""


class ActiveSnapshotArchived(Reply):
    """Answer to :class:`ArchiveActiveSnapshot`."""

    snapshot_id: str | None
    """The snapshot archived; None when none was active."""


class RestoreArchivedSnapshot(Command):
    """Undo an :class:`ArchiveActiveSnapshot`: make its snapshot active again, exactly as before."""

    effect_key: str
    """Idempotency key of the archive command."""


class ArchivedSnapshotRestored(Reply):
    """Answer to :class:`RestoreArchivedSnapshot`."""

    snapshot_id: str | None
    """The snapshot restored; None when that key archived nothing."""


class ActivateSnapshot(Command):
    """Make a shadow snapshot the active one (``invalid_status``, ``another_snapshot_active``)."""

    snapshot_id: str
    """The snapshot."""


class SnapshotActivated(Reply):
    """Answer to :class:`ActivateSnapshot`."""

    snapshot: UpmSnapshot
    """The snapshot, now active."""


class RevertActivation(Command):
    """Undo an :class:`ActivateSnapshot`: back to shadow, ``activated_at`` as before."""

    effect_key: str
    """Idempotency key of the activate command."""


class ActivationReverted(Reply):
    """Answer to :class:`RevertActivation`."""

    snapshot_id: str | None
    """The snapshot reverted; None when that key activated nothing."""


class SyncAdapters(Command):
    """Point every adapter at ``snapshot_id``, remembering each one's previous pointer.

    All or nothing: a pinned adapter fails the sync (``adapter_pinned``) and
    the adapters already moved by it are put back.
    """

    snapshot_id: str
    """The snapshot to serve from."""


class AdaptersSynced(Reply):
    """Answer to :class:`SyncAdapters`."""

    snapshot_id: str
    """The snapshot they now point at."""
    adapters: list[UpmAdapter]
    """Every adapter after the sync."""
    moved: int
    """How many changed pointer."""


class RestoreAdapters(Command):
    """Undo a :class:`SyncAdapters`: every adapter it moved gets back exactly its previous state."""

    effect_key: str
    """Idempotency key of the sync command."""


class AdaptersRestored(Reply):
    """Answer to :class:`RestoreAdapters`."""

    adapter_ids: list[str]
    """Adapters restored (empty when that key moved none)."""


class ListSnapshots(Command):
    """Every snapshot, oldest first."""


class SnapshotsPage(Reply):
    """Answer to :class:`ListSnapshots`."""

    snapshots: list[UpmSnapshot]
    """The snapshots."""


class ListAdapters(Command):
    """Every adapter, by name."""


class AdaptersPage(Reply):
    """Answer to :class:`ListAdapters`."""

    adapters: list[UpmAdapter]
    """The adapters."""
