"""The bolt domain: UPM snapshots and adapters, NAS datasets, runs, artifacts and versions.

:class:`BoltService` answers the commands of :mod:`thunderline.messages.bolt`
(UPM) and :mod:`thunderline.messages.bolt_models` (NAS) with
``await service.handle(command)``, always with a Reply. Effects are
applied at most once per idempotency key; reads answer directly. Outcomes
(failures are ``CommandFailed`` with these codes):

UPM (the UPMActivation saga's steps, in order)
    ``LoadSnapshot``: ``snapshot_not_found``; ``invalid_status`` unless shadow.
    ``GetLatestDrift``: the window that ended last, or None.
    ``ArchiveActiveSnapshot``: archives the active snapshot (None when none);
    undo ``RestoreArchivedSnapshot`` makes it active again with its
    ``activated_at`` and ``archived_at`` exactly as before
    (``another_snapshot_active`` if something else is active meanwhile).
    ``ActivateSnapshot``: ``snapshot_not_found``, ``invalid_status`` unless
    shadow, ``another_snapshot_active``; undo ``RevertActivation`` puts it
    back to shadow with ``activated_at`` as before (None for a first activation).
    ``SyncAdapters``: every adapter not already there is pointed at the
    snapshot, its previous pointer remembered (``snapshot_not_found``); all
    or nothing: a pinned adapter fails it (``adapter_pinned``) and nothing
    moves; undo ``RestoreAdapters`` gives every moved adapter back its
    snapshot, previous snapshot and sync time. Setup: ``RegisterSnapshot``
    (``snapshot_id_taken``), ``RecordDrift`` (``unknown_snapshot``, ``invalid_drift``),
    ``RegisterAdapter`` (``adapter_name_taken``, ``unknown_snapshot``).

NAS (the CerebrosNAS saga's steps)
    Answered by :class:`~thunderline.domains.bolt_models.ModelRunHandlers`;
    each command's outcomes are listed in :mod:`thunderline.domains.bolt_models`.

Every command: ``idempotency_key_missing`` / ``idempotency_key_conflict``,
``storage_unavailable`` (retryable) / ``storage_failed``, ``unsupported_command``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagaline.domains.service import Handler, answer
from sagaline.messages.base import Command, Reply
from sagaline.messages.ids import uuid7
from sagaline.storage.database import Connection
from sagaline.storage.idempotency import failure, forbid
from sagaline.storage.sqlite import Clock, read_clock, utc_now
from thunderline.domains.bolt_models import ModelRunHandlers
from thunderline.messages import bolt as m
from thunderline.storage.bolt_store import BoltStore

__all__ = ["BoltConfig", "BoltService"]


@dataclass(frozen=True)
class BoltConfig:
    """Bolt's settings."""

    seed_builtin_datasets: bool = True
    """Register :data:`~thunderline.domains.bolt_models.BUILTIN_DATASETS` at start (idempotent)."""


class BoltService(ModelRunHandlers):
    """UPM and NAS bookkeeping over a :class:`BoltStore` (the NAS handlers come from
    :class:`~thunderline.domains.bolt_models.ModelRunHandlers`)."""

    def __init__(self, store: BoltStore, clock: Clock = utc_now, config: BoltConfig = BoltConfig()) -> None:
        """Args:
        store: Bolt's open store.
        clock: Returns the current aware UTC time.
        config: :class:`BoltConfig`.
        """
        self.store = store
        self.config = config
        self._clock = clock
        self._handlers: dict[type, Handler] = {
            m.RegisterSnapshot: self._register_snapshot,
            m.RecordDrift: self._record_drift,
            m.RegisterAdapter: self._register_adapter,
            m.LoadSnapshot: self._load_snapshot,
            m.ShowSnapshot: self._show_snapshot,
            m.GetLatestDrift: self._latest_drift,
            m.ArchiveActiveSnapshot: self._archive_active,
            m.RestoreArchivedSnapshot: self._restore_archived,
            m.ActivateSnapshot: self._activate,
            m.RevertActivation: self._revert_activation,
            m.SyncAdapters: self._sync_adapters,
            m.RestoreAdapters: self._restore_adapters,
            m.ListSnapshots: self._list_snapshots,
            m.ListAdapters: self._list_adapters,
            **self._model_run_handlers(),
        }

    async def start(self) -> None:
        """Register the built-in datasets once (when configured to)."""
        if self.config.seed_builtin_datasets:
            await self._seed_builtin_datasets()

    async def handle(self, command: object) -> Reply:
        """Apply one bolt command; the outcomes are in the module docstring.

        Raises:
            TypeError: ``command`` is not a Command at all.
        """
        return await answer(command, self._handlers)

    def _now(self) -> datetime:
        return read_clock(self._clock)

    async def _once(self, cmd: Command, effect: Any) -> Reply:
        return await self.store.apply_once(cmd, effect, self._now())

    async def _forbid_if_none(self, conn: Connection, undo: Any, found: Any, command_tag: str) -> None:
        # Nothing to undo: the effect may still be on its way; make sure it never lands.
        if not found:
            await forbid(conn, undo, undo.effect_key, command_tag, self._now())

    # ----- UPM setup ----------------------------------------------------------------------------

    async def _register_snapshot(self, cmd: m.RegisterSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if cmd.snapshot_id and await self.store.snapshot(conn, cmd.snapshot_id) is not None:
                return failure(cmd, "snapshot_id_taken", f"a snapshot {cmd.snapshot_id} exists already")
            snap = m.UpmSnapshot(
                snapshot_id=cmd.snapshot_id or uuid7(),
                version=cmd.version,
                checksum=cmd.checksum,
                trained_by=cmd.trained_by,
                mode="shadow",
                created_at=self._now(),
            )
            await self.store.insert_snapshot(conn, snap, _key(cmd))
            return m.SnapshotRegistered(headers=cmd.headers, snapshot=snap)

        return await self._once(cmd, effect)

    async def _record_drift(self, cmd: m.RecordDrift) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "unknown_snapshot", f"no snapshot {cmd.snapshot_id}")
            problem = _drift_problem(cmd)
            if problem:
                return failure(cmd, "invalid_drift", problem)
            window = m.DriftWindow(
                window_id=uuid7(),
                snapshot_id=cmd.snapshot_id,
                score=cmd.score,
                sample_count=cmd.sample_count,
                window_start=cmd.window_start,
                window_end=cmd.window_end,
            )
            await self.store.insert_drift(conn, window, _key(cmd))
            return m.DriftRecorded(headers=cmd.headers, window=window)

        return await self._once(cmd, effect)

    async def _register_adapter(self, cmd: m.RegisterAdapter) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.adapter_named(conn, cmd.name):
                return failure(cmd, "adapter_name_taken", f"an adapter is already called {cmd.name!r}")
            if cmd.snapshot_id and await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "unknown_snapshot", f"no snapshot {cmd.snapshot_id}")
            adapter = m.UpmAdapter(
                adapter_id=uuid7(),
                name=cmd.name,
                snapshot_id=cmd.snapshot_id,
                pinned=cmd.pinned,
                synced_at=self._now() if cmd.snapshot_id else None,
            )
            await self.store.insert_adapter(conn, adapter, _key(cmd))
            return m.AdapterRegistered(headers=cmd.headers, adapter=adapter)

        return await self._once(cmd, effect)

    # ----- UPM activation ---------------------------------------------------------------------

    async def _load_snapshot(self, cmd: m.LoadSnapshot) -> Reply:
        snap = await self.store.snapshot(None, cmd.snapshot_id)
        if snap is None:
            return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
        if snap.mode != "shadow":
            return failure(cmd, "invalid_status", f"snapshot {cmd.snapshot_id} is {snap.mode}, not shadow")
        return m.SnapshotLoaded(headers=cmd.headers, snapshot=snap)

    async def _show_snapshot(self, cmd: m.ShowSnapshot) -> Reply:
        snap = await self.store.snapshot(None, cmd.snapshot_id)
        if snap is None:
            return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
        return m.SnapshotLoaded(headers=cmd.headers, snapshot=snap)

    async def _latest_drift(self, cmd: m.GetLatestDrift) -> Reply:
        return m.LatestDrift(headers=cmd.headers, window=await self.store.latest_drift(cmd.snapshot_id))

    async def _archive_active(self, cmd: m.ArchiveActiveSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            active = await self.store.active_snapshot(conn)
            if active is None or active.snapshot_id == cmd.keep_snapshot_id:
                return m.ActiveSnapshotArchived(headers=cmd.headers, snapshot_id=None)
            await self.store.change_mode(conn, _key(cmd), active, "archived", active.activated_at, self._now())
            return m.ActiveSnapshotArchived(headers=cmd.headers, snapshot_id=active.snapshot_id)

        return await self._once(cmd, effect)

    async def _restore_archived(self, cmd: m.RestoreArchivedSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            active = await self.store.active_snapshot(conn)
            if active is not None and await self._changed_by(conn, cmd.effect_key):
                return failure(
                    cmd,
                    "another_snapshot_active",
                    f"snapshot {active.snapshot_id} is active; undo its activation first",
                    retryable=True,
                )
            restored = await self.store.revert_change(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, restored, "ArchiveActiveSnapshot")
            return m.ArchivedSnapshotRestored(headers=cmd.headers, snapshot_id=restored)

        return await self._once(cmd, effect)

    async def _changed_by(self, conn: Connection, key: str) -> bool:
        rows = await conn.execute_fetchall("SELECT 1 FROM snapshot_changes WHERE key = ?", (key,))
        return bool(rows)

    async def _activate(self, cmd: m.ActivateSnapshot) -> Reply:
        async def effect(conn: Connection) -> Reply:
            snap = await self.store.snapshot(conn, cmd.snapshot_id)
            if snap is None:
                return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
            if snap.mode != "shadow":
                return failure(cmd, "invalid_status", f"snapshot {cmd.snapshot_id} is {snap.mode}, not shadow")
            active = await self.store.active_snapshot(conn)
            if active is not None:
                return failure(cmd, "another_snapshot_active", f"snapshot {active.snapshot_id} is still active")
            now = self._now()
            await self.store.change_mode(conn, _key(cmd), snap, "active", now, None)
            return m.SnapshotActivated(
                headers=cmd.headers,
                snapshot=snap.model_copy(update={"mode": "active", "activated_at": now, "archived_at": None}),
            )

        return await self._once(cmd, effect)

    async def _revert_activation(self, cmd: m.RevertActivation) -> Reply:
        async def effect(conn: Connection) -> Reply:
            reverted = await self.store.revert_change(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, reverted, "ActivateSnapshot")
            return m.ActivationReverted(headers=cmd.headers, snapshot_id=reverted)

        return await self._once(cmd, effect)

    async def _sync_adapters(self, cmd: m.SyncAdapters) -> Reply:
        async def effect(conn: Connection) -> Reply:
            if await self.store.snapshot(conn, cmd.snapshot_id) is None:
                return failure(cmd, "snapshot_not_found", f"no snapshot {cmd.snapshot_id}")
            moved, now = 0, self._now()
            for adapter in await self.store.adapters(conn):
                if adapter.snapshot_id == cmd.snapshot_id:
                    continue
                if adapter.pinned:  # the moves made so far roll back with the transaction
                    return failure(
                        cmd,
                        "adapter_pinned",
                        f"adapter {adapter.name!r} is pinned to "
                        f"{adapter.snapshot_id}; {moved} adapter(s) moved before it were put back",
                    )
                await self.store.move_adapter(conn, _key(cmd), adapter, cmd.snapshot_id, now)
                moved += 1
            return m.AdaptersSynced(
                headers=cmd.headers, snapshot_id=cmd.snapshot_id, adapters=await self.store.adapters(conn), moved=moved
            )

        return await self._once(cmd, effect)

    async def _restore_adapters(self, cmd: m.RestoreAdapters) -> Reply:
        async def effect(conn: Connection) -> Reply:
            restored = await self.store.restore_adapters(conn, cmd.effect_key)
            await self._forbid_if_none(conn, cmd, restored, "SyncAdapters")
            return m.AdaptersRestored(headers=cmd.headers, adapter_ids=restored)

        return await self._once(cmd, effect)

    async def _list_snapshots(self, cmd: m.ListSnapshots) -> Reply:
        return m.SnapshotsPage(headers=cmd.headers, snapshots=await self.store.snapshots())

    async def _list_adapters(self, cmd: m.ListAdapters) -> Reply:
        return m.AdaptersPage(headers=cmd.headers, adapters=await self.store.adapters())


def _key(cmd: Any) -> str:
    return cmd.headers.idempotency_key  # apply_once has refused a command without one


def _aware(t: datetime) -> bool:
    return t.tzinfo is not None and t.utcoffset() is not None


def _drift_problem(cmd: m.RecordDrift) -> str | None:
    if not (cmd.score >= 0 and cmd.score != float("inf")):
        return f"score must be a finite number >= 0, not {cmd.score}"
    if cmd.sample_count < 0:
        return "sample_count must be >= 0"
    if not (_aware(cmd.window_start) and _aware(cmd.window_end)):
        return "window times must be timezone-aware"
    return None if cmd.window_start < cmd.window_end else "window_start must be before window_end"
