"""PURE. What each admin request asks inside the daemon, as a script.

A *conversation* is a generator function ``(request, facts) -> generator``.
It yields :class:`Ask` (one question) or a tuple of them (asked at once,
answered in the same order) and is sent back the reply (or the tuple of
replies); it returns the :class:`~sagaline.messages.admin.AdminResult` or
:class:`~sagaline.messages.admin.AdminError` to send the requester. The
actor that drives it (:class:`sagaline.admin.worker.AdminWorker`)
resolves targets through the registry and matches replies: by sender, or,
for an ask to the saga supervisor (``from_anyone``: the supervisor may hand
a request on to an actor that answers the requester itself), by being the
one ask in flight and of an expected reply type. It turns these into
errors without bothering the script (unless ``optional``):

* the target key is not registered -> ``unavailable``;
* the target answered ``Unrecognized`` -> ``unsupported``;
* no answer within the ask's (or the request's) time -> ``timeout``.

An optional ask is sent :class:`Missing` or :class:`NoAnswer` instead, or the
``Unrecognized`` reply itself. Scripts are pure: tests drive them with
:func:`drive` and canned replies. ``facts`` are the daemon's facts plus, for
``health``, ``probes`` the worker measured just before (which watched
processes are alive, the age of the daemon's heartbeat), and ``catalog``: the
:class:`sagaline.apps.Apps` the worker loaded (the catalog and app commands read it).

The scripts live beside this module: :mod:`sagaline.admin.conversation_runs`
(the runs), :mod:`sagaline.admin.conversation_reads` (tree, health,
registry, catalog, events, app commands, convention) and the vocabulary
they share, :mod:`sagaline.admin.conversation_asks` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagaline.admin.conversation_asks import (
    HEARTBEAT_STALE_S,
    WATCHED,
    Ask,
    Missing,
    NoAnswer,
    Script,
    error,
    plain,
)
from sagaline.admin.conversation_reads import READ_CONVERSATIONS
from sagaline.admin.conversation_runs import RUN_CONVERSATIONS
from sagaline.messages.admin import AdminError, AdminRequest, AdminResult

__all__ = [
    "Ask",
    "Missing",
    "NoAnswer",
    "CONVERSATIONS",
    "conversation",
    "drive",
    "plain",
    "error",
    "HEARTBEAT_STALE_S",
    "WATCHED",
    "Script",
]

#: Request class -> its conversation.
CONVERSATIONS: dict[type, Callable[[Any, dict[str, Any]], Script]] = {**READ_CONVERSATIONS, **RUN_CONVERSATIONS}


def conversation(request: AdminRequest, facts: dict[str, Any] | None = None) -> Script:
    """Start the conversation that answers ``request``.

    Raises:
        KeyError: no conversation for this request class (a bug: every
            concrete admin request has one; a test checks it).
    """
    return CONVERSATIONS[type(request)](request, dict(facts or {}))


def drive(script: Script, answer: Callable[[Ask], Any]) -> AdminResult | AdminError:
    """Run ``script`` to its end, answering each ask with ``answer(ask)`` (tests)."""
    reply: Any = None
    while True:
        try:
            asked = script.send(reply)
        except StopIteration as stop:
            result: AdminResult | AdminError = stop.value
            return result
        reply = tuple(answer(a) for a in asked) if isinstance(asked, tuple) else answer(asked)
