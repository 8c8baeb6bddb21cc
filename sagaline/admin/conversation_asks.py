"""PURE. The vocabulary of admin conversations: asks, the answers an optional ask may get, results.

See :mod:`sagaline.admin.conversations` for what a conversation is and how
the admin worker drives one; the scripts themselves are in
:mod:`sagaline.admin.conversation_runs` (runs) and
:mod:`sagaline.admin.conversation_reads` (tree, health, registry, catalog,
events, app commands, convention).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from sagaline.messages.admin import AdminError, AdminRequest, AdminResult
from sagaline.messages.saga import SagaRefused

__all__ = [
    "Ask",
    "Missing",
    "NoAnswer",
    "Script",
    "plain",
    "error",
    "result_of",
    "refusal_of",
    "saga_ask",
    "known_sagas",
    "apps_of",
    "SAGAS",
    "FLOW",
    "TREE_LEVEL_TIMEOUT_S",
    "HOST_STATS_TIMEOUT_S",
    "HEARTBEAT_STALE_S",
    "WATCHED",
]

#: Registry keys of the actors conversations talk to (``registry`` and ``root`` are handed down).
SAGAS, FLOW = "sagas", "domain:flow"
#: Seconds one level of the tree walk waits for supervisors (a dead one never answers).
TREE_LEVEL_TIMEOUT_S = 2.0
#: Seconds health waits for each saga host's stats (a host busy in a long commit may not answer).
HOST_STATS_TIMEOUT_S = 2.0
#: Seconds after which the daemon's heartbeat counts as stale (its watch loop ticks every 0.25 s).
HEARTBEAT_STALE_S = 5.0
#: The processes whose death ends the daemon (health's liveness), as named in ``probes``.
WATCHED = ("daemon", "admin", "logger", "registry", "root", "door")

Script = Generator[Any, Any, "AdminResult | AdminError"]


@dataclass(frozen=True)
class Ask:
    """One question: ``message`` to ``target`` (``registry``, ``root`` or a
    registry key) or to ``address``."""

    message: Any
    target: str | None = None
    address: Any = None
    optional: bool = False
    timeout_s: float | None = None
    replies: tuple[type, ...] = ()
    """With ``from_anyone``: the reply types that may answer it (``Unrecognized`` always may)."""
    from_anyone: bool = False
    """The answer may come from another actor than the one asked (asked alone, matched by type)."""

    def describe(self) -> str:
        """The target, for error messages."""
        return self.target or str(self.address)


def saga_ask(message: Any, *replies: type) -> Ask:
    """An ask to the saga supervisor, whose answer may come from whoever hosts the run."""
    return Ask(message, SAGAS, replies=(*replies, SagaRefused), from_anyone=True)


@dataclass(frozen=True)
class Missing:
    """Sent to an optional ask whose target key is not registered."""

    target: str


@dataclass(frozen=True)
class NoAnswer:
    """Sent to an optional ask that got no answer in time."""

    target: str


def plain(value: Any) -> Any:
    """JSON-ready data of a model (addresses and other opaque values become strings)."""
    return value.model_dump(mode="json", fallback=str)


def error(request: AdminRequest, code: str, message: str, /, **details: Any) -> AdminError:
    """An :class:`AdminError` answering ``request``."""
    return AdminError(code=code, message=message, request=type(request).__name__, details=details)


def result_of(request: AdminRequest, **data: Any) -> AdminResult:
    return AdminResult(request=type(request).__name__, data=data)


def refusal_of(request: AdminRequest, reply: Any) -> AdminError:
    if isinstance(reply, SagaRefused):
        code = "not_found" if reply.code == "unknown_run" else "refused"
        return error(request, code, reply.message, code=reply.code)
    return error(request, "internal", f"unexpected reply {type(reply).__name__}")


def known_sagas(facts: dict[str, Any]) -> dict[str, Any] | None:
    """The daemon's sagas by name; None when the catalog is not at hand (nothing is checked against it)."""
    catalog = facts.get("catalog")
    return None if catalog is None else catalog.sagas


def apps_of(facts: dict[str, Any]) -> Any:
    """The apps the daemon runs: ``facts["catalog"]``, the :class:`sagaline.apps.Apps` the worker loaded.

    The worker (the shell) loads them; this module only reads the catalog, so it stays free of imports.
    """
    catalog = facts.get("catalog")
    if catalog is None:
        raise LookupError("the admin worker was given no app catalog (facts['catalog'])")
    return catalog
