"""Issue 16, findings 3 and 4, through the real daemon and CLI: a deeply nested request is answered with an
error and holds nothing; a client's exit request, second door init or shutdown changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sagaline.client import BadInput, Client
from sagaline.client.channel import ThespianChannel
from sagaline.client.locate import Target
from sagaline.messages import codec
from sagaline.messages.admin import AdminError
from sagaline.runtime.procs import pids_with_tag
from sagaline.testing.daemon import CliRunner, _environment

pytestmark = pytest.mark.multiproc


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture(scope="module")
def served(daemon):
    """The module's daemon, its CLI, and its process count before anything here ran."""
    cli = CliRunner(daemon)
    assert cli.json("health")["status"] == "ok"
    return daemon, cli, len(pids_with_tag(daemon.info.tag))


def test_starts_nested_hundreds_of_levels_deep_are_refused_and_never_hold_a_slot(served):
    daemon, cli, processes = served
    lines = [f"sagas start user_provisioning x:={nested(levels)}" for levels in (460, 900) for _ in range(20)]
    result = cli.shell(*lines, "health --json")
    refusals = [line for line in result.stderr.splitlines() if line.startswith("error (too_large)")]
    assert len(refusals) == 40 and "nested more than 32 levels" in refusals[0]
    health = json.loads(result.stdout[result.stdout.index("{") :])
    assert health["status"] == "ok"  # not "busy": every slot was freed
    too_deep_for_json = cli("sagas", "start", "user_provisioning", f"x:={nested(1000)}")
    assert too_deep_for_json.exit_code == 2 and "nested too deeply" in too_deep_for_json.stderr
    assert len(pids_with_tag(daemon.info.tag)) == processes  # no process per request, none left over


def test_raw_bytes_nested_a_thousand_levels_get_an_error_from_the_door_and_from_a_worker(served):
    daemon, _cli, _ = served
    deep: list = []
    for _ in range(999):
        deep = [deep]
    payload = codec.pack_value(["AdminStartSaga", 1, {"saga": "user_provisioning", "inputs": {"x": deep}}])
    channel = ThespianChannel(
        Target("127.0.0.1", daemon.admin_port, "test", secret_file=daemon.data_dir / "secret.key")
    )
    try:
        workers = channel.open().workers
        for target in (channel.door, workers[0]):
            answer = codec.decode(channel.ask(target, payload, 10).payload)
            assert isinstance(answer, AdminError) and answer.code == "too_large"
    finally:
        channel.close()
    with Client(daemon.data_dir) as client:
        with pytest.raises(BadInput):
            client.start("user_provisioning", {"x": json.loads(nested(460))})
        assert client.health().status == "ok"


def test_a_clients_exit_request_second_door_init_and_shutdown_change_nothing(served):
    daemon, cli, processes = served
    attack = subprocess.run(
        [sys.executable, "-m", "tests.e2e.attacker", str(daemon.admin_port), str(daemon.data_dir / "secret.key")],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment({}),
        cwd=daemon.directory,
    )
    assert attack.returncode == 0, attack.stderr[-2000:]
    assert json.loads(attack.stdout.splitlines()[-1]) == {"second_init": "refused"}
    out = cli.json("sagas", "start", "user_provisioning", "email=after-attack@example.com", "--wait")
    assert out["status"] == "completed"
    assert cli.json("health")["live"] is True and daemon.process.poll() is None
    assert len(pids_with_tag(daemon.info.tag)) == processes
    logs = daemon.data_dir / "logs"
    log = (logs / "actors.log").read_text() + (logs / "thespian.log").read_text()
    assert "refused a second AdminDoorInit" in log or "refused an AdminDoorInit" in log
    assert "refused SystemShutdown" in log and "ignored an ActorExitRequest" in log
