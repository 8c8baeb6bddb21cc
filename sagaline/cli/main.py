"""The ``sagaline`` command line.

Local commands (no daemon needed)::

    sagaline run [--config F] [--app SPEC]... [--data-dir D] ...     the daemon (also: python run.py)
    sagaline graph SAGA [--mermaid] [--app SPEC]... [--config F]   the saga's plan as a layered text diagram
    sagaline demo                                                  one saga in-process
    sagaline runs trace CID                                        a run's trace timeline (from the data dir)
    sagaline web [--data-dir D] [--port 7721]                      the web console (sagaline.web)

Daemon commands (each one admin request; see :mod:`sagaline.cli.commands`),
one-shot or inside ``sagaline shell``::

    sagaline sagas list [--status running] | catalog [SAGA] | start SAGA k=v... | show CID | wait CID
    sagaline sagas cancel CID | retry CID | resume CID --from STEP
    sagaline app list [COMMAND] | app run COMMAND k=v...
    sagaline tree | health | registry lookup KEY | registry list --prefix P
    sagaline events tail

Apps are found on the import path; ``run`` and ``graph`` put the working
directory first on it (as ``python -m`` does), so a package beside you loads
with ``--app mypkg.app:app``.

Every daemon command takes ``--json`` and the connection options
``--admin-port``, ``--host``, ``--data-dir`` (see :mod:`sagaline.cli.connect`).
Exit statuses: :mod:`sagaline.cli.exits`; stdout and stderr:
:mod:`sagaline.cli.output`; ``sagaline --version``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, TextIO

from sagaline.cli.commands import ADMIN_COMMANDS, JSON
from sagaline.cli.local import LOCAL_COMMANDS, LocalCommand, configured_apps
from sagaline.cli.spec import CliParser, HelpShown, ShowText, UsageError, add_commands

__all__ = ["main", "build_parser", "run_admin", "RUN_FLAGS"]

#: Flags of ``sagaline run`` -> the config field each sets (values validated by the config model).
RUN_FLAGS: dict[str, tuple[str, str]] = {
    "--data-dir": ("data_dir", "data directory (default ./data)"),
    "--base": ("base", "multiprocTCPBase (default) or simpleSystemBase"),
    "--bind-address": ("bind_address", "the address every listener binds (default 127.0.0.1)"),
    "--admin-port": ("admin_port", "admin port (default 7720; 0 picks a free one)"),
    "--log-level": ("log_level", "the daemon's log level (default INFO)"),
    "--log-file": ("log_file", "log here instead of stderr"),
    "--actor-log-level": ("actor_log_level", "actors' log level (default WARNING)"),
    "--hosts": ("runs.hosts", "saga hosts, each running many runs (default one per core)"),
    "--isolation": ("runs.isolation", "hosted or process: how every saga runs (default: as each saga says)"),
    "--max-runs": ("runs.max_runs", "most runs in progress at once (default unlimited)"),
    "--storage-url": (
        "storage.url",
        "keep the journal and the stores in this PostgreSQL database "
        "(postgresql://user@host/db; default: SQLite files in the data directory)",
    ),
    "--synchronous": ("storage.synchronous", "durability: FULL (default) or NORMAL (see README, Durability)"),
    "--shutdown-timeout": ("shutdown_timeout_s", "seconds the tree gets to stop (default 30)"),
    "--admin-workers": ("admin.workers", "admin requests answered at once (default 16)"),
    "--lease-s": (
        "runs.lease_s",
        "hold each saga-host partition by a lease of this many seconds in the "
        "journal (daemons sharing a PostgreSQL journal; default: no leases)",
    ),
    "--join": (
        "cluster.join",
        "HOST:PORT of a leader's admin: run as a member of its convention "
        "(needs --storage-url and runs.lease_s; see README, Deployment)",
    ),
    "--heartbeat-s": (
        "cluster.heartbeat_s",
        "seconds between re-registrations with the convention leader; a "
        "member silent for 3 of them is declared lost (default 5; the same "
        "on every daemon of a convention)",
    ),
    "--secret-file": (
        "security.secret_file",
        "the installation secret (default data_dir/secret.key; a member needs a copy of the leader's)",
    ),
    "--on-give-up": (
        "supervision.on_give_up",
        "when the root gives up or a top-level process dies: exit (default, status 70) or restart (in place)",
    ),
}


def _connection_options() -> argparse.ArgumentParser:
    common = CliParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--admin-port", type=int, help="the daemon's admin port (default: from daemon.json, else 7720)")
    group.add_argument("--host", help="the daemon's address (default 127.0.0.1)")
    group.add_argument("--data-dir", help="where to find daemon.json (default ./data)")
    return common


def _json_option() -> argparse.ArgumentParser:
    common = CliParser(add_help=False)
    JSON.add_to(common)
    return common


def version_text() -> str:
    import sagaline

    return f"sagaline {sagaline.__version__} (Python {sys.version.split()[0]})"


def build_parser(shell: bool = False, index: dict | None = None) -> argparse.ArgumentParser:
    """The argument parser for every subcommand (``shell=True``: the commands usable inside the shell,
    without the connection options, which mean nothing there). ``index`` (if given) is filled with
    each command's words -> its parser (``help WORDS`` in the shell)."""
    prog = "" if shell else "sagaline"
    parser = CliParser(prog=prog or "sagaline", description="Durable sagas on actors.")
    parser.add_argument("--version", action=ShowText, text=version_text(), help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = [_json_option()] if shell else [_json_option(), _connection_options()]
    groups: dict[str, Any] = {}
    add_commands(sub, groups, ADMIN_COMMANDS, prog, parents, index, func=run_admin)
    _add_local_commands(sub, groups, shell, index)
    return parser


def _add_local_commands(sub: Any, groups: dict, shell: bool, index: dict | None = None) -> None:
    add_commands(sub, groups, LOCAL_COMMANDS, "" if shell else "sagaline", (), index, func=_local)
    if shell:
        return
    run = sub.add_parser("run", help="start the daemon (serves until SIGTERM/SIGINT)")
    run.add_argument("--config", help="a TOML config file (default: $SAGALINE_CONFIG)")
    for flag, (_, text) in RUN_FLAGS.items():
        run.add_argument(flag, help=text)
    run.add_argument(
        "--allow-remote",
        action="store_true",
        default=None,
        help="allow a non-loopback --bind-address (exposes the ports to that network; see SECURITY.md)",
    )
    run.add_argument(
        "--app",
        action="append",
        dest="apps",
        metavar="SPEC",
        help="load this app (package.module:attribute; repeatable; replaces the config's apps)",
    )
    run.set_defaults(func=_run)
    shell_parser = sub.add_parser("shell", help="the interactive admin shell", parents=[_connection_options()])
    shell_parser.set_defaults(func=_shell)
    from sagaline.web.server import add_arguments as web_arguments  # no Starlette needed to parse

    web = sub.add_parser(
        "web",
        help="serve the web console (needs the web extra)",
        description="Serve the web console: runs, timelines, the tree and live events in a browser (sagaline.web).",
    )
    web_arguments(web)
    web.set_defaults(func=_web)


# ----- command functions ------------------------------------------------------------------------


def run_admin(
    args: argparse.Namespace, client: Any = None, out: TextIO | None = None, err: TextIO | None = None, stop: Any = None
) -> int:
    """Run one daemon command; connect (and let go) unless a ``client`` is given."""
    from sagaline.cli.commands import execute, report
    from sagaline.cli.connect import open_client
    from sagaline.cli.output import Output
    from sagaline.cli.watch import Interrupted
    from sagaline.client.errors import ClientError

    output = Output(out or sys.stdout, err or sys.stderr, json=getattr(args, "json", False))
    own = client is None
    try:
        if own:
            client = open_client(args.admin_port, args.host, args.data_dir)
        return execute(args.spec, args, client, output, stop)
    except ClientError as exc:
        if getattr(args, "exit_code", False) and getattr(args, "live", False) and exc.code == "starting":
            return 0  # a liveness probe: a daemon that is starting is alive
        return report(output, exc)
    except Interrupted as exc:
        output.error("interrupted", str(exc), exit_code=130)
        return 130
    finally:
        if own and client is not None:
            client.close()


def _local(
    args: argparse.Namespace, client: Any = None, out: TextIO | None = None, err: TextIO | None = None, stop: Any = None
) -> int:
    from sagaline.cli.output import Output

    spec: LocalCommand = args.spec
    return spec.run(args, Output(out or sys.stdout, err or sys.stderr, json=getattr(args, "json", False)))


def _run(args: argparse.Namespace) -> int:
    from sagaline.cli.output import Output
    from sagaline.daemon import run_daemon

    loaded = configured_apps(args, Output(sys.stdout, sys.stderr))
    if loaded is None:
        return 2
    config, _ = loaded
    from sagaline.daemon.logs import configure_logging

    configure_logging(config.log_level, config.log_file)
    return run_daemon(config)


def _shell(args: argparse.Namespace) -> int:
    from sagaline.cli.shell import run_shell

    return run_shell(args)


def _web(args: argparse.Namespace) -> int:
    from sagaline.web.server import run_web

    return run_web(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sagaline`` console script; returns the exit status.

    An argument that is not valid UTF-8 (Python hands it over with surrogate
    escapes) is refused with exit 2 before anything else runs. A usage error
    is one line on stderr (exit 2); Ctrl-C is exit 130; a stdout closed early
    (``sagaline sagas list | head``) ends the command quietly with 141.
    """
    argv = sys.argv[1:] if argv is None else argv
    for position, argument in enumerate(argv, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            print(f"error (usage): argument {position} ({argument!a}) is not valid UTF-8", file=sys.stderr)
            return 2
    try:
        return _dispatch(argv)
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        print(
            "error (interrupted): stopped by Ctrl-C (a run it started or waited for goes on: see `sagaline "
            "sagas list`)",
            file=sys.stderr,
        )
        return 128 + signal.SIGINT


def _dispatch(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except HelpShown as shown:
        sys.stdout.write(shown.text.rstrip("\n") + "\n")
        return 0
    except UsageError as exc:
        where = f"{exc.prog}: " if exc.prog != "sagaline" else ""
        print(f"error (usage): {where}{exc.message} (see `{exc.prog} --help`)", file=sys.stderr)
        return 2
    return args.func(args)


def _broken_pipe() -> int:
    """stdout was closed by its reader: say nothing more (Python would print a traceback at exit)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
