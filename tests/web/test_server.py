"""``sagaline web`` itself: its flags, its socket, a browser that leaves, and the daemon's console child."""

from __future__ import annotations

import argparse
import http.client
import socket
import threading
import time

from sagaline.cli.main import build_parser
from sagaline.runtime.guards import TOKEN_VARIABLE
from sagaline.runtime.procs import TAG_VARIABLE
from sagaline.web.app import create_app
from sagaline.web.process import ConsoleChild
from sagaline.web.server import EXIT_PORT, EXIT_USAGE, run_web
from sagaline.web.settings import WebSettings
from tests.web.fakes import FakeGateway


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["web", *argv])


def test_the_web_command_takes_the_daemons_and_its_own_address():
    args = _args(
        "--data-dir", "d", "--admin-port", "7730", "--bind-address", "127.0.0.2", "--port", "0", "--poll", "0.5"
    )
    assert (args.data_dir, args.admin_port, args.bind_address, args.port, args.poll) == ("d", 7730, "127.0.0.2", 0, 0.5)
    assert args.allow_remote is False


def test_a_non_loopback_address_without_allow_remote_is_refused_with_status_2(capsys):
    assert run_web(_args("--bind-address", "0.0.0.0")) == EXIT_USAGE
    assert "not a loopback address" in capsys.readouterr().err


def test_a_taken_port_is_refused_with_status_3(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert run_web(_args("--port", str(port))) == EXIT_PORT
    assert "cannot listen" in capsys.readouterr().err


def test_a_browser_that_leaves_stops_the_polling_of_its_view():
    import uvicorn

    gateway = FakeGateway()
    app = create_app(WebSettings(poll_s=0.1), gateway=gateway)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = app.state.console.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/live/tree")
        answer = connection.getresponse()
        assert answer.status == 200
        while not answer.fp.readline().startswith(b"data:"):
            pass
        assert len(app.state.console.hub) == 1
        connection.close()
        deadline = time.monotonic() + 10
        while len(app.state.console.hub) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(app.state.console.hub) == 0
        asked = len(gateway.requests)
        time.sleep(0.3)
        assert len(gateway.requests) == asked  # nobody looks: the daemon is asked nothing
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive()


def test_the_daemons_console_child_gets_no_control_token_and_follows_the_daemon(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_VARIABLE, "the-daemons-token")
    child = ConsoleChild(WebSettings(port=0), tmp_path, 7730, "127.0.0.1", tag="system-tag")
    command, env = child.command(), child.environment()
    assert TOKEN_VARIABLE not in env and env[TAG_VARIABLE] == "system-tag"
    assert command[command.index("--admin-port") + 1] == "7730"
    assert command[command.index("--exit-with-pid") + 1].isdigit() and "--allow-remote" not in command
    remote = ConsoleChild(WebSettings(host="0.0.0.0", allow_remote=True), tmp_path, 7730, "127.0.0.1")
    assert "--allow-remote" in remote.command()


def test_a_console_that_keeps_dying_is_given_up_after_its_restart_budget(tmp_path, monkeypatch):
    from sagaline.web import process as module

    child = ConsoleChild(WebSettings(port=0), tmp_path, 7730, "127.0.0.1")
    starts = []
    monkeypatch.setattr(child, "start", lambda: starts.append(1))

    class Dead:
        returncode = 1

        def poll(self):
            return 1

    child.process = Dead()
    for second in range(module.MAX_RESTARTS + 3):
        child.check(1000.0 + second)
    assert len(starts) == module.MAX_RESTARTS and child.given_up
