"""The three sagas through the real daemon, driven only by the CLI (one-shot and the shell)."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from sagaline.messages.ids import uuid7
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.multiproc
SPACE = {
    "hidden_layers": [1],
    "widths": [4, 8],
    "activations": ["relu"],
    "learning_rates": [0.01],
    "batch_sizes": [128],
    "epochs": 2,
}


def test_health_and_the_tree_show_every_root_child_running(cli):
    health = cli.json("health")
    assert health["status"] == "ok"
    ids = [c["id"] for c in health["children"]]
    assert ids[:4] == ["flow", "gate", "block", "link"] and ids[-2:] == ["sagas", "admin"]
    text = cli("tree")
    assert text.exit_code == 0 and "├─ sagas  supervisor running restarts=0" in text.stdout


def test_user_provisioning_started_one_shot_completes_and_can_be_looked_at(cli):
    out = cli.json("sagas", "start", "user_provisioning", "email=ada@example.com", "--wait")
    cid = out["correlation_id"]
    assert (out["status"], out["existing"]) == ("completed", False)
    assert out["result"]["user"]["email"] == "ada@example.com"
    shown = cli("sagas", "show", cid)
    assert shown.exit_code == 0 and "status      completed" in shown.stdout and cid in shown.stdout
    events = cli.json("events", "tail", "--cid", cid)["events"]
    assert [e["name"] for e in events] == ["user.onboarding.complete", "reactor.saga.complete"]
    assert cli.json("registry", "lookup", "domain:gate")["entries"][0]["key"] == "domain:gate"
    listed = cli("sagas", "list", "--status", "completed", "--json")
    assert listed.exit_code == 0, listed.stdout
    assert cid in [r["correlation_id"] for r in listed.json()["runs"]]


def test_a_completed_runs_trace_timeline_is_printed_from_the_data_dir(cli):
    pytest.importorskip("sagaline.telemetry.timeline")
    cid = cli.json("sagas", "start", "user_provisioning", "email=gu@example.com", "--wait")["correlation_id"]
    trace = wait_until(lambda: (lambda r: r if r.exit_code == 0 else None)(cli("runs", "trace", cid)), timeout=10)
    assert f"run {cid}" in trace.stdout and "saga user_provisioning" in trace.stdout


def test_a_run_started_without_waiting_is_waited_for_separately(cli):
    started = cli("sagas", "start", "user_provisioning", "email=bo@example.com")
    assert started.exit_code == 0 and started.stdout.startswith("run ") and "started" in started.stdout
    cid = started.stdout.split()[1]
    waited = cli("sagas", "wait", cid)
    assert waited.exit_code == 0 and "status      completed" in waited.stdout


def test_a_scripted_shell_session_starts_a_run_and_looks_at_it(cli):
    cid = uuid7()
    result = cli.shell(
        "help",
        f"sagas start user_provisioning email=cy@example.com --id {cid} --wait",
        f"sagas show {cid} --json",
        "sagas show 01a21fb3-6e64-70d5-8287-d58af4977800",
        "tree",
        "health",
    )
    assert result.exit_code == 0, result.stderr  # the status of the last command (health)
    assert result.stdout.startswith("commands (")  # scripted: no greeting, no prompt; help first
    assert "sagas start" in result.stdout  # help
    assert f"run         {cid}" in result.stdout and "status      completed" in result.stdout
    assert f'"correlation_id": "{cid}"' in result.stdout
    assert "error (not_found)" in result.stderr  # a failing command does not end the session
    assert "└─ admin  worker running" in result.stdout and "status      ok" in result.stdout


@pytest.mark.parametrize(
    "words, status, text",
    [
        (["sagas", "show", "01a21fb3-6e64-70d5-8287-d58af4977801"], 9, "error (not_found)"),
        (["sagas", "start", "no_such_saga"], 2, "[unknown_saga]"),
        (["sagas", "start", "user_provisioning"], 2, "[invalid_input]"),
        (["sagas", "start", "user_provisioning", "email"], 2, "key=value"),
        (["sagas", "start", "user_provisioning", "email=not-an-email", "--wait"], 5, "invalid_email_format"),
    ],
)
def test_refusals_and_failures_have_their_own_exit_status_and_message(cli, words, status, text):
    result = cli(*words)
    assert result.exit_code == status, result
    assert text in result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_cerebros_nas_completes_and_the_apps_commands_show_its_run_and_trials(cli):
    out = cli.json(
        "sagas",
        "start",
        "cerebros_nas",
        "dataset_id=digits",
        f"search_space:={json.dumps(SPACE)}",
        "max_trials:=2",
        "--wait",
        "--timeout",
        "240",
        timeout=280,
    )
    assert out["status"] == "completed", out
    runs = cli.json("app", "run", "list_model_runs", "state=succeeded")["reply"]["runs"]
    run = next(r for r in runs if r["correlation_id"] == out["correlation_id"])
    assert run["state"] == "succeeded" and run["requested_trials"] == 2
    trials = cli.json("app", "run", "list_trials", f"run_id={run['run_id']}")["reply"]["trials"]
    assert [(t["state"], t["epoch"] == t["epochs"]) for t in trials] == [("succeeded", True)] * 2
    names = [e["name"] for e in cli.json("events", "tail", "--cid", out["correlation_id"], "--prefix", "ml.")["events"]]
    assert sorted(names) == ["ml.run.completed", "ml.trial.completed", "ml.trial.completed"]  # one per trained trial
    table = cli("app", "run", "list_model_runs")
    assert table.exit_code == 0 and run["run_id"] in table.stdout and "REQUESTED TRIALS" in table.stdout
    assert "search_space" not in table.stdout.lower()  # the command's columns, not every field


def test_upm_activation_completes_and_its_policy_decision_is_listed(cli, daemon):
    new_snapshot = seed_upm_fleet(daemon)
    out = cli.json("sagas", "start", "upm_activation", f"snapshot_id={new_snapshot}", "--wait")
    assert out["status"] == "completed", out
    decisions = cli.json("app", "run", "list_decisions", f"correlation_id={out['correlation_id']}")["reply"]
    assert [(d["action"], d["effect"]) for d in decisions["decisions"]] == [("upm.activate", "allow")]
    assert "allow" in cli("app", "run", "list_decisions", "effect=allow", "limit=5").stdout


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"\xc1", "malformed"),
        (b"\x93\xa4Nope\x01\x80", "unknown_request"),
        (b"\x92" + b"\0" * 70_000, "too_large"),
        (b"\x93\xadAdminListRuns\x01\x81\xa5limit\xff", "invalid"),
    ],
)
def test_the_real_daemon_answers_bad_admin_bytes_with_errors_and_keeps_serving(cli, daemon, payload, code):
    from sagaline.messages import codec
    from sagaline.runtime import join_system

    handle = join_system(daemon.admin_port, secret=daemon.secret())
    try:
        door = handle.create_actor("sagaline.admin.endpoint.AdminDoor", global_name="sagaline.admin")
        answer = codec.decode(handle.ask(door, payload, 10))
        assert (type(answer).__name__, answer.code) == ("AdminError", code)
        assert handle.ask(door, 42, 10).code == "malformed"
    finally:
        handle.close()
    assert cli("health").exit_code == 0


def seed_upm_fleet(daemon) -> str:
    """Register an active snapshot with an adapter and a shadow one with good drift, through bolt's
    own messages (the CLI has no command to register UPM snapshots: a training pipeline does that)."""
    from datetime import datetime, timedelta

    from sagaline.messages.base import Headers
    from sagaline.runtime import join_system
    from thunderline.messages import bolt as b

    handle = join_system(daemon.admin_port, secret=daemon.secret())
    try:
        bolt = holder_address(handle, "domain:bolt")

        def ask(command, **fields):
            headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
            return handle.ask(bolt, command(headers=headers, **fields), 30)

        now = datetime.now(UTC)
        old = ask(b.RegisterSnapshot, version=1, checksum="a", trained_by="bolt").snapshot
        ask(b.ActivateSnapshot, snapshot_id=old.snapshot_id)
        ask(b.RegisterAdapter, name="api", snapshot_id=old.snapshot_id)
        new = ask(b.RegisterSnapshot, version=2, checksum="b", trained_by="cerebros").snapshot
        ask(
            b.RecordDrift,
            snapshot_id=new.snapshot_id,
            score=0.05,
            sample_count=1000,
            window_start=now - timedelta(hours=1),
            window_end=now,
        )
        return new.snapshot_id
    finally:
        handle.close()


def holder_address(handle, key: str):
    """The address of a registry key's holder, rebuilt from the text the admin API shows
    (``ActorAddr-(T|:PORT)``: an actor on this host)."""
    import re

    from sagaline.messages.admin import AdminRegistryLookup
    from sagaline.messages.codec import pack_value
    from sagaline.runtime.addresses import address_from_bytes

    door = handle.create_actor("sagaline.admin.endpoint.AdminDoor", global_name="sagaline.admin")
    [entry] = handle.ask(door, AdminRegistryLookup(key=key), 10).data["entries"]
    port = int(re.search(r":(\d+)\)$", entry["holder"]).group(1))
    return address_from_bytes(pack_value(["tcp", "127.0.0.1", port]))
