"""NAS trainers spread over a convention's trainer members: a leader declaring ``trainer = false`` runs the
bridge (and every other domain, and the saga hosts); two members declaring ``trainer`` run no domain and no
saga host. One CerebrosNAS run's trials are trained on both members (the bridge places each trainer on the
least loaded of them) and the run completes; a remote trainer SIGKILLed mid-trial fails its trial at once
(its member's admin relays Thespian's ChildActorExited to the bridge)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from sagaline.client import Client
from sagaline.runtime.procs import kill_all
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.integration.convention_support import convention_config, member
from tests.integration.crash.support import MARKER, sweep
from tests.support.tree import wait_until
from thunderline.actors.bridge import SILENT_S

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(300)]
SPACE = {
    "hidden_layers": [1],
    "widths": [4, 6, 8, 10],
    "activations": ["relu"],
    "learning_rates": [0.01],
    "batch_sizes": [128],
    "epochs": 2,
}
TRIALS = 4


def test_one_nas_runs_trials_are_trained_on_both_trainer_members_and_it_completes(tmp_path: Path, postgres_url):
    marker = str(uuid.uuid4())
    env = {MARKER: marker}
    settings = {"partitions": 2, "lease_s": 5.0}
    # the leader on 127.0.0.1: this test process's client joins it (a process's Thespian endpoint binds one
    # address, and the other convention test binds 127.0.0.1)
    leader_config = convention_config(postgres_url, "127.0.0.1", **settings, capabilities={"trainer": False})
    # the trainers write each model where the bridge says and the bolt domain reads it: one directory every
    # member sees (across machines: a shared mount)
    leader_config["domains"] = {"bridge": {"artifacts_dir": str(tmp_path / "artifacts")}}
    leader = DaemonProcess(tmp_path / "leader", leader_config, env=env)
    members: list[DaemonProcess] = []
    try:
        leader.start()
        for name, bind in (("a", "127.0.0.2"), ("b", "127.0.0.3")):
            config = convention_config(
                postgres_url, bind, **settings, capabilities={"trainer": True, "saga_host": False, "domains": []}
            )
            members.append(member(tmp_path / name, leader, config, env=env, leader_bind="127.0.0.1").start())
        cli = CliRunner(leader)
        seen = cli.json("members")
        out = cli.json(
            "sagas",
            "start",
            "cerebros_nas",
            "dataset_id=digits",
            f"search_space:={json.dumps(SPACE)}",
            f"max_trials:={TRIALS}",
            "--wait",
            "--timeout",
            "240",
            timeout=280,
        )
        runs = cli.json("app", "run", "list_model_runs")["reply"]["runs"]
        run = next(r for r in runs if r["correlation_id"] == out["correlation_id"])
        trials = cli.json("app", "run", "list_trials", f"run_id={run['run_id']}")["reply"]["trials"]
        with Client(leader.data_dir) as client:  # one long trial, its trainer killed mid-training
            long = {**SPACE, "widths": [64], "epochs": 100_000}
            cid = client.start(
                "cerebros_nas", {"dataset_id": "digits", "search_space": long, "max_trials": 1, "seed": 3}
            ).correlation_id
            victim = wait_until(lambda: _running(cli, cid), timeout=60, interval=0.5)
            os.kill(victim["pid"], signal.SIGKILL)
            killed_at = time.monotonic()
            killed = client.wait(cid, timeout=60)
            noticed_s = time.monotonic() - killed_at
            # the same with the trainer's whole member gone: nobody relays an exit
            cid2 = client.start(
                "cerebros_nas", {"dataset_id": "digits", "search_space": long, "max_trials": 1, "seed": 4}
            ).correlation_id
            victim = wait_until(lambda: _running(cli, cid2), timeout=60, interval=0.5)
            host = next(m for m in members if f":{m.admin_port})" in victim["member"])
            os.kill(host.process.pid, signal.SIGKILL)
            kill_all(host.info.tag)
            gone_at = time.monotonic()
            vanished = client.wait(cid2, timeout=60)
            vanished_s = time.monotonic() - gone_at
        gone_run = next(
            r for r in cli.json("app", "run", "list_model_runs")["reply"]["runs"] if r["correlation_id"] == cid2
        )
        gone = cli.json("app", "run", "list_trials", f"run_id={gone_run['run_id']}")["reply"]["trials"]
        killed_run = next(
            r for r in cli.json("app", "run", "list_model_runs")["reply"]["runs"] if r["correlation_id"] == cid
        )
        lost = cli.json("app", "run", "list_trials", f"run_id={killed_run['run_id']}")["reply"]["trials"]
    finally:
        for daemon in [*members, leader]:
            daemon.stop(timeout=30)
        sweep(marker)
    assert sorted(m["capabilities"]["trainer"] for m in seen["members"]) == [True, True]
    assert out["status"] == "completed", out
    assert [t["state"] for t in trials] == ["succeeded"] * TRIALS
    on = [t["member"] for t in trials]
    print("trainers placed on:", on)
    ports = {m.admin_port: m for m in members}
    assert {next(p for p in ports if f":{p})" in str(where)) for where in on} == set(ports), on
    assert all(on.count(where) == TRIALS // 2 for where in on), on  # least loaded first: evenly
    assert len({t["pid"] for t in trials}) == TRIALS
    print(f"the killed remote trainer's trial failed {noticed_s:.1f} s after the kill")
    assert killed.status != "completed" and noticed_s < 30, (killed, noticed_s)
    assert [t["state"] for t in lost] == ["failed"], lost
    assert lost[0]["reason"] == "trainer exited without a report (killed)", lost
    print(f"the vanished member's trial failed {vanished_s:.1f} s after the kill: {gone[0]['reason']}")
    assert vanished.status != "completed" and vanished_s < SILENT_S + 30, (vanished, vanished_s)
    assert [t["state"] for t in gone] == ["failed"], gone


def _running(cli: CliRunner, cid: str) -> dict | None:
    """The running trial of run ``cid`` whose trainer reported its pid and an epoch done (None: not yet)."""
    runs = [r for r in cli.json("app", "run", "list_model_runs")["reply"]["runs"] if r["correlation_id"] == cid]
    if not runs:
        return None
    trials = cli.json("app", "run", "list_trials", f"run_id={runs[0]['run_id']}")["reply"]["trials"]
    return next((t for t in trials if t["state"] == "running" and t["pid"] and t["epoch"] > 0), None)
