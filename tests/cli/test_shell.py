"""The interactive shell: the same commands as the CLI, help, completion, and errors that do not end it."""

from __future__ import annotations

import io

from sagaline.cli.main import build_parser
from sagaline.cli.shell import AdminShell, complete_words, history_path
from sagaline.messages import admin as a


class FakeClient:
    def __init__(self):
        self.asked = []

    def request(self, request):
        self.asked.append(request)
        if isinstance(request, a.AdminShowRun):
            return a.AdminError(code="not_found", message="no run")
        if isinstance(request, a.AdminListRuns):
            return a.AdminResult(request="AdminListRuns", data={"runs": [], "total": 0})
        return a.AdminResult(request=type(request).__name__, data={"status": "ok", "registered": 1,
                                                                    "daemon": {}, "children": []})


def session(*lines: str) -> tuple[AdminShell, str, str]:
    out, err = io.StringIO(), io.StringIO()
    shell = AdminShell(FakeClient(), stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, stderr=err)
    shell.cmdloop(intro="")
    return shell, out.getvalue(), err.getvalue()


def test_each_line_is_a_cli_command_sent_over_the_shells_one_connection():
    shell, out, err = session("health", "sagas list --status running", "exit", "health")
    assert shell.client.asked == [a.AdminHealth(), a.AdminListRuns(status=["running"])]
    assert "status     ok" in out and err == ""


def test_errors_and_bad_lines_are_reported_and_the_shell_goes_on():
    shell, out, err = session("sagas show 0190", "sagas frobnicate", "run", "sagas start s 'unclosed", "health")
    assert "error (not_found): no run" in err
    assert "invalid choice: 'frobnicate'" not in out and "not available inside the shell" in err
    assert "No closing quotation" in err
    assert shell.client.asked[-1] == a.AdminHealth() and shell.last_status == 0


def test_a_command_that_fails_inside_the_cli_is_reported_and_the_shell_goes_on():
    class Broken(FakeClient):
        def request(self, request):
            raise RuntimeError("wires crossed")

    out, err = io.StringIO(), io.StringIO()
    shell = AdminShell(Broken(), stdin=io.StringIO("tree\nexit\n"), stdout=out, stderr=err)
    shell.cmdloop(intro="")
    assert "error: RuntimeError: wires crossed" in err.getvalue() and shell.last_status == 1


def test_end_of_input_leaves_the_shell():
    shell, out, _ = session("health")  # no exit: EOF ends it
    assert shell.client.asked == [a.AdminHealth()]


def test_help_lists_every_command_and_local_ones_work_without_the_daemon():
    shell, out, _ = session("help", "graph user_provisioning", "# a comment", "")
    assert "sagas start" in out and "policy decisions" in out and "exit" in out
    assert "flowchart TD" in out and shell.client.asked == []


def test_tab_completes_words_options_and_saga_names():
    parser = build_parser(shell=True)
    assert complete_words(parser, [], "sa") == ["sagas"]
    assert {"exit", "help", "tree", "health", "graph"} <= set(complete_words(parser, [], ""))
    assert complete_words(parser, ["sagas"], "re") == ["resume", "retry"]
    assert complete_words(parser, ["sagas", "list"], "--st") == ["--status"]
    assert "user_provisioning" in complete_words(parser, ["sagas", "start"], "user")
    assert complete_words(parser, ["graph"], "user_") == ["user_provisioning"]


def test_the_shell_completer_sees_the_line_before_the_cursor():
    shell = AdminShell(FakeClient(), stdin=io.StringIO(""), stdout=io.StringIO())
    assert shell.completedefault("ca", "sagas ca", 6, 8) == ["cancel", "catalog"]
    assert shell.completenames("hea") == ["health"]


def test_history_lives_where_the_environment_says():
    assert str(history_path({"SAGALINE_HISTORY": "/tmp/h"})) == "/tmp/h"
    assert history_path({}).name == ".sagaline_history"
