"""``sagaline shell``: the interactive admin shell.

Every line is a CLI command without the leading ``sagaline`` (``sagas list
--status running``, ``tree``, ``health --json``); it is parsed by the same
parser as the one-shot commands and sent over one connection kept for the
whole session. ``help`` lists the commands, ``help sagas start`` shows one;
``exit``, ``quit`` or Ctrl-D leave. Tab completes command words, options
and saga names. History is kept in ``$SAGALINE_HISTORY`` (default
``~/.sagaline_history``) when the shell runs on a terminal.

Scripted input works too: ``printf 'health\\nexit\\n' | sagaline shell``.
"""

from __future__ import annotations

import argparse
import cmd
import os
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from sagaline.cli.main import build_parser

__all__ = ["AdminShell", "run_shell", "complete_words", "history_path"]

_LEAVE = ("exit", "quit", "EOF")
_NOT_IN_SHELL = ("run", "shell")


def history_path(environ: dict[str, str] | None = None) -> Path:
    """The history file: ``$SAGALINE_HISTORY``, else ``~/.sagaline_history``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("SAGALINE_HISTORY") or Path.home() / ".sagaline_history")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def complete_words(parser: argparse.ArgumentParser, before: list[str], text: str) -> list[str]:
    """Completions of ``text`` after the words ``before`` (command words, then options and saga names)."""
    current = parser
    for word in before:
        following = _subcommands(current)
        if word in following:
            current = following[word]
    choices = _subcommands(current)
    if choices:
        candidates = list(choices) + (list(_LEAVE[:2]) + ["help"] if current is parser else [])
    else:
        candidates = [o for a in current._actions for o in a.option_strings if o.startswith("--")]
        if not text.startswith("-") and before[-1:] in (["start"], ["graph"]):
            candidates += _saga_names()
    return sorted(c for c in set(candidates) if c.startswith(text))


def _saga_names() -> list[str]:
    """The sagas of the apps this machine's config names (the daemon's, in the usual case)."""
    try:
        from sagaline.daemon.config import daemon_apps, load_config

        return list(daemon_apps(load_config()).sagas)
    except Exception:  # completion never fails the shell
        return []


class AdminShell(cmd.Cmd):
    """The shell over one connected :class:`sagaline.Client`.

    Args:
        client: A connected client.
        stdin, stdout, stderr: Streams (default: the process's).

    Attributes:
        last_status: Exit status of the last command (0 ok; see :mod:`sagaline.cli.commands`).
    """

    prompt = "sagaline> "

    def __init__(self, client: Any, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.client = client
        self.err = stderr or sys.stderr
        self.parser = build_parser(shell=True)
        self.last_status = 0

    def onecmd(self, line: str) -> bool:
        """Run one line; True ends the loop."""
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            print(f"error: {exc}", file=self.err)
            self.last_status = 2
            return False
        if not words:
            return False
        if words[0] in _LEAVE:
            return True
        if words[0] in ("help", "?"):
            self.show_help(words[1:])
        elif words[0] in _NOT_IN_SHELL:
            print(f"error: `{words[0]}` is not available inside the shell", file=self.err)
            self.last_status = 2
        else:
            self.last_status = self._run(words)
        return False

    def _run(self, words: list[str]) -> int:
        from sagaline.cli.main import run_admin

        try:
            args = self.parser.parse_args(words)
        except SystemExit as exc:
            return int(exc.code or 0)
        try:
            if hasattr(args, "admin_command"):
                return run_admin(args, client=self.client, out=self.stdout, err=self.err)
            return args.func(args, self.stdout, self.err)
        except Exception as exc:  # one failing command never ends the session
            print(f"error: {type(exc).__name__}: {exc}", file=self.err)
            return 1

    def show_help(self, words: list[str]) -> None:
        """``help``: every command; ``help WORDS``: that command's options."""
        if words:
            try:
                self.parser.parse_args(words + ["--help"])
            except SystemExit:
                pass
            return
        from sagaline.cli.commands import ADMIN_COMMANDS

        lines = ["commands (add --json for JSON; `help COMMAND...` for options):"]
        lines += [f"  {' '.join(c.words):<18} {c.help}" for c in ADMIN_COMMANDS]
        lines += ["  graph SAGA         a saga's plan as Mermaid", "  runs trace CID     a run's trace timeline",
                  "  exit               leave the shell (also quit, Ctrl-D)"]
        print("\n".join(lines), file=self.stdout)

    def emptyline(self) -> bool:
        return False  # an empty line does nothing (cmd's default repeats the last command)

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return complete_words(self.parser, [], text)

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        try:
            before = shlex.split(line[:begidx])
        except ValueError:
            before = line[:begidx].split()
        return complete_words(self.parser, before, text)


def _setup_readline(history: Path) -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return None
    readline.set_completer_delims(" \t\n")
    readline.set_history_length(1000)
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    return readline


def run_shell(args: argparse.Namespace) -> int:
    """Connect, run the shell until exit, let go; return the last command's status (3: no daemon)."""
    from sagaline.cli.connect import ClientError, exit_code, open_client

    try:
        client = open_client(args.admin_port, args.host, args.data_dir)
    except ClientError as exc:
        print(f"sagaline: {exc}", file=sys.stderr)
        return exit_code(exc)
    interactive = sys.stdin.isatty()
    readline = _setup_readline(history_path()) if interactive else None
    shell = AdminShell(client)
    if not interactive:
        shell.prompt = ""  # scripted input: the output alone, as sqlite3 does
    info = client.target.info
    shell.intro = (f"sagaline shell: daemon at {client.target.host}:{client.target.port}"
                   f"{f' (pid {info.pid})' if info else ''}. Type help for commands, exit to leave.")
    try:
        shell.cmdloop()
    except KeyboardInterrupt:
        print(file=sys.stdout)
    finally:
        client.close()
        if readline is not None:
            _save_history(readline, history_path())
    return shell.last_status


def _save_history(readline: Any, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
    except OSError:
        pass
