"""Where a command's words go: the answer to stdout, errors and progress to stderr.

The contract (README, "CLI: the contract"):

* **stdout** holds the answer and nothing else: a view for people, or with
  ``--json`` exactly one JSON document (the answer's data, times in
  ISO-8601 UTC; an error as ``{"error": {"code", "message", "details",
  "exit_code"}}``).
* **stderr** holds one line per error, ``error (CODE): MESSAGE``, and the
  progress of a ``--wait`` (only when stderr is a terminal).
* Colour only on a terminal, never with ``NO_COLOR`` set (rich decides:
  :func:`console_for`); off a terminal, lines are as wide as their content
  and carry no trailing blanks, so ``grep`` and ``awk`` see plain columns.

:class:`Output` is what a command writes through; :class:`Gate` lets the
shell silence a command it cancelled while that command's thread finishes.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any, TextIO

from rich.console import Console, RenderableType

from sagaline.cli.times import json_ready

__all__ = ["Output", "Gate", "console_for", "to_text", "as_json", "UNBOUNDED_WIDTH"]

#: Width given to rich off a terminal: wide enough that no table ever wraps (lines keep their content's width).
UNBOUNDED_WIDTH = 100_000


def as_json(value: Any) -> str:
    """Pretty JSON (keys in their order, non-ASCII kept, times as ISO-8601 UTC)."""
    return json.dumps(json_ready(value), indent=2, ensure_ascii=False, default=str)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console_for(stream: TextIO) -> Console:
    """A rich console on ``stream``: colour and the terminal's width on a terminal (not with
    ``NO_COLOR``), plain unbounded lines elsewhere."""
    terminal = _is_terminal(stream)
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=not terminal,
        emoji=False,
        width=None if terminal else UNBOUNDED_WIDTH,
        force_terminal=terminal or None,
    )


def to_text(renderable: RenderableType) -> str:
    """A renderable as plain text (no colour, unbounded width, no trailing blanks): for tests and pipes."""
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, soft_wrap=True, emoji=False, width=UNBOUNDED_WIDTH, color_system=None).print(
        renderable
    )
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


class Gate:
    """A stream that can be shut: writes after :meth:`close` are dropped (a cancelled command's thread
    may still be finishing its request; nothing of it reaches the terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._open, self._lock = stream, True, threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._open:
                self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._open:
                self._stream.flush()

    def isatty(self) -> bool:
        return _is_terminal(self._stream)

    def close(self) -> None:
        with self._lock:
            self._open = False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8")


class Output:
    """A command's two streams.

    Args:
        out: where the answer goes (stdout).
        err: where errors and progress go (stderr).
        json: the command was given ``--json``.
    """

    def __init__(self, out: TextIO, err: TextIO, json: bool = False) -> None:
        self.out, self.err, self.json = out, err, json

    @property
    def live(self) -> bool:
        """Progress is shown (stderr is a terminal and the answer is not JSON)."""
        return not self.json and _is_terminal(self.err)

    def show(self, renderable: RenderableType) -> None:
        """The answer, for people."""
        if _is_terminal(self.out):
            console_for(self.out).print(renderable)
        else:
            self.out.write(to_text(renderable) + "\n")
        self.out.flush()

    def data(self, value: Any) -> None:
        """The answer, for scripts (one JSON document)."""
        self.out.write(as_json(value) + "\n")
        self.out.flush()

    def error(self, code: str, message: str, details: dict | None = None, exit_code: int = 1) -> None:
        """One error: a line on stderr, and with ``--json`` the error document on stdout."""
        self.err.write(f"error ({code}): {message}\n")
        self.err.flush()
        if self.json:
            self.data(
                {"error": {"code": code, "message": message, "details": details or {}, "exit_code": int(exit_code)}}
            )

    def progress(self, renderable: RenderableType) -> None:
        """A line of progress on stderr (only when :attr:`live`)."""
        if self.live:
            console_for(self.err).print(renderable)
            self.err.flush()
