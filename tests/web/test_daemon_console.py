"""The console served by the daemon (``[web] enabled``): it serves, it shows no secret, the daemon
restarts it when it dies and stops it when it stops, leaving no process."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest

from sagaline import Client
from sagaline.runtime.procs import pid_alive
from sagaline.testing.daemon import DaemonProcess

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(180)]
SMTP_PASSWORD = "hunter2-smtp-password"
CONFIG = {
    "web": {"enabled": True, "port": 0, "poll_s": 0.5},
    "domains": {
        "gate": {
            "smtp": {"host": "127.0.0.1", "port": 9, "username": "mailer", "password": SMTP_PASSWORD, "timeout": 1.0}
        }
    },
}


def _web_info(daemon, timeout=30.0, other_than=None):
    path = daemon.data_dir / "web.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = json.loads(path.read_text())
            if info["pid"] != other_than:
                return info
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"no web.json within {timeout} s; log: {(daemon.data_dir / 'logs' / 'web.log').read_text()}")


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("web-child"), CONFIG).start()
    yield process
    info = json.loads((process.data_dir / "web.json").read_text()) if (process.data_dir / "web.json").exists() else {}
    result = process.stop()
    assert result.exit_code == 0 and not result.leftovers, f"{result}: {process.stderr()[-2000:]}"
    assert not (process.data_dir / "web.json").exists()
    assert not info or not pid_alive(info["pid"]), "the console outlived the daemon"


def test_no_page_shows_the_installation_secret_or_a_configured_password(daemon):
    info = _web_info(daemon)
    with Client(daemon.data_dir) as client:
        failed = client.start("user_provisioning", {"email": "ada@example.com"}, wait=True)
    assert failed.outcome.status == "failed"  # its mail went to an SMTP server that is not there
    secret = (daemon.data_dir / "secret.key").read_bytes().strip()
    base = info["url"].rstrip("/")
    pages = [
        "/runs",
        f"/runs/{failed.correlation_id}",
        "/sagas",
        "/tree",
        "/events",
        *(f"/sagas/{name}" for name in ("user_provisioning", "upm_activation", "cerebros_nas")),
    ]
    for path in pages:
        status, body = _get(base + path)
        assert status == 200, (path, body[:500])
        assert SMTP_PASSWORD not in body and secret.decode() not in body, path
    assert "send_magic_link" in _get(f"{base}/runs/{failed.correlation_id}")[1]


def test_the_daemon_starts_the_console_again_when_it_dies(daemon):
    first = _web_info(daemon)
    os.kill(first["pid"], signal.SIGKILL)
    second = _web_info(daemon, other_than=first["pid"])
    assert second["pid"] != first["pid"]
    assert _get(second["url"].rstrip("/") + "/tree")[0] == 200
    log = daemon.stderr()
    assert re.search(r"web console exited with status -9; starting it again", log), log[-2000:]
