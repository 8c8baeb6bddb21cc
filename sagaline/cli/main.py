"""The ``sagaline`` command line.

Local commands (no daemon needed)::

    sagaline run [--config F] [--app SPEC]... [--data-dir D] ...     the daemon (also: python run.py)
    sagaline graph SAGA [--app SPEC]... [--config F]               the saga's plan as Mermaid
    sagaline demo                                                  one saga in-process
    sagaline runs trace CID                                        a run's trace timeline (from the data dir)
    sagaline web [--data-dir D] [--port 7721]                      the web console (sagaline.web)

Daemon commands (each one admin request; see :mod:`sagaline.cli.commands`),
one-shot or inside ``sagaline shell``::

    sagaline sagas list [--status running] | catalog [SAGA] | start SAGA k=v... | show CID | wait CID
    sagaline sagas cancel CID | retry CID | resume CID --from STEP
    sagaline app list [COMMAND] | app run COMMAND k=v...
    sagaline tree | health | registry lookup KEY | registry list --prefix P
    sagaline events tail | policy decisions | nas runs

Apps are found on the import path; ``run`` and ``graph`` put the working
directory first on it (as ``python -m`` does), so a package beside you loads
with ``--app mypkg.app:app``.

Every daemon command takes ``--json`` and the connection options
``--admin-port``, ``--host``, ``--data-dir`` (see :mod:`sagaline.cli.connect`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from sagaline.cli.commands import ADMIN_COMMANDS, AdminCommand, execute

__all__ = ["main", "build_parser", "run_admin"]

#: Flags of ``sagaline run`` -> the config field each sets (values validated by the config model).
RUN_FLAGS: dict[str, tuple[str, str]] = {
    "--data-dir": ("data_dir", "data directory (default ./data)"),
    "--base": ("base", "multiprocTCPBase (default) or simpleSystemBase"),
    "--bind-address": ("bind_address", "the address every listener binds (default 127.0.0.1)"),
    "--admin-port": ("admin_port", "admin port (default 7720; 0 picks a free one)"),
    "--log-level": ("log_level", "the daemon's log level (default INFO)"),
    "--log-file": ("log_file", "log here instead of stderr"),
    "--actor-log-level": ("actor_log_level", "actors' log level (default WARNING)"),
    "--pool-size": ("runs.pool_size", "idle saga actors kept ready (default 4)"),
    "--max-runs": ("runs.max_runs", "most runs in progress at once (default unlimited)"),
    "--synchronous": ("storage.synchronous", "SQLite synchronous: NORMAL (default) or FULL"),
    "--shutdown-timeout": ("shutdown_timeout_s", "seconds the tree gets to stop (default 30)"),
    "--admin-workers": ("admin.workers", "admin requests answered at once (default 16)"),
    "--on-give-up": ("supervision.on_give_up", "when the root gives up or a top-level process dies: "
                                               "exit (default, status 70) or restart (in place)"),
}


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--admin-port", type=int, help="the daemon's admin port (default: from daemon.json, "
                                                      "else 7720)")
    group.add_argument("--host", help="the daemon's address (default 127.0.0.1)")
    group.add_argument("--data-dir", help="where to find daemon.json (default ./data)")
    common.add_argument("--json", action="store_true", help="print the answer as JSON")
    return common


def build_parser(shell: bool = False) -> argparse.ArgumentParser:
    """The argument parser for every subcommand (``shell=True``: the commands usable inside the shell)."""
    parser = argparse.ArgumentParser(prog="" if shell else "sagaline", description="Durable sagas on actors.",
                                     add_help=not shell)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _connection_options()
    groups: dict[str, Any] = {}
    for command in ADMIN_COMMANDS:
        _add_admin_command(sub, groups, command, common)
    _add_local_commands(sub, groups, shell)
    return parser


def _add_admin_command(sub: Any, groups: dict, command: AdminCommand, common: argparse.ArgumentParser) -> None:
    *group_words, leaf = command.words
    target = sub
    for word in group_words:
        if word not in groups:
            group = sub.add_parser(word, help=f"{word} commands")
            groups[word] = group.add_subparsers(dest=f"{word}_command", required=True, metavar="COMMAND")
        target = groups[word]
    parser = target.add_parser(leaf, help=command.help, description=command.help, parents=[common])
    command.arguments(parser)
    parser.set_defaults(func=run_admin, admin_command=command)


def _app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app", action="append", dest="apps", metavar="SPEC",
                        help="load this app (package.module:attribute; repeatable; replaces the config's apps)")


def _add_local_commands(sub: Any, groups: dict, shell: bool) -> None:
    graph = sub.add_parser("graph", help="print a saga's plan as Mermaid")
    graph.add_argument("saga", help="the saga's name")
    graph.add_argument("--config", help="a TOML config file naming the apps (default: $SAGALINE_CONFIG)")
    _app_options(graph)
    graph.set_defaults(func=_graph, config=None, apps=None)
    demo = sub.add_parser("demo", help="run a small saga through success, rollback and retry")
    demo.set_defaults(func=_demo)
    runs = sub.add_parser("runs", help="run traces")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    trace = runs_sub.add_parser("trace", help="a run's trace timeline (from the data dir's trace file)")
    trace.add_argument("correlation_id", metavar="CID")
    trace.add_argument("--data-dir", help="the daemon's data directory (default ./data)")
    trace.set_defaults(func=_trace)
    if shell:
        return
    run = sub.add_parser("run", help="start the daemon (serves until SIGTERM/SIGINT)")
    run.add_argument("--config", help="a TOML config file (default: $SAGALINE_CONFIG)")
    for flag, (_, text) in RUN_FLAGS.items():
        run.add_argument(flag, help=text)
    run.add_argument("--allow-remote", action="store_true", default=None,
                     help="allow a non-loopback --bind-address (exposes the ports to that network; "
                          "see SECURITY.md)")
    _app_options(run)
    run.set_defaults(func=_run)
    shell_parser = sub.add_parser("shell", help="the interactive admin shell", parents=[_connection_options()])
    shell_parser.set_defaults(func=_shell)
    from sagaline.web.server import add_arguments as web_arguments  # no Starlette needed to parse

    web = sub.add_parser("web", help="serve the web console (needs the web extra)", description="Serve the web "
                         "console: runs, timelines, the tree and live events in a browser (sagaline.web).")
    web_arguments(web)
    web.set_defaults(func=_web)


# ----- command functions ------------------------------------------------------------------------

def run_admin(args: argparse.Namespace, client: Any = None, out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    """Run one daemon command; connect (and let go) unless a ``client`` is given."""
    from sagaline.cli.connect import ClientError, exit_code, open_client

    out, err = out or sys.stdout, err or sys.stderr
    own = client is None
    try:
        if own:
            client = open_client(args.admin_port, args.host, args.data_dir)
        return execute(args.admin_command, args, client, out, err)
    except ClientError as exc:
        if getattr(args, "exit_code", False) and getattr(args, "live", False) and exc.code == "starting":
            return 0  # a liveness probe: a daemon that is starting is alive
        print(f"sagaline: {exc}", file=err)
        return exit_code(exc)
    finally:
        if own and client is not None:
            client.close()


def _working_directory_importable() -> None:
    """Put the working directory first on the import path, as ``python -m`` does (apps beside you load)."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)


def _configured_apps(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """The config (file < environment < flags) and its loaded apps; None (said on stderr) when either is bad."""
    from sagaline.apps import AppError
    from sagaline.daemon import ConfigError, load_config
    from sagaline.daemon.config import daemon_apps

    _working_directory_importable()
    flags = {field: getattr(args, flag[2:].replace("-", "_")) for flag, (field, _) in RUN_FLAGS.items()
             if hasattr(args, flag[2:].replace("-", "_"))}
    flags["allow_remote"] = getattr(args, "allow_remote", None)
    flags["apps"] = args.apps
    try:
        config = load_config(flags, config_file=args.config)
        return config, daemon_apps(config)
    except (ConfigError, AppError) as exc:
        print(f"sagaline: {'app error: ' if isinstance(exc, AppError) else ''}{exc}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from sagaline.daemon import run_daemon

    loaded = _configured_apps(args)
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


def _graph(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from sagaline.saga.mermaid import to_mermaid

    out, err = out or sys.stdout, err or sys.stderr
    loaded = _configured_apps(args)
    if loaded is None:
        return 2
    _, apps = loaded
    if args.saga not in apps.sagas:
        print(f"sagaline: no saga named {args.saga!r} (known: {', '.join(sorted(apps.sagas)) or 'none'})", file=err)
        return 1
    print(to_mermaid(apps.definition(args.saga)), file=out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from sagaline.demo import run_demo

    return run_demo(out or sys.stdout)


def _trace(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from sagaline.cli.trace import show_trace

    return show_trace(args, out or sys.stdout, err or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sagaline`` console script; returns the exit status.

    An argument that is not valid UTF-8 (Python hands it over with surrogate
    escapes) is refused with exit 2 before anything else runs.
    """
    argv = sys.argv[1:] if argv is None else argv
    for position, argument in enumerate(argv, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            print(f"sagaline: argument {position} ({ascii(argument)}) is not valid UTF-8", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
