"""SIGKILL of the whole actor system at chosen points of a run, then a restart on the same data.

Each test stops a UserProvisioning run deterministically with the journal's
rehearsal hook (``halt_at``: the journal writes up to the chosen record,
touches a marker and freezes), checks what has and has not happened yet,
SIGKILLs the system's process group, starts a new system on the same data
directory and checks that recovery finishes the run with every effect
applied exactly once.
"""

from __future__ import annotations

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from sagaline.messages.supervision import WhichChildren
from tests.integration.conftest import Databases
from tests.integration.crash.support import (SAGA, JournalView, Life, crash_marker, effect_counts,
                                             keys_applied_more_than_once)
from tests.support.tree import wait_until

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(120)]
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
NOTHING = {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0}


def _halted_life(tmp_path, rule: dict, faults: dict | None = None) -> tuple[Life, str]:
    """A life whose journal freezes at ``rule``; one run started and driven to that point."""
    marker = tmp_path / "halted"
    life = Life(tmp_path / "data", tmp_path / "logs1", faults=faults or {},
                journal_options={"halt_at": {**rule, "action": "freeze", "marker": str(marker)}})
    cid = uuid7()
    life.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
    wait_until(marker.exists, timeout=30)
    return life, cid


def _recover(tmp_path, cid: str, faults: dict | None = None):
    life = Life(tmp_path / "data", tmp_path / "logs2", faults=faults or {})
    try:
        return life.client.wait(cid, timeout=60)
    finally:
        life.stop()


def test_killed_after_the_journal_write_before_the_effect_the_run_resends_and_completes(tmp_path):
    with crash_marker():
        life, cid = _halted_life(tmp_path, {"when": "after", "step": "create_user", "outcome": "ok"})
        db, journal = Databases(tmp_path / "data"), JournalView(tmp_path / "data")
        assert journal.events(cid)[-1] == "create_user:run:ok"
        assert (db.count("block", "vaults"), db.count("link", "memberships")) == (0, 0)  # not yet sent
        life.kill()
        out = _recover(tmp_path, cid)
    assert out.status == "completed"
    assert effect_counts(db, cid) == EVERYTHING
    assert keys_applied_more_than_once(db) == {}
    assert journal.statuses() == {cid: "completed"}


def test_killed_after_the_effect_before_its_answer_is_recorded_the_resend_gets_the_first_answer(tmp_path):
    with crash_marker():
        life, cid = _halted_life(tmp_path, {"when": "before", "step": "provision_vault", "outcome": "ok"})
        db, journal = Databases(tmp_path / "data"), JournalView(tmp_path / "data")
        [(vault_id, key)] = db.rows("block", "SELECT id, created_by_key FROM vaults")  # the effect happened
        assert "provision_vault:run:ok" not in journal.events(cid)  # its answer was never recorded
        life.kill()
        out = _recover(tmp_path, cid)
    assert out.status == "completed"
    assert out.result["vault"]["vault_id"] == vault_id  # the first answer, replayed from the ledger
    assert db.rows("block", "SELECT id, created_by_key FROM vaults") == [(vault_id, key)]
    assert db.rows("block", "SELECT COUNT(*) FROM idempotency WHERE key = ?", key) == [(1,)]
    assert effect_counts(db, cid) == EVERYTHING
    assert keys_applied_more_than_once(db) == {}


def test_killed_mid_rollback_the_run_keeps_rolling_back_and_leaves_nothing(tmp_path):
    faults = {"link": [{"command": "JoinCommunity", "code": "community_full"}]}
    with crash_marker():
        life, cid = _halted_life(tmp_path, {"when": "after", "step": "provision_vault", "kind": "undo",
                                            "outcome": "ok"}, faults)
        db, journal = Databases(tmp_path / "data"), JournalView(tmp_path / "data")
        assert (db.count("block", "vaults"), db.count("gate", "users")) == (0, 1)  # half undone
        life.kill()
        out = _recover(tmp_path, cid, faults)
    assert out.status == "failed" and out.failed_step == "create_default_community"
    assert effect_counts(db, cid) == NOTHING
    undone = [e for e in journal.events(cid) if ":undo:" in e]
    assert undone == ["provision_vault:undo:ok", "create_user:undo:ok", "generate_token:undo:ok"]
    assert keys_applied_more_than_once(db) == {}


def test_a_saga_actor_killed_mid_run_is_respawned_from_the_journal(tmp_path):
    import os
    import signal

    faults = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 1.0}]}
    with crash_marker():
        life = Life(tmp_path / "data", tmp_path / "logs", faults=faults)
        try:
            cid = uuid7()
            accepted = life.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
            rows = life.handle.ask(life.tree.sagas, WhichChildren(), 10).children
            [pid] = [r.pid for r in rows if r.address == accepted.address]
            db = Databases(tmp_path / "data")
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


def test_a_killed_journal_actor_is_restarted_and_runs_in_flight_resend_what_it_lost(tmp_path):
    import os
    import signal

    from tests.support.tree import children

    faults = {"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.3}]}
    with crash_marker():
        life = Life(tmp_path / "data", tmp_path / "logs", faults=faults)
        try:
            ids = [life.client.start(SAGA, {"email": f"j{i}@example.com"}).correlation_id for i in range(6)]
            db = Databases(tmp_path / "data")
            wait_until(lambda: db.count("gate", "users") >= 2, timeout=30)
            before = children(life.handle, life.tree.root)["journal"]
            os.kill(before.pid, signal.SIGKILL)
            outcomes = [life.client.wait(cid, timeout=60) for cid in ids]
            after = children(life.handle, life.tree.root)["journal"]
        finally:
            life.stop()
    assert after.pid != before.pid and after.restarts == before.restarts + 1
    assert {o.status for o in outcomes} == {"completed"}
    assert all(effect_counts(db, cid) == EVERYTHING for cid in ids)
    assert keys_applied_more_than_once(db) == {}
    assert JournalView(tmp_path / "data").statuses() == {cid: "completed" for cid in ids}
