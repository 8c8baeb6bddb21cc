"""Cancelling a run mid-flight through the CLI rolls it back (a delay fault keeps it in flight)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from sagaline.messages.ids import uuid7
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import started_daemon, wait_until

pytestmark = pytest.mark.multiproc
#: Seconds block sleeps before provisioning a vault: below the saga's 5 s command timeout.
DELAY_S = 2.5


@pytest.fixture(scope="module")
def slow_daemon(tmp_path_factory) -> Iterator[DaemonProcess]:
    rule = {"command": "ProvisionVault", "action": "delay", "seconds": DELAY_S}
    yield from started_daemon(tmp_path_factory.mktemp("slow"), {"faults": {"block": [rule]}})


@pytest.fixture(scope="module")
def cli(slow_daemon) -> CliRunner:
    return CliRunner(slow_daemon)


def count(daemon: DaemonProcess, domain: str, table: str) -> int:
    conn = sqlite3.connect(f"file:{daemon.data_dir / f'{domain}.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def step_status(cli: CliRunner, cid: str, step: str) -> str | None:
    shown = cli("sagas", "show", cid, "--json")
    steps = shown.json().get("steps", []) if shown.exit_code == 0 else []
    return next((s["status"] for s in steps if s["name"] == step), None)


def test_a_run_cancelled_mid_flight_rolls_back_and_the_same_email_can_then_onboard(cli, slow_daemon):
    cid = uuid7()
    started = cli("sagas", "start", "user_provisioning", "email=dee@example.com", "--id", cid)
    assert started.exit_code == 0, started
    wait_until(lambda: step_status(cli, cid, "provision_vault") == "running")
    cancelled = cli("sagas", "cancel", cid, "--reason", "operator changed their mind")
    assert cancelled.exit_code == 0 and "cancelled; it now rolls back" in cancelled.stdout, cancelled
    waited = cli("sagas", "wait", cid, "--json")
    assert waited.exit_code == 5 and waited.json()["status"] == "cancelled", waited
    ended = cli("sagas", "cancel", cid)
    assert (ended.exit_code, ended.stdout) == (8, "") and ended.stderr.strip().endswith("nothing to cancel")
    # no user.onboarding.complete: only the run's own announcement that it rolled back
    assert [e["name"] for e in cli.json("events", "tail", "--cid", cid)["events"]] == ["reactor.saga.fail"]
    again = cli.json("sagas", "start", "user_provisioning", "email=dee@example.com", "--wait")
    assert again["status"] == "completed"  # the first run's user was deleted, or this would fail
    assert (
        count(slow_daemon, "gate", "users"),
        count(slow_daemon, "block", "vaults"),
        count(slow_daemon, "link", "memberships"),
    ) == (1, 1, 1)
