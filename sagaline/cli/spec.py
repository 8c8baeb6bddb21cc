"""The CLI's commands as data: their words, arguments and what completes each argument.

A :class:`CommandSpec` is what both the ``argparse`` parser and the shell's
completer are built from, so the completer never reads a parser's insides::

    CommandSpec(("sagas", "show"), "one run, whole", (Arg("correlation_id", "the run", complete=RUN),))

:class:`CliParser` is an ``argparse`` parser that raises instead of
exiting or printing (:class:`UsageError`, :class:`HelpShown`), so the
one-shot CLI and the shell decide where the text goes and with which status.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Arg",
    "CommandSpec",
    "CliParser",
    "UsageError",
    "HelpShown",
    "ShowText",
    "add_commands",
    "RUN",
    "LIVE_RUN",
    "STUCK_RUN",
    "RESUMABLE_RUN",
    "SAGA",
    "INPUT",
    "STEP",
    "STATUS",
    "APP_COMMAND",
    "APP_ARG",
]

#: Completion kinds: what an argument's values are (the shell completes them from the daemon).
RUN, LIVE_RUN, STUCK_RUN, RESUMABLE_RUN = "run", "run:live", "run:stuck", "run:resumable"
SAGA, INPUT, STEP, STATUS, APP_COMMAND, APP_ARG = "saga", "input", "step", "status", "app_command", "app_arg"

_FLAG_ACTIONS = ("store_true", "store_false", "count", "help", "version")


@dataclass(frozen=True)
class Arg:
    """One argument of a command.

    Attributes:
        name: ``--flag`` for an option, a plain name for a positional.
        help: one line.
        complete: what its values are (one of the kinds above), for completion.
        options: ``argparse.add_argument`` keywords (type, default, action, nargs, choices, metavar, dest).
    """

    name: str
    help: str
    complete: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def positional(self) -> bool:
        return not self.name.startswith("-")

    @property
    def takes_value(self) -> bool:
        """An option followed by a value (``--limit 5``), not a switch (``--wait``)."""
        return self.positional or self.options.get("action") not in _FLAG_ACTIONS

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.options.get("choices") or ())

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(self.name, help=self.help, **dict(self.options))


@dataclass(frozen=True)
class CommandSpec:
    """A command: its words (``("sagas", "list")``), one line of help, its arguments."""

    words: tuple[str, ...]
    help: str
    args: tuple[Arg, ...] = ()

    @property
    def options(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.positional)

    @property
    def positionals(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.positional)

    def option(self, flag: str) -> Arg | None:
        return next((a for a in self.options if a.name == flag), None)


class UsageError(Exception):
    """A command line the parser refused. ``str()`` is the usage line and the problem, as argparse says them."""

    def __init__(self, prog: str, usage: str, message: str) -> None:
        super().__init__(f"{usage}\n{prog}: error: {message}")
        self.prog, self.usage, self.message = prog, usage, message


class HelpShown(Exception):
    """``--help`` (or ``--version``) was asked for; ``text`` is what to print (exit 0)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ShowText(argparse.Action):
    """An option that prints a fixed text and ends the command (``--version``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, text: str = "", **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.text = text

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        raise HelpShown(self.text)


class CliParser(argparse.ArgumentParser):
    """An ``argparse`` parser that raises :class:`UsageError` / :class:`HelpShown` instead of exiting."""

    def error(self, message: str) -> Any:  # argparse documents overriding error()
        raise UsageError(self.prog, self.format_usage().strip(), message)

    def print_help(self, file: Any = None) -> None:
        raise HelpShown(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise UsageError(self.prog, self.format_usage().strip(), (message or "").strip() or f"exit {status}")


def add_commands(
    sub: Any,
    groups: dict[str, Any],
    specs: Iterable[CommandSpec],
    prog: str,
    parents: Sequence[argparse.ArgumentParser] = (),
    index: dict[tuple[str, ...], argparse.ArgumentParser] | None = None,
    **defaults: Any,
) -> None:
    """Add each spec's parser under ``sub`` (``groups``: the word -> subparsers made so far).

    Args:
        prog: what usage lines start with (``sagaline``; empty inside the shell).
        parents: parsers whose arguments every command takes (``--json``, connection options).
        index: filled with words -> that command's parser (for ``help WORDS``).
        defaults: set on every parsed namespace (beside ``spec``, the command's own).
    """
    for spec in specs:
        target = sub
        for depth, word in enumerate(spec.words[:-1], start=1):
            key = " ".join(spec.words[:depth])
            if key not in groups:
                group = target.add_parser(word, help=f"{word} commands", prog=_prog(prog, spec.words[:depth]))
                groups[key] = group.add_subparsers(
                    dest=f"{'_'.join(spec.words[:depth])}_command", required=True, metavar="COMMAND"
                )
            target = groups[key]
        parser = target.add_parser(
            spec.words[-1], help=spec.help, description=spec.help, parents=list(parents), prog=_prog(prog, spec.words)
        )
        for arg in spec.args:
            arg.add_to(parser)
        parser.set_defaults(spec=spec, **defaults)
        if index is not None:
            index[spec.words] = parser


def _prog(prog: str, words: Sequence[str]) -> str:
    return " ".join([prog, *words]).strip()
