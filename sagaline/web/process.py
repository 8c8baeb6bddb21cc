"""The web console as the daemon's child process (``[web] enabled = true``).

The daemon starts ``sagaline web`` once it is ready (``daemon.json``
written), pointed at its own admin port and data directory, and stops it
first when it stops (SIGTERM, then SIGKILL after a few seconds). The
console is a client like any other: it gets neither the daemon's control
token nor any of its descriptors (``close_fds``), only the environment
without the token, plus the actor system's process tag, so that whatever
ends the actor system (the daemon's stop, the admin endpoint noticing the
daemon was killed) ends the console too; ``--exit-with-pid`` makes it end
by itself when the daemon is gone. Its output goes to
``<data_dir>/logs/web.log``; once it serves, it writes
``<data_dir>/web.json`` (``pid``, ``url``, ``port``).

A console that exits by itself is started again by the daemon's watch loop
(:meth:`ConsoleChild.check`), at most :data:`MAX_RESTARTS` times within
:data:`RESTART_WINDOW_S`; after that it is left down and the daemon says so
in its log (the daemon itself is unaffected: the console is no part of it).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from sagaline.runtime.guards import TOKEN_VARIABLE
from sagaline.runtime.procs import TAG_VARIABLE
from sagaline.supervisors.strategy import restart_allowed
from sagaline.web.settings import WebSettings

__all__ = ["ConsoleChild", "INFO_FILE", "MAX_RESTARTS", "RESTART_WINDOW_S"]

_log = logging.getLogger("sagaline.daemon")

#: The file the console writes once it serves: pid, url, port.
INFO_FILE = "web.json"
#: Restarts of a console that keeps exiting, within the window, before the daemon gives up on it.
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0
#: Seconds the console gets to stop after SIGTERM (its live streams close within 2 s).
STOP_TIMEOUT_S = 5.0


class ConsoleChild:
    """The console process of one daemon."""

    def __init__(
        self, settings: WebSettings, data_dir: Path, admin_port: int, daemon_host: str, tag: str | None = None
    ) -> None:
        self.settings, self.data_dir = settings, Path(data_dir)
        self.admin_port, self.daemon_host = admin_port, daemon_host
        self.tag = tag
        self.process: subprocess.Popen | None = None
        self.restarts: tuple[float, ...] = ()
        self.given_up = False

    @property
    def info_file(self) -> Path:
        return self.data_dir / INFO_FILE

    def command(self) -> list[str]:
        settings = self.settings
        command = [
            sys.executable,
            "-m",
            "sagaline.cli.main",
            "web",
            "--data-dir",
            str(self.data_dir),
            "--admin-port",
            str(self.admin_port),
            "--host",
            self.daemon_host,
            "--bind-address",
            settings.host,
            "--port",
            str(settings.port),
            "--poll",
            str(settings.poll_s),
            "--info-file",
            str(self.info_file),
            "--exit-with-pid",
            str(os.getpid()),
        ]
        return command + (["--allow-remote"] if settings.allow_remote else [])

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}
        if self.tag:
            env[TAG_VARIABLE] = self.tag
        return env

    def start(self) -> None:
        """Start the console (it serves a moment later; see ``web.json`` and ``logs/web.log``)."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.info_file.unlink(missing_ok=True)
        with open(logs / "web.log", "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.environment(),
                close_fds=True,
                cwd=self.data_dir,
            )
        _log.info(
            "web console (pid %d) starting on %s; its log: %s",
            self.process.pid,
            self.settings.url() if self.settings.port else f"http://{self.settings.host}:<free port>/",
            logs / "web.log",
        )

    def check(self, now: float) -> None:
        """Start the console again if it exited by itself (within the restart budget)."""
        if self.process is None or self.process.poll() is None or self.given_up:
            return
        code = self.process.returncode
        if not restart_allowed(self.restarts, now, MAX_RESTARTS, RESTART_WINDOW_S):
            self.given_up = True
            _log.error(
                "web console exited with status %s, more than %d times within %g s: not starting it "
                "again (see logs/web.log)",
                code,
                MAX_RESTARTS,
                RESTART_WINDOW_S,
            )
            return
        self.restarts = tuple(t for t in self.restarts if now - t < RESTART_WINDOW_S) + (now,)
        _log.warning("web console exited with status %s; starting it again", code)
        self.start()

    def stop(self) -> int | None:
        """Stop it (SIGTERM, then SIGKILL); return its exit status (None: it had to be killed)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            _log.warning("web console (pid %d) did not stop within %g s: killed", process.pid, STOP_TIMEOUT_S)
            code = None
        self.info_file.unlink(missing_ok=True)
        return code
