"""Idle span flushes deferred to the end of the message an actor is handling.

A span bridge on a local exporter flushes whenever no span is left open in
the process, so nothing waits for more activity. Inside an actor that
handles a batch of commands in one message, that was one flush (one JSON
encoding, one ``write``) per command: 20 % of a domain actor's busy time
under load (py-spy). The base actor wraps each message in
:func:`deferring`; an idle flush asked for meanwhile is remembered and done
once when the message is handled. Outside an actor's message (a
:class:`~sagaline.saga.driver.Driver`, a test) flushes happen at once, as before.

Pure: no OpenTelemetry import.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["deferring", "flush_when_idle"]

_local = threading.local()


def _forget() -> None:
    """In a forked child: nothing is being handled (an actor forks its children inside a handler)."""
    _local.depth, _local.due = 0, {}


os.register_at_fork(after_in_child=_forget)


class _Deferring:
    """``with deferring():`` around one message; re-entrant; flushes what came due at the outermost exit."""

    __slots__ = ()

    def __enter__(self) -> None:
        _local.depth = getattr(_local, "depth", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        _local.depth -= 1
        if _local.depth:
            return
        due = getattr(_local, "due", None)
        if due:
            _local.due = {}
            for flush in due.values():
                flush()


_DEFERRING = _Deferring()


def deferring() -> _Deferring:
    """The context in which idle flushes wait for its end (this thread only)."""
    return _DEFERRING


def flush_when_idle(key: Any, flush: Callable[[], Any]) -> None:
    """Run ``flush`` now, or, inside :func:`deferring`, once at its end (one per ``key``)."""
    if getattr(_local, "depth", 0):
        due = getattr(_local, "due", None)
        if due is None:
            due = _local.due = {}
        due[key] = flush
        return
    flush()
