"""The CLI commands that need no daemon: ``graph``, ``runs trace``, ``demo`` (also usable in the shell).

Each is a :class:`LocalCommand`: a spec and a function ``(args, output) -> exit status``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from sagaline.cli.exits import Exit
from sagaline.cli.output import Output
from sagaline.cli.spec import RUN, SAGA, Arg, CommandSpec

__all__ = ["LocalCommand", "LOCAL_COMMANDS", "configured_apps"]


@dataclass(frozen=True)
class LocalCommand(CommandSpec):
    """A command that runs here, without a daemon."""

    run: Callable[[argparse.Namespace, Output], int] = lambda args, output: Exit.OK


def _working_directory_importable() -> None:
    """Put the working directory first on the import path, as ``python -m`` does (apps beside you load)."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)


def configured_apps(args: argparse.Namespace, output: Output) -> tuple[Any, Any] | None:
    """The config (file < environment < flags) and its loaded apps; None (said on stderr) when either is bad."""
    from sagaline.apps import AppError
    from sagaline.cli.main import RUN_FLAGS
    from sagaline.daemon import ConfigError, load_config
    from sagaline.daemon.config import daemon_apps

    _working_directory_importable()
    flags = {
        field: getattr(args, flag[2:].replace("-", "_"))
        for flag, (field, _) in RUN_FLAGS.items()
        if hasattr(args, flag[2:].replace("-", "_"))
    }
    flags["allow_remote"] = getattr(args, "allow_remote", None)
    flags["apps"] = getattr(args, "apps", None)
    try:
        config = load_config(flags, config_file=getattr(args, "config", None))
        return config, daemon_apps(config)
    except (ConfigError, AppError) as exc:
        output.err.write(f"sagaline: {'app error: ' if isinstance(exc, AppError) else ''}{exc}\n")
        return None


def _graph(args: argparse.Namespace, output: Output) -> int:
    from sagaline.saga.diagram import to_text
    from sagaline.saga.mermaid import to_mermaid

    loaded = configured_apps(args, output)
    if loaded is None:
        return Exit.BAD_INPUT
    _, apps = loaded
    if args.saga not in apps.sagas:
        known = ", ".join(sorted(apps.sagas)) or "none"
        output.error("not_found", f"no saga named {args.saga!r} (known: {known})", exit_code=Exit.NOT_FOUND)
        return Exit.NOT_FOUND
    definition = apps.definition(args.saga)
    if args.mermaid:
        output.out.write(to_mermaid(definition))
    else:
        output.show(Text(to_text(definition)))
    return Exit.OK


def _demo(args: argparse.Namespace, output: Output) -> int:
    from sagaline.demo import run_demo

    return run_demo(output.out)


def _trace(args: argparse.Namespace, output: Output) -> int:
    from sagaline.cli.trace import show_trace

    return show_trace(args, output)


_APPS = Arg(
    "--app",
    "load this app (package.module:attribute; repeatable; replaces the config's apps)",
    None,
    {"action": "append", "dest": "apps", "metavar": "SPEC"},
)
_CONFIG = Arg("--config", "a TOML config file naming the apps (default: $SAGALINE_CONFIG)")

LOCAL_COMMANDS: tuple[LocalCommand, ...] = (
    LocalCommand(
        ("graph",),
        "a saga's plan as a layered text diagram (--mermaid: as Mermaid)",
        (
            Arg("saga", "the saga's name", SAGA),
            Arg("--mermaid", "print Mermaid flowchart source instead", None, {"action": "store_true"}),
            _CONFIG,
            _APPS,
        ),
        _graph,
    ),
    LocalCommand(
        ("runs", "trace"),
        "a run's trace timeline, read from the data dir's telemetry files",
        (
            Arg("correlation_id", "the run (an unambiguous prefix will do)", RUN, {"metavar": "CID"}),
            Arg("--data-dir", "the daemon's data directory (default ./data)"),
        ),
        _trace,
    ),
    LocalCommand(("demo",), "run a small saga in-process through success, rollback and retry", (), _demo),
)
