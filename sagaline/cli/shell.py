"""``sagaline shell``: the interactive admin shell, on prompt_toolkit.

Every line is a CLI command without the leading ``sagaline`` (``sagas list
--status running``, ``tree``, ``health --json``), parsed by the same
command specs as the one-shot CLI and sent over one connection kept for the
whole session. ``help`` lists the commands, ``help sagas start`` shows one;
``exit [N]``, ``quit`` or Ctrl-D leave.

On a terminal:

* **Tab** completes command words, options, saga names, a saga's input
  names, live run ids (``sagas cancel <Tab>`` offers the running runs),
  steps and statuses, from the daemon (:mod:`sagaline.cli.complete`).
* **Ctrl-C** cancels the command in progress (a ``--wait`` stops
  following; the run goes on) and returns to the prompt; at the prompt it
  clears the line. It never ends the shell.
* **History** is kept in ``$SAGALINE_HISTORY`` (default
  ``~/.sagaline_history``); Up/Down search it by what is typed, Ctrl-R
  searches it backwards.
* A ``--wait`` shows the run's steps as they progress.

Why prompt_toolkit: completion with descriptions that can ask the daemon
in a thread, history search and Ctrl-C at the prompt come with it, and it
is pure Python, maintained, with no readline to link (cmd2 builds on
readline, which is absent or libedit on some systems and cannot complete
in a thread).

Scripted input (stdin not a terminal) runs line by line and exits with the
status of the last command (``exit N``: N): ``printf 'health\\nexit\\n' |
sagaline shell``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO, cast

from sagaline.cli.commands import ADMIN_COMMANDS, RUN_STATUSES, AdminCommand
from sagaline.cli.complete import Names, candidates
from sagaline.cli.exits import Exit
from sagaline.cli.local import LOCAL_COMMANDS
from sagaline.cli.output import Gate
from sagaline.cli.spec import CommandSpec, HelpShown, UsageError

__all__ = ["AdminShell", "run_shell", "history_path", "SHELL_COMMANDS", "Leave"]

#: Every command the shell runs (the daemon's and the local ones; not ``run`` nor ``shell``).
SHELL_COMMANDS: tuple[CommandSpec, ...] = (*ADMIN_COMMANDS, *LOCAL_COMMANDS)
_LEAVE = ("exit", "quit")
_NOT_IN_SHELL = ("run", "shell")
#: Seconds between two checks for Ctrl-C while a command runs (and for its end).
_JOIN_S = 0.05


def history_path(environ: Mapping[str, str] | None = None) -> Path:
    """The history file: ``$SAGALINE_HISTORY``, else ``~/.sagaline_history``."""
    given = os.environ if environ is None else environ
    return Path(given.get("SAGALINE_HISTORY") or Path.home() / ".sagaline_history")


class Leave(Exception):
    """``exit [N]`` / ``quit``: leave the shell with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class AdminShell:
    """The shell over one connected :class:`sagaline.Client`.

    Args:
        client: A connected client.
        stdout, stderr: Streams (default: the process's).
        names: Where completion values come from (default: the daemon, through ``client``).

    Attributes:
        last_status: Exit status of the last command (see :mod:`sagaline.cli.exits`).
    """

    prompt = "sagaline> "

    def __init__(
        self, client: Any, stdout: TextIO | None = None, stderr: TextIO | None = None, names: Names | None = None
    ) -> None:
        from sagaline.cli.complete import LiveNames
        from sagaline.cli.main import build_parser

        self.client = client
        self.out, self.err = stdout or sys.stdout, stderr or sys.stderr
        self.names = names if names is not None else LiveNames(client)
        self.parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {}
        self.parser = build_parser(shell=True, index=self.parsers)
        self.last_status = 0

    # ----- one line --------------------------------------------------------------------------------

    def execute(
        self, line: str, stop: threading.Event | None = None, out: TextIO | None = None, err: TextIO | None = None
    ) -> int:
        """Run one line; return its status (the last status for a blank line or a comment).

        Raises:
            Leave: the line was ``exit [N]`` or ``quit``.
        """
        out, err = out or self.out, err or self.err
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            return self._said(err, "usage", f"{exc} in: {line.strip()}", Exit.BAD_INPUT)
        if not words:
            return self.last_status
        if words[0] in _LEAVE:
            raise Leave(self._leave_status(words))
        if words[0] in ("help", "?"):
            return self.show_help(words[1:], out, err)
        if words[0] in _NOT_IN_SHELL:
            return self._said(err, "usage", f"`{words[0]}` is not available inside the shell", Exit.BAD_INPUT)
        if self._spec(words) is None:
            return self._said(err, "usage", self._unknown(words), Exit.BAD_INPUT)
        return self._run(words, out, err, stop)

    def _leave_status(self, words: list[str]) -> int:
        if len(words) > 1 and words[1].lstrip("-").isdigit():
            return int(words[1]) & 0xFF
        return self.last_status

    def _spec(self, words: list[str]) -> CommandSpec | None:
        return next((s for s in SHELL_COMMANDS if list(s.words) == words[: len(s.words)]), None)

    def _unknown(self, words: list[str]) -> str:
        groups = {s.words[0] for s in SHELL_COMMANDS if len(s.words) > 1}
        if words[0] in groups:
            known = ", ".join(s.words[1] for s in SHELL_COMMANDS if s.words[0] == words[0])
            said = " ".join(words[:2]) if len(words) > 1 else words[0]
            return f"unknown command `{said}` ({words[0]} commands: {known}); type help for the list"
        return f"unknown command `{words[0]}`; type help for the list"

    def _run(self, words: list[str], out: TextIO, err: TextIO, stop: threading.Event | None) -> int:
        from sagaline.cli.main import run_admin

        try:
            args = self.parser.parse_args(words)
        except HelpShown as shown:
            out.write(shown.text.rstrip("\n") + "\n")
            return Exit.OK
        except UsageError as exc:
            return self._said(err, "usage", f"{exc.prog}: {exc.message} (see `help {exc.prog}`)", Exit.BAD_INPUT)
        try:
            if isinstance(args.spec, AdminCommand):
                return run_admin(args, client=self.client, out=out, err=err, stop=stop)
            return args.func(args, out=out, err=err)
        except Exception as exc:
            return self._said(err, "internal", f"{type(exc).__name__}: {exc}", Exit.FAILED)

    @staticmethod
    def _said(err: TextIO, code: str, message: str, status: int) -> int:
        err.write(f"error ({code}): {message}\n")
        err.flush()
        return status

    def show_help(self, words: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
        """``help``: every command; ``help WORDS``: that command's arguments."""
        out, err = out or self.out, err or self.err
        if words:
            spec = self._spec(words)
            if spec is None:
                return self._said(err, "usage", self._unknown(words), Exit.BAD_INPUT)
            out.write(self.parsers[spec.words].format_help())
            return Exit.OK
        width = max(len(" ".join(s.words)) for s in SHELL_COMMANDS) + 2
        lines = ["commands (daemon commands take --json; `help COMMAND...` shows a command's arguments):"]
        lines += [f"  {' '.join(s.words):<{width}} {s.help}" for s in SHELL_COMMANDS]
        lines += [
            f"  {'exit [N]':<{width}} leave the shell (also quit, Ctrl-D); N: the exit status",
            "Tab completes commands, options, sagas, inputs and run ids; Ctrl-C cancels the command "
            "running; Ctrl-R searches the history.",
        ]
        out.write("\n".join(lines) + "\n")
        return Exit.OK

    # ----- loops -------------------------------------------------------------------------------------

    def run_script(self, lines: Iterable[str]) -> int:
        """Run lines (scripted input) until they end or one leaves; the last command's status."""
        try:
            for line in lines:
                self.last_status = self.execute(line)
        except Leave as leave:
            return leave.status
        return self.last_status

    def run_interactive(self) -> int:
        """Prompt until ``exit`` or Ctrl-D; each command runs in a thread Ctrl-C can abandon."""
        session = _prompt_session(self)
        while True:
            try:
                line = session.prompt(self.prompt)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return self.last_status
            try:
                self.last_status = self._interruptible(line)
            except Leave as leave:
                return leave.status

    def _interruptible(self, line: str) -> int:
        """Run ``line`` on a worker thread; Ctrl-C returns to the prompt at once and silences it."""
        out, err, stop = Gate(self.out), Gate(self.err), threading.Event()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                # a Gate writes and flushes like the TextIO it wraps, which is all a command does with it
                result["status"] = self.execute(line, stop, cast(TextIO, out), cast(TextIO, err))
            except Leave as leave:
                result["leave"] = leave
            except BaseException as exc:
                result["error"] = exc

        worker = threading.Thread(target=work, name="sagaline-shell-command", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(_JOIN_S)
        except KeyboardInterrupt:
            stop.set()
            out.close()
            err.close()
            self.err.write("^C cancelled (a run it started or waited for goes on; see `sagas list`)\n")
            self.err.flush()
            return Exit.INTERRUPTED
        if "leave" in result:
            raise result["leave"]
        if "error" in result:
            return self._said(self.err, "internal", repr(result["error"]), Exit.FAILED)
        return result["status"]


def _prompt_session(shell: AdminShell) -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory

    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        history: Any = FileHistory(str(path))
    except OSError:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    return PromptSession(
        history=history,
        completer=_Completer(shell),
        complete_in_thread=True,
        complete_while_typing=False,
        enable_history_search=True,
        auto_suggest=AutoSuggestFromHistory(),
    )


def _Completer(shell: AdminShell) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class ShellCompleter(Completer):
        """prompt_toolkit's side of :func:`sagaline.cli.complete.candidates`."""

        def get_completions(self, document: Any, complete_event: Any) -> Any:
            before = document.text_before_cursor
            current = "" if before[-1:].isspace() else (before.split()[-1] if before.split() else "")
            try:
                words = shlex.split(before[: len(before) - len(current)])
            except ValueError:
                return
            for found in candidates(SHELL_COMMANDS, words, current, shell.names, RUN_STATUSES):
                yield Completion(found.text, start_position=-len(current), display_meta=found.meta)

    return ShellCompleter()


def run_shell(args: argparse.Namespace) -> int:
    """Connect, run the shell until it is left, let go; return its status (3: no daemon)."""
    from sagaline.cli.commands import report
    from sagaline.cli.connect import open_client
    from sagaline.cli.output import Output
    from sagaline.client.errors import ClientError

    try:
        client = open_client(args.admin_port, args.host, args.data_dir)
    except ClientError as exc:
        return report(Output(sys.stdout, sys.stderr), exc)
    shell = AdminShell(client)
    try:
        if not sys.stdin.isatty():
            return shell.run_script(sys.stdin)  # scripted: the output alone, as sqlite3 does
        info = client.target.info
        print(
            f"sagaline shell: daemon at {client.target.host}:{client.target.port}"
            f"{f' (pid {info.pid})' if info else ''}. Type help for commands, exit to leave."
        )
        return shell.run_interactive()
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    finally:
        client.close()
