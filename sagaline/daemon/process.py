"""The daemon as an OS process: signals in, one ready line out, an exit status, a restart in place.

:func:`run_daemon` is what ``sagaline run`` and ``python run.py`` call: it
installs the stop request (SIGTERM/SIGINT, see
:mod:`sagaline.daemon.signals`) and ``kill -USR1`` stack dumps, starts a
:class:`~sagaline.daemon.app.Daemon`, prints the ready line, serves, stops,
and returns the exit status. With ``supervision.on_give_up = "restart"`` a
daemon whose watched process died starts itself again in place (the same
pid and command line, :func:`os.execv`) while the budget of
:func:`~sagaline.supervisors.strategy.restart_allowed` holds.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import time
from typing import Any

from sagaline.daemon import liveness
from sagaline.daemon.app import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNHEALTHY,
    UNHEALTHY,
    Daemon,
    DaemonError,
)
from sagaline.daemon.config import ConfigError, DaemonConfig
from sagaline.daemon.signals import StopRequest
from sagaline.supervisors.strategy import restart_allowed

__all__ = ["run_daemon"]

_log = logging.getLogger("sagaline.daemon")


def run_daemon(config: DaemonConfig, out: Any = None) -> int:
    """Start, serve until SIGTERM/SIGINT, stop; return the exit status.

    0: stopped cleanly; 1: failed to start, or processes had to be killed;
    3: refused (port in use, data directory held by another daemon); 70
    (:data:`EXIT_UNHEALTHY`): a watched process died (with ``on_give_up =
    "restart"`` the daemon first restarts itself in place, within its
    budget). Prints one ready line to ``out`` (stdout by default) with the
    admin address.
    """
    from sagaline.apps import AppError
    from sagaline.runtime.errors import SecretError
    from sagaline.runtime.pidfile import DataDirBusy
    from sagaline.runtime.private import PrivacyError

    out = out or sys.stdout
    if hasattr(faulthandler, "register"):
        # An operator's (and a hung test's) way to see where a stuck daemon is.
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    stop = StopRequest()
    stop.install()
    daemon = Daemon(config)
    try:
        try:
            info = daemon.start()
        except (DaemonError, DataDirBusy, ConfigError, AppError, PrivacyError, SecretError) as exc:
            _log.error("not started: %s", exc)
            print(f"sagaline: {'app error: ' if isinstance(exc, AppError) else ''}{exc}", file=sys.stderr)
            if isinstance(exc, (ConfigError, AppError, PrivacyError, SecretError)):
                return EXIT_CONFIG
            return getattr(exc, "exit_code", EXIT_REFUSED)
        except Exception as exc:
            _log.error("failed to start: %s: %s", type(exc).__name__, exc)
            print(f"sagaline: the daemon failed to start: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"sagaline daemon ready: admin {info.bind_address}:{info.admin_port} pid {info.pid} "
            f"data {info.data_dir} (stop: Ctrl-C or kill -TERM {info.pid})",
            file=out,
            flush=True,
        )
        reason = daemon.serve(stop)
        report = daemon.stop(stop, reason)
        if reason == UNHEALTHY:
            _maybe_restart_in_place(config, stop)
            _log.error("exiting with status %d so that the process manager starts the daemon again", EXIT_UNHEALTHY)
            return EXIT_UNHEALTHY
        return EXIT_OK if report.clean else EXIT_FAILED
    finally:
        stop.close()


def _maybe_restart_in_place(config: DaemonConfig, stop: StopRequest) -> None:
    """With ``on_give_up = "restart"`` and budget left: exec this same command line (same pid).

    Returns only when no restart is due (the caller exits).
    """
    supervision = config.supervision
    if supervision.on_give_up != "restart" or stop.requested:
        return
    earlier, now = liveness.parse_restarts(os.environ.get(liveness.RESTARTS_VARIABLE)), time.monotonic()
    if not restart_allowed(earlier, now, supervision.max_daemon_restarts, supervision.daemon_restart_window_s):
        _log.error(
            "not restarting in place: more than %d restarts within %g s",
            supervision.max_daemon_restarts,
            supervision.daemon_restart_window_s,
        )
        return
    kept = tuple(t for t in earlier if now - t < supervision.daemon_restart_window_s) + (now,)
    os.environ[liveness.RESTARTS_VARIABLE] = liveness.format_restarts(kept)
    _log.warning(
        "restarting in place (on_give_up = restart; restart %d within %g s)",
        len(kept),
        supervision.daemon_restart_window_s,
    )
    stop.close()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    os.execv(sys.executable, sys.orig_argv)
