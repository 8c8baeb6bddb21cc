"""UPMActivation end to end on both bases: the saga actor drives bolt and crown (domain
actors with their own SQLite files); rollback checked field by field in bolt's tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.thunderline.sagas.test_cerebros_actors import Lab
from thunderline.messages import bolt as m


@pytest.fixture
def lab(actor_system, tmp_path):
    return lambda **options: Lab(actor_system, tmp_path / "data", **options)


def setup_fleet(t: Lab):
    now = datetime.now(UTC)
    old = t.ask("bolt", m.RegisterSnapshot, version=1, checksum="a", trained_by="bolt").snapshot
    t.ask("bolt", m.ActivateSnapshot, snapshot_id=old.snapshot_id)
    for name in ("api", "batch"):
        t.ask("bolt", m.RegisterAdapter, name=name, snapshot_id=old.snapshot_id)
    new = t.ask("bolt", m.RegisterSnapshot, version=2, checksum="b", trained_by="cerebros").snapshot
    t.ask(
        "bolt",
        m.RecordDrift,
        snapshot_id=new.snapshot_id,
        score=0.05,
        sample_count=1000,
        window_start=now - timedelta(hours=1),
        window_end=now,
    )
    return old, new


def fleet_rows(t: Lab):
    return (
        t.rows("bolt", "SELECT id, mode, activated_at, archived_at FROM snapshots ORDER BY id"),
        t.rows("bolt", "SELECT name, snapshot_id, previous_snapshot_id, synced_at FROM adapters ORDER BY name"),
    )


def test_a_upm_activation_through_the_saga_actor_swaps_the_active_snapshot_and_moves_the_adapters(lab):
    t = lab()
    old, new = setup_fleet(t)
    out = t.client.run("upm_activation", {"snapshot_id": new.snapshot_id}, timeout=60)
    assert out.status == "completed", out
    snapshots, adapters = fleet_rows(t)
    assert {sid: mode for sid, mode, *_ in snapshots} == {old.snapshot_id: "archived", new.snapshot_id: "active"}
    assert {(s, p) for _, s, p, _ in adapters} == {(new.snapshot_id, old.snapshot_id)}
    assert t.rows("crown", "SELECT effect, correlation_id FROM decisions") == [("allow", out.correlation_id)]


def test_a_failed_adapter_sync_through_the_saga_actor_restores_everything_field_by_field(lab):
    t = lab(faults={"bolt": [{"command": "SyncAdapters", "code": "forced"}]})
    _, new = setup_fleet(t)
    before = fleet_rows(t)
    out = t.client.run("upm_activation", {"snapshot_id": new.snapshot_id}, timeout=60)
    assert (out.status, out.error["code"]) == ("failed", "adapter_sync_failed")
    assert fleet_rows(t) == before
