"""``sagaline shell`` on a real pseudo-terminal (pexpect) against a real daemon: Ctrl-C during a ``--wait``
returns to the prompt and leaves the run going, Tab completes a live run id, Up searches the history."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest

from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.e2e.conftest import started_daemon, wait_until

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.multiproc

#: The Thunderline sagas, and ``patient``: in flight until its go file exists, however slow the machine.
APPS = {"apps": ["thunderline.app:app", "tests.support.hosts_app:app"]}
PROMPT = "sagaline>"  # prompt_toolkit moves the cursor past the trailing blank instead of writing it


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[DaemonProcess]:
    yield from started_daemon(tmp_path_factory.mktemp("terminal"), APPS)


@pytest.fixture
def shell(daemon, tmp_path) -> Iterator[object]:
    env = dict(
        CliRunner(daemon).env,
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        NO_COLOR="1",
        SAGALINE_HISTORY=str(tmp_path / "history"),
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sagaline.cli.main", "shell"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.expect_exact(PROMPT)
    try:
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_ctrl_c_during_a_wait_returns_to_the_prompt_and_tab_completes_the_live_run_id(shell, daemon, tmp_path):
    shell.sendline(f"sagas start patient go={tmp_path / 'go'} --wait")  # in flight until cancelled
    shell.expect(r"run (\S+) \(patient\) started")
    cid = shell.match.group(1)
    shell.expect(r"wait_for_go\s+retrying")  # the steps, live
    shell.sendintr()
    shell.expect_exact("^C cancelled")
    shell.expect_exact(PROMPT)  # the shell is still there
    status = CliRunner(daemon).json("sagas", "show", cid)["status"]
    assert status == "running"  # only the following stopped; the run goes on

    shell.send("sagas cancel ")
    shell.send("\t")
    shell.expect_exact(cid)  # the one live run, completed from the daemon
    shell.send("\r")
    shell.expect(rf"run {re.escape(cid)}: cancelled; it now rolls back")
    shell.expect_exact(PROMPT)
    wait_until(lambda: CliRunner(daemon).json("sagas", "show", cid)["status"] == "cancelled")


def test_ctrl_c_at_the_prompt_keeps_the_shell_and_up_searches_the_history(shell):
    shell.sendline("tree --depth 1")
    shell.expect(r"root\s+supervisor running")
    shell.expect_exact(PROMPT)
    shell.send("sagas li")
    shell.sendintr()  # clears the line, keeps the shell
    shell.expect_exact(PROMPT)
    shell.send("tre")
    shell.send("\x1b[A")  # Up: the history entry starting with what is typed
    shell.send("\r")
    shell.expect(r"root\s+supervisor running")
    shell.expect_exact(PROMPT)
    shell.sendline("exit 4")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 4
