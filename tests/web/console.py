"""``sagaline web`` in a subprocess for tests: started against a daemon's data directory on a
free port, its URL read from the line it prints, stopped with SIGTERM (it must exit 0)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sagaline.testing.daemon import DaemonProcess, _environment


class WebProcess:
    """One console process for ``daemon``."""

    def __init__(self, daemon: DaemonProcess, directory: Path, *flags: str) -> None:
        self.daemon, self.directory, self.flags = daemon, Path(directory), list(flags)
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.exit_code: int | None = None

    @property
    def log(self) -> Path:
        return self.directory / "web.log"

    def start(self, timeout: float = 30.0) -> WebProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "sagaline.cli.main",
            "web",
            "--data-dir",
            str(self.daemon.data_dir),
            "--port",
            "0",
            "--poll",
            "0.3",
            *self.flags,
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_environment(None),
                cwd=self.directory,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"sagaline web console: (http://\S+)", self.log.read_text(errors="replace"))
            if found:
                self.url = found.group(1).rstrip("/")
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"sagaline web exited {self.process.returncode}: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sagaline web printed no URL within {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait; SIGKILL if it does not end (then the exit code is None)."""
        if self.process is None or self.exit_code is not None:
            return self.exit_code
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.exit_code
