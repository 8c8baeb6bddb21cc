"""SIGKILL of the whole actor system at chosen points of a run, then a restart on the same data.

Each test stops a UserProvisioning run deterministically with the journal's
rehearsal hook (``halt_at``: the journal writes up to the chosen record,
touches a marker and freezes), checks what has and has not happened yet,
SIGKILLs the system's process group, starts a new system on the same data
directory and checks that recovery finishes the run with every effect
applied exactly once. Every test runs on both storage backends (SQLite files, PostgreSQL).
"""

from __future__ import annotations

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from sagaline.supervisors.api import WhichChildren
from tests.integration.conftest import Databases
from tests.integration.crash.support import (
    SAGA,
    JournalView,
    Life,
    crash_marker,
    effect_counts,
    keys_applied_more_than_once,
)
from tests.support.tree import wait_until

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(120)]
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
NOTHING = {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0}


def _halted_life(tmp_path, storage_url, rule: dict, faults: dict | None = None) -> tuple[Life, str]:
    """A life whose journal freezes at ``rule``; one run started and driven to that point."""
    marker = tmp_path / "halted"
    life = Life(
        tmp_path / "data",
        tmp_path / "logs1",
        storage_url=storage_url,
        faults=faults or {},
        halt_at={**rule, "action": "freeze", "marker": str(marker)},
    )
    cid = uuid7()
    life.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    wait_until(marker.exists, timeout=30)
    return life, cid


def _recover(tmp_path, storage_url, cid: str, faults: dict | None = None):
    life = Life(tmp_path / "data", tmp_path / "logs2", storage_url=storage_url, faults=faults or {})
    try:
        return life.client.wait(cid, timeout=60)
    finally:
        life.stop()


def test_killed_after_the_journal_write_before_the_effect_the_run_resends_and_completes(tmp_path, storage_url):
    with crash_marker():
        life, cid = _halted_life(tmp_path, storage_url, {"when": "after", "step": "create_user", "outcome": "ok"})
        db, journal = Databases(tmp_path / "data", storage_url), JournalView(tmp_path / "data", storage_url)
        assert journal.events(cid)[-1] == "create_user:run:ok"
        assert (db.count("block", "vaults"), db.count("link", "memberships")) == (0, 0)  # not yet sent
        life.kill()
        out = _recover(tmp_path, storage_url, cid)
    assert out.status == "completed"
    assert effect_counts(db, cid) == EVERYTHING
    assert keys_applied_more_than_once(db) == {}
    assert journal.statuses() == {cid: "completed"}


def test_killed_after_the_effect_before_its_answer_is_recorded_the_resend_gets_the_first_answer(tmp_path, storage_url):
    with crash_marker():
        life, cid = _halted_life(tmp_path, storage_url, {"when": "before", "step": "provision_vault", "outcome": "ok"})
        db, journal = Databases(tmp_path / "data", storage_url), JournalView(tmp_path / "data", storage_url)
        [(vault_id, key)] = db.rows("block", "SELECT id, created_by_key FROM vaults")  # the effect happened
        assert "provision_vault:run:ok" not in journal.events(cid)  # its answer was never recorded
        life.kill()
        out = _recover(tmp_path, storage_url, cid)
    assert out.status == "completed"
    assert out.result["vault"]["vault_id"] == vault_id  # the first answer, replayed from the ledger
    assert db.rows("block", "SELECT id, created_by_key FROM vaults") == [(vault_id, key)]
    assert db.rows("block", "SELECT COUNT(*) FROM idempotency WHERE key = ?", key) == [(1,)]
    assert effect_counts(db, cid) == EVERYTHING
    assert keys_applied_more_than_once(db) == {}


def test_killed_mid_rollback_the_run_keeps_rolling_back_and_leaves_nothing(tmp_path, storage_url):
    faults = {"link": [{"command": "JoinCommunity", "code": "community_full"}]}
    with crash_marker():
        life, cid = _halted_life(
            tmp_path, storage_url, {"when": "after", "step": "provision_vault", "kind": "undo", "outcome": "ok"}, faults
        )
        db, journal = Databases(tmp_path / "data", storage_url), JournalView(tmp_path / "data", storage_url)
        assert (db.count("block", "vaults"), db.count("gate", "users")) == (0, 1)  # half undone
        life.kill()
        out = _recover(tmp_path, storage_url, cid, faults)
    assert out.status == "failed" and out.failed_step == "create_default_community"
    assert effect_counts(db, cid) == NOTHING
    undone = [e for e in journal.events(cid) if ":undo:" in e]
    assert undone == ["provision_vault:undo:ok", "create_user:undo:ok", "generate_token:undo:ok"]
    assert keys_applied_more_than_once(db) == {}


def _pid_of(life: Life, address) -> int:
    """The pid of the actor at ``address``: a saga host, or a single-run host under one."""
    hosts = life.handle.ask(life.tree.sagas, WhichChildren(), 10).children
    rows = list(hosts) + [r for h in hosts for r in life.handle.ask(h.address, WhichChildren(), 10).children]
    [pid] = [r.pid for r in rows if r.address == address]
    return pid


def test_a_saga_actor_killed_mid_run_is_respawned_from_the_journal(tmp_path, storage_url):
    import os
    import signal

    faults = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 1.0}]}
    with crash_marker():
        life = Life(tmp_path / "data", tmp_path / "logs", storage_url=storage_url, faults=faults)
        try:
            cid = uuid7()
            accepted = life.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
            pid = _pid_of(life, accepted.address)
            db = Databases(tmp_path / "data", storage_url)
            wait_until(lambda: db.count("gate", "users") == 1, timeout=30)
            os.kill(pid, signal.SIGKILL)
            out = life.client.wait(cid, timeout=60)
            holder = life.handle.ask(life.tree.registry, Lookup(key=f"saga:{cid}"), 5).entries
        finally:
            life.stop()
    assert out.status == "completed"
    assert holder == ()  # the respawned actor registered and unregistered under the run's key
    assert effect_counts(db, cid) == EVERYTHING
    assert keys_applied_more_than_once(db) == {}


def test_a_saga_host_killed_with_100_runs_in_flight_recovers_them_all_and_the_other_host_never_notices(
    tmp_path, storage_url
):
    import os
    import signal

    from sagaline.saga.placement import partition_of
    from tests.support.tree import children

    faults = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.01}]}
    with crash_marker():
        life = Life(tmp_path / "data", tmp_path / "logs", storage_url=storage_url, faults=faults, hosts=2)
        try:
            ids: dict[int, list[str]] = {0: [], 1: []}
            while min(len(v) for v in ids.values()) < 100:
                cid = uuid7()
                if len(ids[partition_of(cid, 2)]) < 100:
                    ids[partition_of(cid, 2)].append(cid)
            for i, cid in enumerate(ids[0] + ids[1]):
                life.client.start(SAGA, {"email": f"h{i}@example.com"}, correlation_id=cid)
            db = Databases(tmp_path / "data", storage_url)
            wait_until(lambda: db.count("gate", "users") >= 20, timeout=30)
            sagas = children(life.handle, life.tree.sagas)
            before0, before1 = sagas["host:0"], sagas["host:1"]
            os.kill(before0.pid, signal.SIGKILL)
            outcomes = {cid: life.client.wait(cid, timeout=120) for cid in ids[0] + ids[1]}
            after = children(life.handle, life.tree.sagas)
        finally:
            leaked = life.handle.shutdown()
    assert {o.status for o in outcomes.values()} == {"completed"}
    assert all(effect_counts(db, cid) == EVERYTHING for cid in outcomes)
    assert keys_applied_more_than_once(db) == {}
    assert after["host:0"].restarts == before0.restarts + 1 and after["host:0"].pid != before0.pid
    assert (after["host:1"].pid, after["host:1"].restarts) == (before1.pid, before1.restarts)  # never noticed
    assert leaked == set()
