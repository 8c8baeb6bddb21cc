"""``sagaline web``: serve the console with uvicorn on a socket bound here.

::

    sagaline web [--data-dir D | --admin-port P [--host H]] [--bind-address 127.0.0.1] [--port 7721]
                 [--allow-remote] [--poll 1.0]

The console finds the daemon as the CLI does (``--data-dir``'s
``daemon.json``, ``SAGALINE_ADMIN_PORT``, ...) and keeps finding it across
daemon restarts; it reads spans from that data directory's ``telemetry/``.
It binds its socket itself (``--port 0`` picks a free one), prints one line
with its URL, serves until SIGINT/SIGTERM (open live streams are closed
within 2 s) and exits 0. Exit 2: a bad flag (a non-loopback address without
``--allow-remote``) or the ``web`` extra is not installed; 3: the port is
taken.

The daemon's child (``[web] enabled``) also passes ``--info-file`` (where
to write ``{"pid", "url", "port"}`` once serving) and ``--exit-with-pid``
(end when the daemon is gone, even if it was killed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from sagaline.web.settings import DEFAULT_WEB_PORT, WebSettings

__all__ = ["add_arguments", "run_web", "serve", "bind"]

EXIT_OK, EXIT_USAGE, EXIT_PORT = 0, 2, 3
#: Seconds open connections (live streams) get when the console stops.
GRACEFUL_S = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``sagaline web``'s flags."""
    daemon = parser.add_argument_group("the daemon (found as the CLI finds it)")
    daemon.add_argument("--data-dir", help="the daemon's data directory (daemon.json, telemetry/; default ./data)")
    daemon.add_argument("--admin-port", type=int, help="the daemon's admin port (default: from daemon.json)")
    daemon.add_argument("--host", help="the daemon's address (default 127.0.0.1)")
    web = parser.add_argument_group("the console")
    web.add_argument(
        "--bind-address",
        default="127.0.0.1",
        help="listen here (default 127.0.0.1; another address needs --allow-remote)",
    )
    web.add_argument(
        "--port", type=int, default=DEFAULT_WEB_PORT, help=f"its port (default {DEFAULT_WEB_PORT}; 0 picks a free one)"
    )
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --bind-address: the "
        "console has no login, whoever reaches it can "
        "start and cancel runs",
    )
    web.add_argument("--poll", type=float, default=None, help="seconds between polls of a live view (default 1)")
    parser.add_argument("--info-file", help=argparse.SUPPRESS)
    parser.add_argument("--exit-with-pid", type=int, help=argparse.SUPPRESS)


def run_web(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``sagaline web``: settings from the flags, then :func:`serve`."""
    out, err = out or sys.stdout, err or sys.stderr
    fields: dict[str, Any] = {"host": args.bind_address, "port": args.port, "allow_remote": args.allow_remote}
    if args.poll is not None:
        fields["poll_s"] = args.poll
    try:
        settings = WebSettings(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(
            f"sagaline: web: {'.'.join(map(str, first['loc']))}: {first['msg'].removeprefix('Value error, ')}", file=err
        )
        return EXIT_USAGE
    return serve(
        settings,
        data_dir=args.data_dir,
        admin_port=args.admin_port,
        host=args.host,
        info_file=args.info_file,
        watch_pid=args.exit_with_pid,
        out=out,
        err=err,
    )


def bind(settings: WebSettings) -> socket.socket:
    """The console's listening socket (``SO_REUSEADDR``; port 0 picks one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1" if settings.host == "localhost" else settings.host, settings.port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def serve(
    settings: WebSettings,
    *,
    data_dir: Any = None,
    admin_port: int | None = None,
    host: str | None = None,
    info_file: Any = None,
    watch_pid: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or until ``watch_pid`` is gone); return the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        import uvicorn

        from sagaline.web.app import create_app
    except ImportError as exc:
        print(f"sagaline: the web console needs the web extra (pip install 'sagaline[web]'): {exc}", file=err)
        return EXIT_USAGE
    from sagaline.telemetry.timeline import telemetry_directory

    try:
        sock = bind(settings)
    except OSError as exc:
        print(f"sagaline: web: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=err)
        return EXIT_PORT
    port = sock.getsockname()[1]
    app = create_app(
        settings, data_dir=data_dir, admin_port=admin_port, host=host, telemetry_dir=telemetry_directory(data_dir)
    )
    app.state.console.port = port
    server = _Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_S,
            server_header=False,
        )
    )
    url = settings.url(port)
    if not settings.host.startswith("127.") and settings.host != "localhost":
        print(
            f"sagaline: web: WARNING: serving on {settings.host} (--allow-remote): the console has no login; "
            "anyone who reaches it can start and cancel runs",
            file=err,
            flush=True,
        )
    print(f"sagaline web console: {url} (stop: Ctrl-C)", file=out, flush=True)
    if info_file:
        _write_info(Path(info_file), {"pid": os.getpid(), "url": url, "port": port})
    _stop_on_signals(server)
    if watch_pid:
        threading.Thread(target=_exit_with, args=(server, watch_pid), daemon=True, name="watch-daemon").start()
    began = time.monotonic()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if info_file:
            Path(info_file).unlink(missing_ok=True)
    sent = app.state.console.gateway.sent
    print(
        f"sagaline web console stopped after {time.monotonic() - began:.1f} s; it sent {sent} admin requests",
        file=out,
        flush=True,
    )
    return EXIT_OK


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server without its signal handling (it re-raises SIGTERM at the end, so the
        process would die by the signal instead of exiting 0): :func:`_stop_on_signals` stops it."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def _Server(config: Any) -> Any:
    return _server_class()(config)


def _stop_on_signals(server: Any) -> None:
    """SIGTERM/SIGINT: stop (open streams get :data:`GRACEFUL_S`); a second one: stop at once."""

    def handle(signum: int, frame: Any) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)


def _write_info(path: Path, info: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(info))
    os.replace(temporary, path)


def _exit_with(server: Any, pid: int) -> None:
    from sagaline.runtime.procs import pid_alive

    while not server.should_exit:
        if not pid_alive(pid):
            server.should_exit = True
            return
        time.sleep(0.5)
