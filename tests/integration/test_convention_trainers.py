"""NAS trainers spread over a convention's trainer members: a leader declaring ``trainer = false`` runs the
bridge (and every other domain, and the saga hosts); two members declaring ``trainer`` run no domain and no
saga host. One CerebrosNAS run's trials are trained on both members (the bridge places each trainer on the
least loaded of them) and the run completes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.integration.convention_support import convention_config, member
from tests.integration.crash.support import MARKER, sweep

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(300)]
SPACE = {"hidden_layers": [1], "widths": [4, 6, 8, 10], "activations": ["relu"], "learning_rates": [0.01],
         "batch_sizes": [128], "epochs": 2}
TRIALS = 4


def test_one_nas_runs_trials_are_trained_on_both_trainer_members_and_it_completes(tmp_path: Path, postgres_url):
    marker = str(uuid.uuid4())
    env = {MARKER: marker}
    settings = {"partitions": 2, "lease_s": 5.0}
    leader_config = convention_config(postgres_url, "127.0.0.2", **settings, capabilities={"trainer": False})
    # the trainers write each model where the bridge says and the bolt domain reads it: one directory every
    # member sees (across machines: a shared mount)
    leader_config["domains"] = {"bridge": {"artifacts_dir": str(tmp_path / "artifacts")}}
    leader = DaemonProcess(tmp_path / "leader", leader_config, env=env)
    members: list[DaemonProcess] = []
    try:
        leader.start()
        for name, bind in (("a", "127.0.0.1"), ("b", "127.0.0.3")):
            config = convention_config(postgres_url, bind, **settings,
                                       capabilities={"trainer": True, "saga_host": False, "domains": []})
            members.append(member(tmp_path / name, leader, config, env=env).start())
        cli = CliRunner(leader)
        seen = cli.json("members")
        out = cli.json("sagas", "start", "cerebros_nas", "dataset_id=digits", f"search_space:={json.dumps(SPACE)}",
                       f"max_trials:={TRIALS}", "--wait", "--timeout", "240", timeout=280)
        runs = cli.json("app", "run", "list_model_runs")["reply"]["runs"]
        run = next(r for r in runs if r["correlation_id"] == out["correlation_id"])
        trials = cli.json("app", "run", "list_trials", f"run_id={run['run_id']}")["reply"]["trials"]
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
