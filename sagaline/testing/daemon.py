"""A real sagaline daemon in a subprocess, and a CLI runner, for integration tests.

:class:`DaemonProcess` starts ``python -m sagaline.cli.main run`` on a free
admin port with its own data directory, waits until it serves
(``daemon.json`` names its pid and it printed its ready line), and stops it with a signal, then checks
that no process of its actor system is left (SIGKILLing, and reporting,
any that is). Its stdout and stderr go to files beside the data directory,
never to pipes: a pipe a process tree inherits would hang the reader
(thespian-notes.md, fd inheritance).

:class:`CliRunner` runs ``sagaline`` commands as subprocesses against one
daemon and returns :class:`CliResult` (exit code, stdout, stderr); ``shell``
feeds a script to ``sagaline shell``.

:func:`toml_text` writes a config mapping as TOML (tables, arrays of tables,
scalars and lists of scalars: what the daemon's config uses).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagaline.runtime.pidfile import DaemonInfo, pid_alive, read_info
from sagaline.runtime.procs import kill_all, pids_with_tag

__all__ = ["DaemonProcess", "DaemonStartFailed", "CliRunner", "CliResult", "StopResult", "toml_text"]

#: Seconds a daemon gets to serve after it was started.
START_TIMEOUT_S = 90.0
#: The start of the line the daemon prints once it serves.
READY_LINE = "sagaline daemon ready:"
#: Seconds a daemon gets to exit after SIGTERM.
STOP_TIMEOUT_S = 60.0


class DaemonStartFailed(RuntimeError):
    """The daemon exited or did not serve in time; the message quotes its stderr."""


@dataclass(frozen=True)
class StopResult:
    """How a daemon ended: its exit code (None: it had to be killed) and the
    pids of its actor system that were still alive afterwards (then killed)."""

    exit_code: int | None
    leftovers: frozenset[int]


@dataclass(frozen=True)
class CliResult:
    """One CLI run."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The stdout parsed as JSON."""
        return json.loads(self.stdout)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(str(value))


def toml_text(config: Mapping[str, Any], prefix: str = "") -> str:
    """TOML for ``config`` (nested mappings become tables, lists of mappings arrays of tables)."""
    lines = [
        f"{key} = {_scalar(value)}"
        for key, value in config.items()
        if not isinstance(value, Mapping) and not _is_table_list(value)
    ]
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            lines += ["", f"[{name}]", toml_text(value, name + ".")]
        elif _is_table_list(value):
            for item in value:
                lines += ["", f"[[{name}]]", toml_text(item, name + ".")]
    return "\n".join(line for line in lines).strip() + "\n"


def _is_table_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The test's environment without SAGALINE_* settings (the daemon gets its own), plus its import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGALINE_")}
    paths = [os.path.abspath(p or os.curdir) for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if os.path.isdir(p)))
    env.update(extra or {})
    return env


class DaemonProcess:
    """One daemon subprocess.

    Args:
        directory: A fresh directory: ``data/`` (the data dir), ``config.toml``
            and the daemon's ``stdout.log`` / ``stderr.log`` go there.
        config: The config file's content (a mapping), or None.
        flags: More ``sagaline run`` flags (``["--hosts", "2"]``).
        env: Extra environment variables.
    """

    def __init__(
        self,
        directory: Path,
        config: Mapping[str, Any] | None = None,
        flags: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.data_dir = self.directory / "data"
        self.config = dict(config or {})
        self.flags = list(flags or [])
        self.env = _environment(env)
        self.process: subprocess.Popen | None = None
        self.info: DaemonInfo | None = None
        self.result: StopResult | None = None

    @property
    def admin_port(self) -> int:
        return int(self.info.admin_port or 0) if self.info else 0

    @property
    def stderr_path(self) -> Path:
        return self.directory / "stderr.log"

    def command(self) -> list[str]:
        """The command line that starts the daemon."""
        command = [
            sys.executable,
            "-m",
            "sagaline.cli.main",
            "run",
            "--data-dir",
            str(self.data_dir),
            "--admin-port",
            "0",
            *self.flags,
        ]
        if self.config:
            path = self.directory / "config.toml"
            path.write_text(toml_text(self.config))
            command += ["--config", str(path)]
        return command

    def start(self, timeout: float = START_TIMEOUT_S) -> DaemonProcess:
        """Start it and wait until it serves.

        Raises:
            DaemonStartFailed: It exited first or did not serve within ``timeout`` (it is then stopped).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "stdout.log", "ab") as out, open(self.stderr_path, "ab") as err:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.directory,
                close_fds=True,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = read_info(self.data_dir)
            if info is not None and info.pid == self.process.pid and self._said_ready():
                self.info = info
                return self
            if self.process.poll() is not None:
                raise DaemonStartFailed(f"the daemon exited with {self.process.returncode}: {self.stderr()[-3000:]}")
            time.sleep(0.05)
        self.stop()
        raise DaemonStartFailed(f"the daemon did not serve within {timeout} s: {self.stderr()[-3000:]}")

    def _said_ready(self) -> bool:
        """True once the ready line is in stdout.log (printed right after daemon.json is written)."""
        try:
            return READY_LINE in (self.directory / "stdout.log").read_text(errors="replace")
        except OSError:
            return False

    def secret(self) -> bytes:
        """The daemon's installation secret (to ``join_system`` it from the test process)."""
        from sagaline.runtime.secret import SECRET_FILE, load_secret

        return load_secret(self.data_dir / SECRET_FILE)

    def stderr(self) -> str:
        """What the daemon wrote to stderr (its log) so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def pids(self) -> set[int]:
        """The daemon's pid (while alive) and every process of its actor system."""
        found = set(pids_with_tag(self.info.tag)) if self.info and self.info.tag else set()
        if self.process is not None and pid_alive(self.process.pid):
            found.add(self.process.pid)
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> StopResult:
        """Send ``sig``, wait for the exit, then SIGKILL whatever of it is left (reported in
        ``leftovers``). Only the first call acts; later ones return its :attr:`result`."""
        if self.result is not None:
            return self.result
        if self.process is None:
            return StopResult(None, frozenset())
        code: int | None = self.process.poll()
        if code is None:
            self.process.send_signal(sig)
            try:
                code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                code = None
        leftovers: set[int] = set()
        if self.info is not None and self.info.tag:
            leftovers = pids_with_tag(self.info.tag)
            kill_all(self.info.tag)
        self.result = StopResult(code, frozenset(leftovers))
        return self.result


class CliRunner:
    """Runs ``sagaline`` commands against one daemon (found through its data directory).

    Args:
        daemon: The daemon to talk to (None: no daemon; commands see none running).
        directory: Where outputs are written (default: the daemon's directory).
    """

    def __init__(self, daemon: DaemonProcess | None = None, directory: Path | None = None) -> None:
        self.daemon = daemon
        self.directory = Path(directory or (daemon.directory if daemon else Path.cwd()))
        data_dir = daemon.data_dir if daemon else self.directory / "no-daemon"
        self.env = _environment(
            {"SAGALINE_DATA_DIR": str(data_dir), "SAGALINE_HISTORY": str(self.directory / "history")}
        )
        self._runs = 0

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120.0) -> CliResult:
        """Run ``sagaline *args`` (``input`` on its stdin); return what it did."""
        self._runs += 1
        base = self.directory / f"cli-{self._runs}"
        base.with_suffix(".in").write_text(input or "")
        with (
            open(base.with_suffix(".in")) as stdin,
            open(base.with_suffix(".out"), "w") as out,
            open(base.with_suffix(".err"), "w") as err,
        ):
            done = subprocess.run(
                [sys.executable, "-m", "sagaline.cli.main", *args],
                stdin=stdin,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.directory,
                timeout=timeout,
            )
        return CliResult(done.returncode, base.with_suffix(".out").read_text(), base.with_suffix(".err").read_text())

    def json(self, *args: str, timeout: float = 120.0) -> Any:
        """Run ``sagaline *args --json``; return the parsed output.

        Raises:
            AssertionError: The command failed: any exit status but 0 and 5 (5: a
                waited-for run ended without completing; its outcome is returned).
        """
        result = self(*args, "--json", timeout=timeout)
        assert result.exit_code in (0, 5), (
            f"sagaline {' '.join(args)} exited {result.exit_code}: {result.stdout}{result.stderr}"
        )
        return result.json()

    def shell(self, *lines: str, timeout: float = 120.0) -> CliResult:
        """Run ``sagaline shell`` with ``lines`` as its input (an ``exit`` is appended)."""
        return self("shell", input="\n".join([*lines, "exit"]) + "\n", timeout=timeout)
