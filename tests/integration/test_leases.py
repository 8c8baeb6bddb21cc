"""Two actor systems on one PostgreSQL journal: the first owns the partitions by leases, the second stands
by; SIGKILL the first while runs stream in, and the second takes its partitions over within twice the
lease time and finishes every run, each effect applied once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sagaline.client import SagaRefusedError
from sagaline.hosts.host_lease import STANDBY_POLL_S
from sagaline.messages.saga import GetHostStats
from tests.integration.conftest import Databases
from tests.integration.crash.support import (
    MARKER,
    SAGA,
    JournalView,
    Life,
    effect_counts,
    keys_applied_more_than_once,
    kill_groups,
    sweep,
)
from tests.support.tree import children, wait_until

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(240)]
LEASE_S = 2.0
ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}


def _first_system(tmp_path: Path, url: str, marker: str) -> subprocess.Popen:
    """The crash driver streaming runs (no faults) with leases, marked so a sweep finds all its processes."""
    command = [
        sys.executable,
        "-m",
        "tests.integration.crash.driver",
        "--data",
        str(tmp_path / "a"),
        "--state",
        str(tmp_path / "state"),
        "--life",
        "0",
        "--mode",
        "run",
        "--storage-url",
        url,
        "--lease-s",
        str(LEASE_S),
        "--no-faults",
    ]
    with open(tmp_path / "state" / "driver.log", "wb") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            close_fds=True,
            start_new_session=True,
            env={**os.environ, MARKER: marker},
        )


def _owners(journal: JournalView) -> dict[str, str]:
    return dict(journal.rows("SELECT resource, owner FROM leases"))


def test_a_standby_system_takes_over_a_killed_systems_runs_within_twice_the_lease(tmp_path, postgres_url):
    state = tmp_path / "state"
    state.mkdir()
    marker = str(uuid.uuid4())
    journal, db = JournalView(tmp_path / "a", postgres_url), Databases(tmp_path / "a", postgres_url)
    first = _first_system(tmp_path, postgres_url, marker)
    second = None
    try:
        wait_until(lambda: (state / "ready-0").exists() or first.poll() is not None, timeout=90)
        assert first.poll() is None, (state / "driver.log").read_text()[-3000:]
        before = wait_until(lambda: len(o := _owners(journal)) == 2 and o, timeout=30)
        # A standby host forwards requests to the holder's host (tests/integration/test_convention.py, where the
        # daemons share the installation secret); this driver's system has a secret of its own, so none is sent.
        second = Life(tmp_path / "b", tmp_path / "logs-b", storage_url=postgres_url, lease_s=LEASE_S, hosts=2)
        in_flight = (state / "accepted.log").read_text().split()[-1]
        wait_until(lambda: len((state / "accepted.log").read_text().split()) >= 30, timeout=60)
        info = json.loads((state / "life-0.json").read_text())
        kill_groups(first.pid, info["admin_pid"])
        killed_at = time.monotonic()
        sweep(marker)
        after = wait_until(
            lambda: (o := _owners(journal)) and set(o.values()).isdisjoint(before.values()) and o,
            timeout=4 * LEASE_S,
            interval=0.02,
        )
        took_over_s = time.monotonic() - killed_at
        started = list(dict.fromkeys((state / "started.log").read_text().split()))
        outcomes = {cid: _outcome(second, cid) for cid in started}
        stats = [
            second.handle.ask(c.address, GetHostStats(), 10)
            for c in children(second.handle, second.tree.sagas).values()
        ]
    finally:
        kill_groups(first.pid)
        sweep(marker)
        first.wait(10)
        if second is not None:
            second.stop()
    assert outcomes[in_flight] == "completed"
    assert took_over_s <= 2 * LEASE_S, f"took {took_over_s:.2f} s for a {LEASE_S} s lease"
    assert set(after) == set(before)
    accepted = set((state / "accepted.log").read_text().split())
    assert {outcomes[c] for c in accepted} == {"completed"}
    assert {o for c, o in outcomes.items() if c not in accepted} <= {"completed", "absent"}
    assert all(effect_counts(db, c) == EVERYTHING for c, o in outcomes.items() if o == "completed")
    assert keys_applied_more_than_once(db) == {}
    assert journal.rows("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL") == [(0,)]
    assert [s.runs for s in stats] == [0, 0]  # nothing left running on the survivor


def _outcome(life: Life, cid: str) -> str:
    try:
        return life.client.wait(cid, timeout=60).status
    except SagaRefusedError as exc:
        assert exc.code == "unknown_run", exc
        return "absent"


def test_a_system_stopped_cleanly_releases_its_partitions_so_the_standby_takes_over_without_waiting(
    tmp_path, postgres_url
):
    long_lease = 60.0
    journal = JournalView(tmp_path / "a", postgres_url)
    first = Life(tmp_path / "a", tmp_path / "logs-a", storage_url=postgres_url, lease_s=long_lease, hosts=2)
    second = None
    try:
        done = first.client.run(SAGA, {"email": "ada@example.com"})
        before = wait_until(lambda: len(o := _owners(journal)) == 2 and o, timeout=30)
        second = Life(tmp_path / "b", tmp_path / "logs-b", storage_url=postgres_url, lease_s=long_lease, hosts=2)
        first.stop()
        stopped_at = time.monotonic()
        wait_until(lambda: set(_owners(journal).values()).isdisjoint(before.values()), timeout=10)
        took_over_s = time.monotonic() - stopped_at
        again = second.client.run(SAGA, {"email": "bo@example.com"})
        found = second.client.wait(done.correlation_id, timeout=30)
    finally:
        first.kill()
        if second is not None:
            second.stop()
    assert took_over_s < 2 * STANDBY_POLL_S, f"took {took_over_s:.2f} s"
    assert again.status == "completed" and found.status == "completed"
    assert [token for (token,) in journal.rows("SELECT token FROM leases ORDER BY resource")] == [2, 2]
