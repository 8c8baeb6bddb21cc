"""SIGKILL the whole daemon at random moments, twenty times, while UserProvisioning runs stream in.

The driver (:mod:`tests.integration.crash.driver`) runs in a subprocess with
the actor tree on multiprocTCPBase and the journal and stores on SQLite, then
on PostgreSQL (``storage_url``); this test kills
the driver's process group and the actor system's (its own, from
``setsid``), sweeps any straggler by environment marker, and starts the next
life on the same data directory, which recovers what the last one left.
A final life awaits every run. Then, from the databases:

* every run that reached the journal is completed, failed (rolled back) or
  stuck, and every acknowledged start reached the journal;
* no user without vault and membership, no vault or membership without user
  (a stuck run's membership, whose removal failed, excepted), no live token
  of a rolled-back run; a run that never reached the journal left nothing;
* every domain effect was applied exactly once (rows per idempotency key).

The seed is printed in every failure message (``SAGALINE_CRASH_SEED`` replays it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Databases
from tests.integration.crash.support import (
    JournalView,
    crash_marker,
    effect_counts,
    keys_applied_more_than_once,
    kill_groups,
    orphans,
    sweep,
)

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(420)]
KILLS = 20  # on each backend (measured: ~85 s on SQLite, ~60 s on PostgreSQL here)
ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "completed": {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1},
    "failed": {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0},
    "stuck": {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 1},
}


def _driver(tmp_path: Path, life: int, mode: str, seed: int, storage_url: str | None) -> subprocess.Popen:
    log = open(tmp_path / "state" / f"driver-{life}.log", "wb")  # noqa: SIM115 (the driver process writes to it)
    command = [
        sys.executable,
        "-m",
        "tests.integration.crash.driver",
        "--data",
        str(tmp_path / "data"),
        "--state",
        str(tmp_path / "state"),
        "--life",
        str(life),
        "--mode",
        mode,
        "--seed",
        str(seed),
    ]
    if storage_url is not None:
        command += ["--storage-url", storage_url]
    with log:
        return subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True, start_new_session=True
        )


def _kill_life(tmp_path: Path, life: int, proc: subprocess.Popen, rng: random.Random, marker: str) -> str:
    """Let the life run to a random moment (during start and recovery, or while runs stream), then kill it."""
    state = tmp_path / "state"
    if rng.random() < 0.7:  # most kills while runs stream in, the rest during start/recovery
        deadline = time.monotonic() + 60
        while not (state / f"ready-{life}").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    delay = rng.uniform(0.2, 2.0)
    try:
        proc.wait(delay)
        raise AssertionError(f"driver life {life} exited by itself: {(state / f'driver-{life}.log').read_text()}")
    except subprocess.TimeoutExpired:
        pass
    info = json.loads((state / f"life-{life}.json").read_text()) if (state / f"life-{life}.json").exists() else {}
    kill_groups(proc.pid, info.get("admin_pid"))
    sweep(marker)
    proc.wait(10)
    return "streaming" if (state / f"ready-{life}").exists() else "starting"


def test_twenty_random_sigkills_of_the_daemon_lose_no_run_and_double_no_effect(tmp_path, storage_url):
    seed = int(os.environ.get("SAGALINE_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    kills = KILLS
    (tmp_path / "state").mkdir()
    with crash_marker() as marker:
        phases = [
            _kill_life(tmp_path, life, _driver(tmp_path, life, "run", seed + life, storage_url), rng, marker)
            for life in range(kills)
        ]
        settle = _driver(tmp_path, kills, "settle", seed, storage_url)
        assert settle.wait(240) == 0, (tmp_path / "state" / f"driver-{kills}.log").read_text()[-3000:]
    _check(tmp_path, storage_url, f"seed {seed}, kills {phases}")


def _check(tmp_path: Path, storage_url: str | None, context: str) -> None:
    state = tmp_path / "state"
    db, journal = Databases(tmp_path / "data", storage_url), JournalView(tmp_path / "data", storage_url)
    outcomes = json.loads((state / "outcomes.json").read_text())
    accepted = set((state / "accepted.log").read_text().split())
    statuses = journal.statuses()
    assert set(statuses.values()) <= set(EXPECTED), (context, sorted(set(statuses.values())))
    assert accepted <= statuses.keys(), (context, "acknowledged starts missing from the journal")
    assert {c: o["status"] for c, o in outcomes.items() if c in statuses} == statuses, context
    assert {o["status"] for c, o in outcomes.items() if c not in statuses} <= {"absent"}, context
    wrong = {
        cid: (status, effect_counts(db, cid))
        for cid, status in statuses.items()
        if effect_counts(db, cid) != EXPECTED[status]
    }
    assert wrong == {}, context
    never = [c for c in outcomes if c not in statuses and any(effect_counts(db, c).values())]
    assert never == [], (context, "a run that never began left effects")
    stuck = {c for c, s in statuses.items() if s == "stuck"}
    assert all(outcomes[c]["failed_compensations"] == ["create_default_community"] for c in stuck), context
    announced = {r[0] for r in db.rows("flow", "SELECT correlation_id FROM events WHERE name = 'reactor.saga.stuck'")}
    assert announced == stuck, context
    assert orphans(db, stuck) == {}, context
    assert keys_applied_more_than_once(db) == {}, context
    assert journal.rows("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL") == [(0,)], context
    counts = {s: list(statuses.values()).count(s) for s in EXPECTED}
    # sanity, not statistics: the stream exercised both the happy path and rollbacks
    assert counts["completed"] >= 10 and counts["failed"] >= 1 and len(accepted) >= 30, (context, counts)
