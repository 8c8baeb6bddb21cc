"""The interactive shell: the same commands as the CLI, help, completion from specs, and errors that do not end it.

The shell on a real terminal (Ctrl-C, Tab against a live daemon) is driven by
``tests/e2e/test_e2e_shell_terminal.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sagaline.cli.commands import RUN_STATUSES
from sagaline.cli.complete import LiveNames, candidates
from sagaline.cli.shell import SHELL_COMMANDS, AdminShell, history_path
from sagaline.messages import admin as a

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


class FakeClient:
    def __init__(self):
        self.asked = []

    def request(self, request):
        self.asked.append(request)
        if isinstance(request, a.AdminShowRun):
            return a.AdminError(code="not_found", message="no run")
        if isinstance(request, a.AdminListRuns):
            return a.AdminResult(request="AdminListRuns", data={"runs": [], "total": 0})
        return a.AdminResult(
            request=type(request).__name__, data={"status": "ok", "registered": 1, "daemon": {}, "children": []}
        )


def session(*lines: str) -> tuple[AdminShell, int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    shell = AdminShell(FakeClient(), stdout=out, stderr=err, names=FakeNames())
    status = shell.run_script(line + "\n" for line in lines)
    return shell, status, out.getvalue(), err.getvalue()


def test_each_line_is_a_cli_command_sent_over_the_shells_one_connection():
    shell, status, out, err = session("health", "sagas list --status running", "exit", "health")
    assert shell.client.asked == [a.AdminHealth(), a.AdminListRuns(status=["running"])]
    assert "status      ok" in out and err == "" and status == 0


def test_errors_and_bad_lines_are_one_line_each_and_the_shell_goes_on():
    shell, status, _out, err = session(
        f"sagas show {CID}", "sagas frobnicate", "frob", "run", "sagas start s 'unclosed", "health"
    )
    lines = err.splitlines()
    assert lines[0] == "error (not_found): no run"
    assert lines[1] == (
        "error (usage): unknown command `sagas frobnicate` (sagas commands: list, catalog, start, "
        "show, wait, cancel, retry, resume); type help for the list"
    )
    assert lines[2] == "error (usage): unknown command `frob`; type help for the list"
    assert lines[3] == "error (usage): `run` is not available inside the shell"
    assert lines[4].startswith("error (usage): No closing quotation")
    assert "usage: COMMAND" not in err and shell.client.asked[-1] == a.AdminHealth() and status == 0


def test_a_usage_error_inside_the_shell_names_the_command_not_an_empty_program():
    _, status, _, err = session("sagas list --limit")
    assert err.strip() == ("error (usage): sagas list: argument --limit: expected one argument (see `help sagas list`)")
    assert status == 2


def test_a_command_that_fails_inside_the_cli_is_reported_and_the_shell_goes_on():
    class Broken(FakeClient):
        def request(self, request):
            raise RuntimeError("wires crossed")

    out, err = io.StringIO(), io.StringIO()
    shell = AdminShell(Broken(), stdout=out, stderr=err, names=FakeNames())
    assert shell.run_script(["tree\n", "help\n", "tree\n"]) == 1
    assert err.getvalue().splitlines() == ["error (internal): RuntimeError: wires crossed"] * 2


@pytest.mark.parametrize(
    "lines, status",
    [
        (["health"], 0),
        ([f"sagas show {CID}"], 9),
        ([f"sagas show {CID}", "exit"], 9),
        ([f"sagas show {CID}", "health", "exit"], 0),
        (["health", "exit 3"], 3),
        ([f"sagas show {CID}", "quit 0"], 0),
        (["sagas list --status nope", "# a comment", ""], 2),
        (["exit", "sagas list --status nope"], 0),
    ],
)
def test_a_script_exits_with_the_status_of_its_last_command_or_of_exit_n(lines, status):
    assert session(*lines)[1] == status


def test_help_lists_every_command_without_the_connection_options_that_mean_nothing_inside():
    _, _, out, _ = session("help", "help sagas show", "help graph")
    assert "sagas start" in out and "app run" in out and "exit [N]" in out and "runs trace" in out
    assert "--admin-port" not in out and "--data-dir D" not in out and "--host" not in out
    assert "usage: sagas show [-h] [--json] CID" in out and "usage: graph [-h] [--mermaid]" in out


def test_local_commands_run_without_the_daemon():
    shell, status, out, _ = session("graph user_provisioning --mermaid", "# a comment", "")
    assert out.startswith("flowchart TD") and shell.client.asked == [] and status == 0


class FakeNames:
    def sagas(self):
        return ["cerebros_nas", "user_provisioning"]

    def inputs(self, saga):
        return [("email", "string"), ("magic_link_redirect", "string, optional")] if saga == "user_provisioning" else []

    def runs(self, kind):
        rows = {
            "run": [(CID, "s completed"), ("01a21fb3-9999-70d5-8287-d58af4977855", "s running")],
            "run:live": [("01a21fb3-9999-70d5-8287-d58af4977855", "s running")],
            "run:stuck": [],
        }
        return rows.get(kind, [])

    def steps(self, run):
        return ["create_user", "provision_vault"] if run.startswith("01a2") else []

    def app_commands(self):
        return ["register_snapshot", "record_drift"]

    def app_args(self, command):
        return [("snapshot_id", "string"), ("version", "integer")]


def texts(words, current=""):
    return [c.text for c in candidates(SHELL_COMMANDS, words, current, FakeNames(), RUN_STATUSES)]


def test_tab_completes_command_words_and_the_shells_own():
    assert texts([], "sa") == ["sagas"]
    assert {"exit", "help", "tree", "health", "graph", "runs", "quit"} <= set(texts([]))
    assert texts(["sagas"], "re") == ["resume", "retry"]
    assert texts(["help", "sagas"], "ca") == ["cancel", "catalog"]


def test_tab_completes_options_once_each_but_repeatable_ones_again():
    assert texts(["sagas", "list"], "--st") == ["--status"]
    assert "--saga" not in texts(["sagas", "list", "--saga", "x"], "--")
    assert "--status" in texts(["sagas", "list", "--status", "failed"], "--")


def test_tab_completes_saga_names_and_a_sagas_input_names_not_yet_given():
    assert texts(["sagas", "start"], "user") == ["user_provisioning"]
    assert texts(["graph"]) == ["cerebros_nas", "user_provisioning"]
    assert texts(["sagas", "start", "user_provisioning"]) == ["email=", "magic_link_redirect="]
    assert texts(["sagas", "start", "user_provisioning", "email=a@b.c"]) == ["magic_link_redirect="]
    assert texts(["sagas", "start", "user_provisioning", "--timeout"]) == []


def test_tab_completes_live_run_ids_for_the_commands_that_take_them():
    assert texts(["sagas", "cancel"]) == ["01a21fb3-9999-70d5-8287-d58af4977855"]
    assert texts(["sagas", "show"], "01a21fb3-6") == [CID]
    assert texts(["sagas", "retry"]) == []  # no stuck run
    assert texts(["events", "tail", "--cid"], "01a21fb3-9") == ["01a21fb3-9999-70d5-8287-d58af4977855"]
    assert texts(["runs", "trace"], "01a21fb3-6") == [CID]


def test_tab_completes_a_runs_steps_statuses_and_app_commands():
    assert texts(["sagas", "resume", CID, "--from"], "pro") == ["provision_vault"]
    assert texts(["sagas", "list", "--status"], "st") == ["stuck"]
    assert texts(["sagas", "list", "--status"], "failed,st") == ["failed,stuck"]
    assert texts(["app", "run"], "rec") == ["record_drift"]
    assert texts(["app", "run", "record_drift"], "ver") == ["version="]


def test_live_names_ask_the_daemon_and_reuse_the_answer_for_a_moment():
    from sagaline.client.results import RunList

    class Daemon:
        calls = 0

        def list(self, **query):
            Daemon.calls += 1
            assert query["status"] == ["running", "draining", "rolling_back"]
            return RunList(runs=[{"correlation_id": CID, "saga": "s", "status": "running", "started_at": 1.0}], total=1)

    now = [0.0]
    names = LiveNames(Daemon(), runs_ttl_s=1.0, clock=lambda: now[0])
    assert names.runs("run:live") == [(CID, "s running")]
    names.runs("run:live")
    now[0] = 2.0
    names.runs("run:live")
    assert Daemon.calls == 2


def test_live_names_offer_nothing_when_the_daemon_fails():
    class Down:
        def list(self, **query):
            raise RuntimeError("gone")

        def request(self, request):
            raise RuntimeError("gone")

    names = LiveNames(Down())
    assert names.runs("run") == [] and names.sagas() == [] and names.steps(CID) == []


def test_the_completer_never_reads_argparse_internals():
    import sagaline.cli

    source = "\n".join(p.read_text() for p in Path(sagaline.cli.__file__).parent.glob("*.py"))
    assert "_actions" not in source and "_SubParsersAction" not in source and "_print_message" not in source


def test_history_lives_where_the_environment_says():
    assert str(history_path({"SAGALINE_HISTORY": "/tmp/h"})) == "/tmp/h"
    assert history_path({}).name == ".sagaline_history"
