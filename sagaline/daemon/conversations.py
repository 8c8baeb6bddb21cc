"""PURE. What each admin request asks inside the daemon, as a script.

A *conversation* is a generator function ``(request, facts) -> generator``.
It yields :class:`Ask` (one question) or a tuple of them (asked at once,
answered in the same order) and is sent back the reply (or the tuple of
replies); it returns the :class:`~sagaline.messages.admin.AdminResult` or
:class:`~sagaline.messages.admin.AdminError` to send the requester. The
actor that drives it (:class:`sagaline.actors.admin.AdminConversation`)
resolves targets through the registry, matches replies by sender, and turns
these into errors without bothering the script (unless ``optional``):

* the target key is not registered -> ``unavailable``;
* the target answered ``Unrecognized`` -> ``unsupported``;
* no answer within the ask's (or the request's) time -> ``timeout``.

An optional ask is sent :class:`Missing` or :class:`NoAnswer` instead, or the
``Unrecognized`` reply itself. Scripts are pure: tests drive them with
:func:`drive` and canned replies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Generator

from sagaline.messages.admin import (AdminAppCommand, AdminCancelRun, AdminCatalog, AdminError, AdminHealth,
                                     AdminListRuns, AdminNasRuns, AdminPolicyDecisions, AdminRegistryLookup,
                                     AdminRegistrySelect, AdminRequest, AdminResult, AdminResumeRun,
                                     AdminRetryCompensation, AdminShowRun, AdminStartSaga, AdminTailEvents,
                                     AdminTree, AdminWaitRun)
from sagaline.messages.base import Headers
from sagaline.messages.flow import TailEvents
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Count, Lookup, Select
from sagaline.messages.saga import (AwaitRun, CancelRun, ListRuns, ResumeRun, RetryCompensation, RunOutcome,
                                    RunSnapshot, RunStatus, SagaRefused, StartSaga)
from sagaline.messages.supervision import WhichChildren

__all__ = ["Ask", "Missing", "NoAnswer", "CONVERSATIONS", "conversation", "drive", "plain", "error"]

#: Registry keys of the actors conversations talk to (``registry`` and ``root`` are handed down).
SAGAS, FLOW, CROWN, BOLT, BRIDGE = "sagas", "domain:flow", "domain:crown", "domain:bolt", "domain:bridge"
#: Seconds one level of the tree walk waits for supervisors (a dead one never answers).
TREE_LEVEL_TIMEOUT_S = 2.0

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

    def describe(self) -> str:
        """The target, for error messages."""
        return self.target or str(self.address)


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


def _result(request: AdminRequest, **data: Any) -> AdminResult:
    return AdminResult(request=type(request).__name__, data=data)


def _refused(request: AdminRequest, reply: Any) -> AdminError:
    if isinstance(reply, SagaRefused):
        code = "not_found" if reply.code == "unknown_run" else "refused"
        return error(request, code, reply.message, code=reply.code)
    return error(request, "internal", f"unexpected reply {type(reply).__name__}")


def _command_headers() -> Headers:
    return Headers(correlation_id=uuid7())


# ----- runs ------------------------------------------------------------------------------------

def _list_runs(request: AdminListRuns, facts: dict) -> Script:
    reply = yield Ask(ListRuns(status=request.status, saga=request.saga, limit=request.limit), SAGAS)
    if hasattr(reply, "runs"):
        return _result(request, runs=[plain(r) for r in reply.runs], total=reply.total)
    return _refused(request, reply)


def _show_run(request: AdminShowRun, facts: dict) -> Script:
    cid = request.correlation_id
    reply = yield Ask(RunStatus(correlation_id=cid), SAGAS)
    if isinstance(reply, RunSnapshot):
        return _result(request, **plain(reply))
    if hasattr(reply, "accepted"):  # the run has ended: its outcome tells more
        reply = yield Ask(AwaitRun(correlation_id=cid), SAGAS)
    if isinstance(reply, RunOutcome):
        return _result(request, **plain(reply))
    return _refused(request, reply)


def _start_saga(request: AdminStartSaga, facts: dict) -> Script:
    start = StartSaga(saga=request.saga, inputs=request.inputs, correlation_id=request.correlation_id,
                      causation_id=request.causation_id, wait=request.wait)
    reply = yield Ask(start, SAGAS)
    if isinstance(reply, RunOutcome):
        return _result(request, existing=False, **plain(reply))
    if hasattr(reply, "existing"):
        return _result(request, correlation_id=reply.correlation_id, saga=reply.saga, existing=reply.existing)
    return _refused(request, reply)


def _wait_run(request: AdminWaitRun, facts: dict) -> Script:
    reply = yield Ask(AwaitRun(correlation_id=request.correlation_id), SAGAS)
    if isinstance(reply, RunOutcome):
        return _result(request, **plain(reply))
    return _refused(request, reply)


def _cancel_run(request: AdminCancelRun, facts: dict) -> Script:
    reply = yield Ask(CancelRun(correlation_id=request.correlation_id, reason=request.reason), SAGAS)
    if hasattr(reply, "accepted"):
        return _result(request, **plain(reply))
    return _refused(request, reply)


def _retry(request: AdminRetryCompensation, facts: dict) -> Script:
    reply = yield Ask(RetryCompensation(correlation_id=request.correlation_id, steps=request.steps), SAGAS)
    return _operator_answer(request, reply)


def _resume(request: AdminResumeRun, facts: dict) -> Script:
    reply = yield Ask(ResumeRun(correlation_id=request.correlation_id, from_step=request.from_step), SAGAS)
    return _operator_answer(request, reply)


def _operator_answer(request: AdminRequest, reply: Any) -> AdminResult | AdminError:
    if hasattr(reply, "accepted") and hasattr(reply, "message"):
        return _result(request, **plain(reply))
    return _refused(request, reply)


# ----- the tree, the registry, health ----------------------------------------------------------

def _node(info: Any) -> dict:
    row = plain(info)
    row.pop("address", None)
    row["children"] = []
    return row


def _tree(request: AdminTree, facts: dict) -> Script:
    root = {"id": "root", "status": "running", "type": "supervisor", "restarts": 0, "pid": None,
            "name": None, "children": []}
    frontier = [(root, None)]  # (node, address); None: the root itself
    for _depth in range(request.max_depth):
        if not frontier:
            break
        asks = tuple(Ask(WhichChildren(), "root") if address is None else
                     Ask(WhichChildren(), address=address, optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
                     for _, address in frontier)
        replies = yield asks
        frontier = _expand(frontier, replies)
    return _result(request, tree=root)


def _expand(frontier: list, replies: tuple) -> list:
    following = []
    for (node, _), reply in zip(frontier, replies):
        if not hasattr(reply, "children"):
            node["unreachable"] = True
            continue
        for info in reply.children:
            child = _node(info)
            node["children"].append(child)
            if info.type == "supervisor" and info.address is not None:
                following.append((child, info.address))
    return following


def _health(request: AdminHealth, facts: dict) -> Script:
    children, count = yield (Ask(WhichChildren(), "root"), Ask(Count(), "registry"))
    rows = [_node(info) for info in children.children]
    for row in rows:
        row.pop("children")
    healthy = all(row["status"] == "running" for row in rows)
    daemon = dict(facts)
    if "started_at" in daemon:
        daemon["uptime_s"] = round(time.time() - daemon["started_at"], 3)
    return _result(request, status="ok" if healthy else "degraded", daemon=daemon, children=rows,
                   registered=count.count)


def _apps(facts: dict) -> Any:
    """The apps the daemon runs (``facts["apps"]``: their specs), loaded once per process."""
    from sagaline.apps import load_apps

    return load_apps(facts.get("apps") or (), entry_points=False)


def _catalog(request: AdminCatalog, facts: dict) -> Script:
    catalog = _apps(facts).describe()
    if request.saga is not None:
        catalog["sagas"] = [s for s in catalog["sagas"] if s["name"] == request.saga]
        if not catalog["sagas"]:
            known = ", ".join(sorted(_apps(facts).sagas)) or "none"
            return error(request, "not_found", f"no saga named {request.saga!r} (known: {known})")
    return _result(request, **catalog)
    yield  # a generator that asks nothing  # pragma: no cover


def _registry_lookup(request: AdminRegistryLookup, facts: dict) -> Script:
    reply = yield Ask(Lookup(key=request.key), "registry")
    return _result(request, entries=[plain(e) for e in reply.entries])


def _registry_select(request: AdminRegistrySelect, facts: dict) -> Script:
    reply = yield Ask(Select(key_prefix=request.prefix, key_pattern=request.pattern, limit=request.limit),
                      "registry")
    return _result(request, entries=[plain(e) for e in reply.entries])


# ----- domains ---------------------------------------------------------------------------------

def _tail_events(request: AdminTailEvents, facts: dict) -> Script:
    reply = yield Ask(TailEvents(limit=request.limit, name_prefix=request.name_prefix,
                                 correlation_id=request.correlation_id), FLOW)
    return _result(request, events=[plain(e) for e in reply.events])


def _policy_decisions(request: AdminPolicyDecisions, facts: dict) -> Script:
    try:
        from thunderline.messages.crown import ListDecisions
    except ImportError:
        return error(request, "unavailable", "this build of sagaline has no crown (policy) domain")
    query = ListDecisions(headers=_command_headers(), limit=request.limit,
                          correlation_id=request.correlation_id, effect=request.effect)
    reply = yield Ask(query, CROWN)
    if not hasattr(reply, "decisions"):
        return _domain_failure(request, reply)
    return _result(request, decisions=[plain(d) for d in reply.decisions])


def _nas_runs(request: AdminNasRuns, facts: dict) -> Script:
    try:
        from thunderline.messages.bolt_models import ListModelRuns
        from thunderline.messages.bridge import ListTrials
    except ImportError:
        return error(request, "unavailable", "this build of sagaline has no bolt/bridge (NAS) domains")
    runs = yield Ask(ListModelRuns(headers=_command_headers(), state=request.state), BOLT)
    if not hasattr(runs, "runs"):
        return _domain_failure(request, runs)
    trials = yield Ask(ListTrials(headers=_command_headers()), BRIDGE, optional=True,
                       timeout_s=TREE_LEVEL_TIMEOUT_S)
    by_run: dict[str, list] = {}
    for trial in getattr(trials, "trials", []):
        by_run.setdefault(trial.run_id, []).append(plain(trial))
    rows = [dict(plain(run), trials=by_run.get(run.run_id, [])) for run in runs.runs]
    return _result(request, runs=rows, trials_known=hasattr(trials, "trials"))


def _app_command(request: AdminAppCommand, facts: dict) -> Script:
    from pydantic import ValidationError

    from sagaline.messages.common import CommandFailed

    apps = _apps(facts)
    try:
        command = apps.command(request.command, request.app)
    except KeyError:
        known = ", ".join(sorted(apps.commands)) or "none"
        return error(request, "not_found", f"no command {request.command!r}"
                     f"{f' in app {request.app!r}' if request.app else ''} (known: {known})")
    headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
    try:
        message = command.message(headers=headers, **request.args)
    except (ValidationError, TypeError) as exc:
        return error(request, "invalid", f"{request.command}: {_first_problem(exc)}")
    reply = yield Ask(message, f"domain:{command.domain}")
    if isinstance(reply, CommandFailed) or not hasattr(reply, "headers"):
        return _domain_failure(request, reply)
    return _result(request, app=apps.command_app(command.name), command=command.name, domain=command.domain,
                   reply=reply.model_dump(mode="json", exclude={"headers"}, fallback=str))


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first = errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'args'}: {first['msg']}"


def _domain_failure(request: AdminRequest, reply: Any) -> AdminError:
    code = getattr(reply, "code", None)
    text = getattr(reply, "message", None) or f"unexpected reply {type(reply).__name__}"
    return error(request, "refused", text, code=code)


#: Request class -> its conversation.
CONVERSATIONS: dict[type, Callable[[Any, dict], Script]] = {
    AdminHealth: _health, AdminCatalog: _catalog, AdminListRuns: _list_runs, AdminShowRun: _show_run,
    AdminStartSaga: _start_saga, AdminWaitRun: _wait_run, AdminCancelRun: _cancel_run,
    AdminRetryCompensation: _retry, AdminResumeRun: _resume, AdminTree: _tree,
    AdminRegistryLookup: _registry_lookup, AdminRegistrySelect: _registry_select,
    AdminTailEvents: _tail_events, AdminPolicyDecisions: _policy_decisions, AdminNasRuns: _nas_runs,
    AdminAppCommand: _app_command,
}


def conversation(request: AdminRequest, facts: dict | None = None) -> Script:
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
            return stop.value
        reply = tuple(answer(a) for a in asked) if isinstance(asked, tuple) else answer(asked)
