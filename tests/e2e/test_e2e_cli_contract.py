"""The CLI's written contract (README, "CLI: the contract"), held through the real CLI against a real daemon.

One test per row of the exit-status table (:data:`sagaline.cli.exits.EXIT_TABLE`), then the messages of
issue 14 each shown gone or corrected. Runs are steered by their correlation ids: the daemon's faults
apply to a share of ids (a stable hash), so a test picks an id that completes, fails, is slow or gets
stuck.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagaline.cli.exits import EXIT_TABLE, Exit
from sagaline.messages.ids import uuid7
from sagaline.runtime.system import free_port
from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import started_daemon, wait_until

pytestmark = pytest.mark.multiproc

#: Shares of correlation ids (crc32 % 10000, as ``sagaline.domains.faults``): stuck < 1000 <= slow < 3000 <=
#: fails < 6000 <= completes. Slow vaults take 2 s (the step's timeout is 5 s); joins fail for all but
#: the completing ones; undoing a user fails for the stuck ones.
FAULTS = {
    "faults": {
        "block": [{"command": "ProvisionVault", "action": "delay", "seconds": 2.0, "ratio": 0.3}],
        "link": [{"command": "JoinCommunity", "code": "community_join_failed", "ratio": 0.6}],
        "gate": [{"command": "DeleteUser", "code": "user_deletion_failed", "ratio": 0.1}],
    }
}
SHARES = {"stuck": (0, 1000), "slow": (1000, 3000), "fails": (3000, 6000), "completes": (6000, 10_000)}


def run_id(kind: str) -> str:
    """A fresh correlation id whose run meets the faults of ``kind``."""
    low, high = SHARES[kind]
    while True:
        cid = uuid7()
        if low <= zlib.crc32(cid.encode()) % 10_000 < high:
            return cid


#: The Thunderline sagas, and ``patient``: in flight until its go file exists, however slow the machine.
APPS = {"apps": ["thunderline.app:app", "tests.support.hosts_app:app"]}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[DaemonProcess]:
    yield from started_daemon(tmp_path_factory.mktemp("contract"), {**FAULTS, **APPS})


@pytest.fixture(scope="module")
def cli(daemon: DaemonProcess) -> CliRunner:
    return CliRunner(daemon)


def start(cli: CliRunner, kind: str, wait: bool = True, email: str | None = None) -> str:
    cid = run_id(kind)
    result = cli(
        "sagas",
        "start",
        "user_provisioning",
        f"email={email or cid[-12:] + '@example.com'}",
        "--id",
        cid,
        *(["--wait"] if wait else []),
    )
    assert result.exit_code in (0, 5), result
    return cid


# ----- one test per row of the exit-status table -------------------------------------------------------


def test_the_exit_table_has_a_test_for_each_row_here():
    tested = {int(m) for m in re.findall(r"def test_exit_(\d+)_", Path(__file__).read_text())}
    assert tested == {int(code) for code, _ in EXIT_TABLE}


def test_exit_0_done(cli):
    cid = run_id("completes")
    result = cli("sagas", "start", "user_provisioning", "email=zero@example.com", "--id", cid, "--wait")
    assert (result.exit_code, result.stderr) == (0, "")
    assert "status      completed" in result.stdout
    assert cli("sagas", "show", cid[:13]).exit_code == 0


#: An app whose one admin command asks a domain actor that answers no command.
DEAF_DOMAIN = """
from sagaline.actors.base import BaseActor
from sagaline.apps import App, AppCommand, AppDomain
from sagaline.messages.base import Command


class Ping(Command):
    \"\"\"Nobody answers this.\"\"\"


class Deaf(BaseActor):
    \"\"\"A domain actor without a handler: it answers every command Unrecognized.\"\"\"


app = App(name="deaf", domains=[AppDomain("deaf", Deaf)], commands=[AppCommand("ping", "deaf", Ping)],
          messages=[Ping])
"""


def test_exit_1_the_daemon_could_not_carry_it_out(tmp_path, monkeypatch):
    (tmp_path / "pkgs").mkdir()
    (tmp_path / "pkgs" / "deafapp.py").write_text(DEAF_DOMAIN)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))  # the daemon gets the test's import path
    for daemon in started_daemon(tmp_path / "d", {"apps": ["deafapp:app"]}):
        result = CliRunner(daemon)("app", "run", "ping")
        assert result.exit_code == Exit.FAILED == 1, result
        assert result.stderr.startswith("error (unsupported): ") and len(result.stderr.splitlines()) == 1


@pytest.fixture(scope="module")
def two_runs(cli) -> list[str]:
    """At least two runs, so that a one-character id prefix is ambiguous."""
    return [start(cli, "completes", wait=False) for _ in range(2)]


@pytest.mark.parametrize(
    "words, said",
    [
        (
            ["sagas", "list", "--status", "bogus"],
            "error (usage): sagaline sagas list: argument --status: unknown status "
            "'bogus' (known: running, draining, rolling_back, halted, completed, "
            "failed, cancelled, stuck, needs_operator)",
        ),
        (
            ["sagas", "list", "--saga", "nosuch"],
            "error (invalid): no saga named 'nosuch' (known: apart, calm, "
            "cerebros_nas, crashy, patient, upm_activation, user_provisioning)",
        ),
        (["sagas", "list", "--since", "last tuesday"], "argument --since: 'last tuesday' is no time"),
        (["sagas", "start", "no_such_saga"], "[unknown_saga]"),
        (["sagas", "start", "user_provisioning"], "[invalid_input]"),
        (["sagas", "start", "user_provisioning", "email"], "error (invalid): 'email' is not key=value or key:=json"),
        (
            ["sagas", "start", "cerebros_nas", "dataset_id=digits", "max_trials=none"],
            "error (invalid): max_trials: expected integer >= 1, got 'none'",
        ),
        (["sagas", "show", "0"], "error (ambiguous): run id prefix '0' is ambiguous: "),
    ],
)
def test_exit_2_bad_input(cli, two_runs, words, said):
    result = cli(*words)
    assert result.exit_code == Exit.BAD_INPUT == 2, result
    assert said in result.stderr and len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_exit_3_no_daemon_and_the_message_says_how_to_point_at_one(tmp_path):
    port = free_port()
    result = CliRunner(directory=tmp_path)("sagas", "list", "--admin-port", str(port))
    assert result.exit_code == Exit.UNREACHABLE == 3
    assert result.stderr.strip() == (
        f"error (unreachable): no sagaline daemon is running on 127.0.0.1:{port} (--admin-port); start one with "
        "`sagaline run` (or `make run`); if it runs elsewhere, point at it with --data-dir DIR (its daemon.json) "
        "or --admin-port PORT (or SAGALINE_DATA_DIR / SAGALINE_ADMIN_PORT)"
    )
    default = CliRunner(directory=tmp_path)("health")  # the default place: ./data, port 7720
    assert default.exit_code == 3 and "--data-dir DIR" in default.stderr


def test_exit_4_timeout_for_sagas_wait_and_start_wait(cli):
    slow = start(cli, "slow", wait=False)
    waited = cli("sagas", "wait", slow, "--timeout", "0.5")
    assert waited.exit_code == Exit.TIMEOUT == 4, waited
    assert waited.stderr.startswith("error (timeout): ") and "0.5" in waited.stderr
    cid = run_id("slow")
    started = cli(
        "sagas", "start", "user_provisioning", "email=four@example.com", "--id", cid, "--wait", "--timeout", "0.5"
    )
    assert started.exit_code == 4, started
    assert f"look it up with `sagaline sagas show {cid}`" in started.stderr


def test_exit_5_the_run_ended_but_did_not_complete(cli):
    cid = run_id("fails")
    result = cli("sagas", "start", "user_provisioning", "email=five@example.com", "--id", cid, "--wait")
    assert result.exit_code == Exit.NOT_COMPLETED == 5, result
    assert "status      failed" in result.stdout and result.stderr == ""
    assert cli("sagas", "wait", cid).exit_code == 5


def test_exit_6_health_says_live_but_not_ready_while_a_root_child_restarts(cli, daemon):
    gate = next(c["pid"] for c in cli.json("health")["children"] if c["id"] == "gate")
    lock = sqlite3.connect(daemon.data_dir / "gate.sqlite", timeout=1, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")  # the restarted gate cannot open its store until we let go
        os.kill(gate, signal.SIGKILL)
        result = cli("health", "--exit-code")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert result.exit_code == Exit.NOT_READY == 6, result
    assert "gate is restarting" in result.stdout
    wait_until(lambda: cli("health", "--exit-code").exit_code == 0)


def test_exit_7_health_says_not_live_when_the_registry_does_not_answer(cli, daemon):
    registry = int(re.search(r"registry pid (\d+)", daemon.stderr()).group(1))
    os.kill(registry, signal.SIGSTOP)
    try:
        result = cli("health", "--exit-code")
    finally:
        os.kill(registry, signal.SIGCONT)
    assert result.exit_code == Exit.NOT_LIVE == 7, result
    assert "the registry did not answer" in result.stdout
    wait_until(lambda: cli("health", "--exit-code").exit_code == 0)


@pytest.mark.parametrize(
    "action, kind, said",
    [
        (["sagas", "resume"], "completes", "(completed): a completed run cannot be resumed"),
        (["sagas", "retry"], "fails", "(failed): only a stuck run's compensations can be retried"),
        (["sagas", "cancel"], "completes", "is not running (it is completed); nothing to cancel"),
    ],
)
def test_exit_8_refused(cli, action, kind, said):
    cid = start(cli, kind)
    result = cli(*action, cid)
    assert result.exit_code == Exit.REFUSED == 8, result
    assert result.stderr.strip() == f"error (refused): run {cid} {said}"
    assert result.stdout == ""


@pytest.mark.parametrize(
    "words",
    [
        ["sagas", "show", "01a21fb3-6e64-70d5-8287-d58af4977801"],
        ["sagas", "show", "ffff"],
        ["sagas", "catalog", "nosuch"],
        ["app", "run", "nosuch"],
        ["app", "list", "nosuch"],
        ["graph", "nosuch"],
    ],
)
def test_exit_9_not_found(cli, words):
    result = cli(*words)
    assert result.exit_code == Exit.NOT_FOUND == 9, result
    assert result.stderr.startswith("error (not_found): ") and len(result.stderr.splitlines()) == 1


def _has_socket(pid: int) -> bool:
    """Whether process ``pid`` holds a socket (the CLI opens one only once it runs its command)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_exit_10_health_says_the_journal_cannot_be_written_when_its_disk_is_full(tmp_path):
    from tests.support.small_fs import tmpfs  # root only: skipped with the reason elsewhere

    with tmpfs(tmp_path / "journal-fs", size="16m") as fs:
        config = {
            "apps": ["tests.support.hosts_app:app"],
            "runs": {"hosts": 1},
            "storage": {"journal_path": str(fs.mount_point / "journal.sqlite")},
        }
        own = DaemonProcess(tmp_path / "daemon", config).start()
        try:
            fs.fill()
            probe = CliRunner(own)
            result = wait_until(lambda: (r := probe("health", "--exit-code")).exit_code == 10 and r, timeout=10)
            assert "storage     FAULT: host 0: disk full" in result.stdout, result
            fs.free()
            wait_until(lambda: probe("health", "--exit-code").exit_code == 0, timeout=10)
        finally:
            stopped = own.stop()
        assert (stopped.exit_code, sorted(stopped.leftovers)) == (0, [])


def test_exit_130_ctrl_c_stops_a_one_shot_wait_and_says_the_run_goes_on(cli, daemon, tmp_path):
    go = tmp_path / "go"
    started = cli("sagas", "start", "patient", f"go={go}", "--json")  # in flight until the go file exists
    cid = started.json()["correlation_id"]
    waiting = subprocess.Popen(
        [sys.executable, "-m", "sagaline.cli.main", "sagas", "wait", cid],
        env=cli.env,
        cwd=cli.directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: _has_socket(waiting.pid), timeout=20)  # past its imports: it has connected
    time.sleep(0.3)  # and asked
    waiting.send_signal(signal.SIGINT)
    _out, err = waiting.communicate(timeout=30)

    assert waiting.returncode == Exit.INTERRUPTED == 130, err
    assert "Traceback" not in err and err.strip().startswith("error (interrupted)")
    assert cli.json("sagas", "show", cid)["status"] == "running"  # only the waiting stopped
    go.touch()
    assert cli("sagas", "wait", cid).exit_code == Exit.OK


def test_exit_141_a_reader_that_stops_early_gets_no_traceback(cli):
    for _ in range(3):
        start(cli, "completes", wait=False)
    listing = subprocess.Popen(
        [sys.executable, "-m", "sagaline.cli.main", "sagas", "list", "--json"],
        env=cli.env,
        cwd=cli.directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    listing.stdout.close()  # `| head` that has read enough
    err = listing.stderr.read().decode()
    listing.wait(timeout=60)
    assert listing.returncode == Exit.BROKEN_PIPE == 141 and err == ""


# ----- stdout, stderr and JSON ------------------------------------------------------------------------


def test_json_shapes_have_stable_keys_and_iso_8601_utc_times(cli):
    cid = start(cli, "completes")
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
    listed = cli.json("sagas", "list", "--id", cid[:20])
    assert set(listed) == {"runs", "total", "offset"} and listed["total"] == 1
    row = listed["runs"][0]
    assert {
        "correlation_id",
        "saga",
        "status",
        "started_at",
        "finished_at",
        "failed_step",
        "error_code",
        "resumed_from",
        "successor",
    } <= set(row)
    assert iso.match(row["started_at"]) and iso.match(row["finished_at"])
    shown = cli.json("sagas", "show", cid)
    assert {
        "correlation_id",
        "saga",
        "status",
        "started_at",
        "finished_at",
        "inputs",
        "result",
        "error",
        "failed_step",
        "failed_compensations",
        "resumed_from",
        "successor",
        "steps",
    } <= set(shown)
    assert all(iso.match(s["started_at"]) for s in shown["steps"])
    events = cli.json("events", "tail", "--cid", cid)["events"]
    assert events and all(iso.match(e["at"]) for e in events)
    assert iso.match(cli.json("health")["daemon"]["started_at"])


def test_human_views_show_times_one_way_in_utc(cli):
    cid = start(cli, "completes")
    human = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ")
    listed = cli("sagas", "list", "--id", cid)
    assert human.search(listed.stdout.splitlines()[1])
    assert human.search(cli("events", "tail", "--cid", cid).stdout.splitlines()[1])


# ----- the messages of issue 14, each gone or corrected ------------------------------------------------


def test_resume_from_an_unknown_step_names_the_steps_not_a_needs_operator_refusal(cli):
    cid = start(cli, "fails")
    result = cli("sagas", "resume", cid, "--from", "nosuch")
    assert result.exit_code == 2
    assert "needs_operator" not in result.stderr and "unknown_step" not in result.stderr
    assert result.stderr.strip().startswith(
        f"error (invalid): --from 'nosuch': run {cid} (saga user_provisioning) "
        "has no such step; its steps: validate_email, generate_token"
    )


def test_retry_of_an_unknown_step_names_the_failed_compensations_not_nothing_to_do(cli):
    cid = start(cli, "stuck")
    assert cli.json("sagas", "show", cid)["status"] == "stuck"
    unknown = cli("sagas", "retry", cid, "--step", "nosuch")
    assert unknown.exit_code == 2 and "nothing to do" not in unknown.stderr and "has no such step" in unknown.stderr
    fine = cli("sagas", "retry", cid, "--step", "generate_token")
    assert (
        fine.exit_code == 2
        and "its compensation did not fail (it is undone); the failed ones: create_user" in fine.stderr
    )
    assert cli("sagas", "retry", cid[:18], "--step", "create_user").exit_code == 0


def test_a_step_error_shows_its_message_not_a_dangling_colon(cli):
    cid = start(cli, "fails")
    shown = cli("sagas", "show", cid)
    assert "community_join_failed: injected fault on JoinCommunity" in shown.stdout
    assert not re.search(r"\w+_failed:\s*$", shown.stdout, re.M)


def test_a_run_is_shown_whole_with_inputs_while_running_and_lineage_both_ways(cli):
    slow = start(cli, "slow", wait=False, email="whole@example.com")
    running = cli("sagas", "show", slow)
    assert 'inputs      email="whole@example.com"  magic_link_redirect="/"' in running.stdout, running.stdout
    failed = start(cli, "fails")
    resumed = cli("sagas", "resume", failed)
    assert resumed.exit_code == 0, resumed
    successor = re.search(r"resumed as run (\S+)", resumed.stdout).group(1)
    wait_until(lambda: cli.json("sagas", "show", successor)["status"] not in ("running", "draining", "rolling_back"))
    assert f"resumed by  {successor}" in cli("sagas", "show", failed).stdout
    assert f"resumes     {failed}" in cli("sagas", "show", successor).stdout
    steps = [line.split()[1] for line in cli("sagas", "show", failed).stdout.splitlines() if line[:1].isdigit()]
    assert steps.index("emit_onboarding_event") == len(steps) - 1  # never ran: last, not alphabetical


def test_list_pages_time_ranges_and_prefixes(cli):
    cids = [start(cli, "completes") for _ in range(3)]
    first = cli.json("sagas", "list", "--limit", "2")
    second = cli.json("sagas", "list", "--limit", "2", "--offset", "2")
    assert not {r["correlation_id"] for r in first["runs"]} & {r["correlation_id"] for r in second["runs"]}
    assert "next page: --offset 2" in cli("sagas", "list", "--limit", "2").stdout
    assert cli.json("sagas", "list", "--since", "2099-01-01")["total"] == 0
    recent = {r["correlation_id"] for r in cli.json("sagas", "list", "--since", "10m", "--limit", "500")["runs"]}
    assert set(cids) <= recent
    assert [r["correlation_id"] for r in cli.json("sagas", "list", "--id", cids[0][:30])["runs"]] == [cids[0]]


def test_a_piped_script_exits_with_its_last_commands_status(cli):
    unknown = "01a21fb3-6e64-70d5-8287-d58af4977801"
    assert cli("shell", input="health\nexit\n").exit_code == 0
    assert cli("shell", input="help\nexit\n").exit_code == 0
    assert cli("shell", input=f"sagas show {unknown}\n").exit_code == 9
    assert cli("shell", input=f"sagas show {unknown}\nexit\n").exit_code == 9
    assert cli("shell", input=f"sagas show {unknown}\nexit 0\n").exit_code == 0
    frob = cli("shell", input="frob\nhealth\n")
    assert frob.exit_code == 0
    assert frob.stderr.strip() == "error (usage): unknown command `frob`; type help for the list"
    assert "usage: COMMAND" not in frob.stderr


def test_help_in_the_shell_lists_no_connection_options_and_version_works(cli):
    helped = cli("shell", input="help\nhelp sagas list\n")
    assert "--admin-port" not in helped.stdout and "--host" not in helped.stdout and "--since WHEN" in helped.stdout
    import sagaline

    assert cli("--version").stdout.startswith(f"sagaline {sagaline.__version__}")


def test_registry_and_tree_show_names_pids_and_states_not_addresses(cli):
    for words in (["registry", "list"], ["registry", "lookup", "domain:gate"], ["tree"]):
        result = cli(*words)
        assert result.exit_code == 0 and "ActorAddr" not in result.stdout, result
    gate = cli("registry", "lookup", "domain:gate").stdout.splitlines()[1].split()
    assert gate[:2] == ["domain:gate", "root/gate"] and gate[2].isdigit() and gate[3] == "running"


def test_runs_trace_after_a_retry_shows_each_step_once(cli):
    cid = start(cli, "stuck")
    assert cli("sagas", "retry", cid).exit_code == 0
    wait_until(
        lambda: cli.json("sagas", "show", cid)["status"] == "stuck" and cli("runs", "trace", cid[:23]).exit_code == 0,
        timeout=30,
    )
    trace = wait_until(
        lambda: (lambda r: r if r.stdout.count("saga user_provisioning") >= 3 else None)(
            cli("runs", "trace", cid[:23])
        ),
        timeout=30,
    )
    assert trace.stdout.count("step validate_email") == 1, trace.stdout
    assert trace.stdout.count("step create_user") == 1
