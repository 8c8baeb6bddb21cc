"""``python -m sagaline.runtime.launcher``: start a multiprocess actor system
from a clean process, report readiness, and exit.

Why a separate process: the admin of a multiprocess Thespian system is
forked from whoever creates it and inherits every open descriptor of that
process, its stdout/stderr included. A test runner or daemon that created
the admin itself would hand its pipes, sockets and files to every actor,
and a CI job reading its output would hang until the actors died. This
launcher is started with ``close_fds=True`` and its stdio pointed at a log
file, so the admin and the actors inherit nothing but that file.

Steps: read the installation secret from stdin (hex; never in argv or the
environment, so ``ps`` and every forked process's environment stay clean),
then point stdin at /dev/null; set the environment every forked process
inherits (the system tag for process accounting, ``THESPLOG_FILE``,
``THESPIAN_BASE_IPADDR``); allow the extra classes (``--allow``); apply
:mod:`sagaline.runtime.patches` with the secret (the authenticated
transport, inherited by the admin, the logger and every actor) and
:mod:`sagaline.runtime.guards`; create the system with a logging dict
(``logDefs=False`` breaks the multiprocess bases), wait until the admin and
its logger have written their pids, write ``ready.json`` (port, admin pid,
logger pid) atomically, exit 0. Any failure exits 1 with the traceback in
the log file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from sagaline.runtime.procs import TAG_VARIABLE

__all__ = ["main", "logging_config", "READY_FILE", "ADMIN_PIDFILE_VARIABLE", "LOGGER_PIDFILE_VARIABLE"]

#: Name of the file the launcher writes under the log directory when ready.
READY_FILE = "ready.json"
#: Environment variable naming the file where the admin writes its pid.
ADMIN_PIDFILE_VARIABLE = "SAGALINE_ADMIN_PIDFILE"
#: Environment variable naming the file where Thespian's logger process writes its pid.
LOGGER_PIDFILE_VARIABLE = "SAGALINE_LOGGER_PIDFILE"
_ADMIN_PID_WAIT_S = 10.0


def logging_config(log_dir: Path, level: str = "WARNING") -> dict:
    """Return the ``logging.config`` dict the actor system's logger uses.

    Records from every actor go through Thespian's logger process into
    ``<log_dir>/actors.log``. The level also throttles what actor processes
    forward at all, so keep it at WARNING unless debugging.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(log_dir / "actors.log"),
                "formatter": "plain",
                "level": level,
            }
        },
        "root": {"handlers": ["file"], "level": level},
    }


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sagaline.runtime.launcher")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--capabilities", default="{}", help="JSON object of extra capabilities")
    parser.add_argument("--allow", default="[]", help='JSON list of extra classes ("module:QualName") to unpickle')
    parser.add_argument(
        "--convention-period",
        type=float,
        default=None,
        help="seconds between the admin's re-registrations with its convention leader",
    )
    return parser.parse_args(argv)


def _read_secret() -> bytes:
    """The secret from stdin (hex), then stdin pointed at /dev/null so no actor holds the pipe."""
    text = sys.stdin.buffer.read(4096)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return bytes.fromhex(text.decode("ascii").strip())


def _prepare_environment(args: argparse.Namespace) -> Path:
    pidfile = args.log_dir / "admin.pid"
    (args.log_dir / "logger.pid").unlink(missing_ok=True)
    os.environ[LOGGER_PIDFILE_VARIABLE] = str(args.log_dir / "logger.pid")
    os.environ[TAG_VARIABLE] = args.tag
    os.environ["THESPLOG_FILE"] = str(args.log_dir / "thespian.log")
    os.environ.setdefault("THESPLOG_THRESHOLD", "WARNING")
    os.environ[ADMIN_PIDFILE_VARIABLE] = str(pidfile)
    if args.bind not in ("", "0.0.0.0"):
        os.environ["THESPIAN_BASE_IPADDR"] = args.bind
    return pidfile


def _patch_admin_pid_report() -> None:
    """Make the admin write its own pid (it is a grandchild: setsid + double fork)."""
    from thespian.system import multiprocCommon

    base = multiprocCommon.MultiProcAdmin

    class PidReportingAdmin(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            target = os.environ.get(ADMIN_PIDFILE_VARIABLE)
            if target:
                Path(target).write_text(str(os.getpid()))

    multiprocCommon.MultiProcAdmin = PidReportingAdmin


def _patch_logger_pid_report() -> None:
    """Make Thespian's logger process write its pid (the daemon watches it; Thespian's
    replacement of a dead logger gets a new address that running actors never learn)."""
    from thespian.system import multiprocCommon

    original = multiprocCommon.startupASLogger

    def _reporting_startup(*args, **kwargs):
        target = os.environ.get(LOGGER_PIDFILE_VARIABLE)
        if target and not Path(target).exists():  # the first logger only
            Path(target).write_text(str(os.getpid()))
        return original(*args, **kwargs)

    multiprocCommon.startupASLogger = _reporting_startup


def _wait_for_pid(pidfile: Path) -> int:
    deadline = time.monotonic() + _ADMIN_PID_WAIT_S
    while time.monotonic() < deadline:
        try:
            return int(pidfile.read_text())
        except (OSError, ValueError):
            time.sleep(0.005)
    raise RuntimeError(f"admin did not report its pid in {_ADMIN_PID_WAIT_S} s")


def _write_ready(log_dir: Path, port: int, admin_pid: int, logger_pid: int) -> None:
    tmp = log_dir / (READY_FILE + ".tmp")
    tmp.write_text(
        json.dumps({"port": port, "admin_pid": admin_pid, "logger_pid": logger_pid, "launcher_pid": os.getpid()})
    )
    tmp.replace(log_dir / READY_FILE)


def main(argv: list[str] | None = None) -> int:
    """Start the system described by ``argv``; return the exit status (0 ok, 1 failed)."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        secret = _read_secret()
        pidfile = _prepare_environment(args)
        from sagaline.runtime import guards
        from sagaline.runtime.allowlist import allow_classes
        from sagaline.runtime.patches import apply_patches, convention_period

        allow_classes(json.loads(args.allow))
        apply_patches(args.bind, secret=secret)
        if args.convention_period is not None:
            convention_period(args.convention_period)  # before the admin is forked: it inherits it
        guards.guard_admin()
        guards.guard_actor_exits()
        guards.attach_tokens()
        _patch_admin_pid_report()
        _patch_logger_pid_report()
        from thespian.actors import ActorSystem

        capabilities = dict(json.loads(args.capabilities), **{"Admin Port": args.port})
        ActorSystem(
            "multiprocTCPBase",
            capabilities,
            logDefs=logging_config(args.log_dir, args.log_level),
            transientUnique=True,
        )
        _write_ready(args.log_dir, args.port, _wait_for_pid(pidfile), _wait_for_pid(args.log_dir / "logger.pid"))
        return 0
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    _status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # _exit: skip interpreter teardown of the launcher's own ActorSystem
    # endpoint; the system lives on in the admin.
    os._exit(_status)
