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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any

from sagaline.events.flow import TailEvents
from sagaline.messages.admin import (
    AdminAppCommand,
    AdminCancelRun,
    AdminCatalog,
    AdminConvention,
    AdminError,
    AdminHealth,
    AdminListRuns,
    AdminRegistryLookup,
    AdminRegistrySelect,
    AdminRequest,
    AdminResult,
    AdminResumeRun,
    AdminRetryCompensation,
    AdminShowRun,
    AdminStartSaga,
    AdminTailEvents,
    AdminTree,
    AdminWaitRun,
    ListMembers,
    MemberList,
)
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Count, Lookup, Select
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    CancelRun,
    GetHostStats,
    HostStats,
    LeaseList,
    ListLeases,
    ListRuns,
    OperatorAnswer,
    ResumeRun,
    RetryCompensation,
    RunOutcome,
    RunSnapshot,
    RunsPage,
    RunStatus,
    SagaAccepted,
    SagaRefused,
    StartSaga,
)
from sagaline.saga.lease import owner_endpoint, owner_member
from sagaline.saga.placement import HOST_KEY_PREFIX, host_index
from sagaline.supervisors.api import WhichChildren

__all__ = ["Ask", "Missing", "NoAnswer", "CONVERSATIONS", "conversation", "drive", "plain", "error",
           "HEARTBEAT_STALE_S", "WATCHED"]

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


def _saga(message: Any, *replies: type) -> Ask:
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


def _result(request: AdminRequest, **data: Any) -> AdminResult:
    return AdminResult(request=type(request).__name__, data=data)


def _refused(request: AdminRequest, reply: Any) -> AdminError:
    if isinstance(reply, SagaRefused):
        code = "not_found" if reply.code == "unknown_run" else "refused"
        return error(request, code, reply.message, code=reply.code)
    return error(request, "internal", f"unexpected reply {type(reply).__name__}")


# ----- runs ------------------------------------------------------------------------------------

def _list_runs(request: AdminListRuns, facts: dict[str, Any]) -> Script:
    """Pages by over-fetching ``offset + limit`` rows (ListRuns has no cursor). A saga no app
    declares is refused unless runs of it exist (a run whose saga was removed is still listed)."""
    wanted = min(request.offset + request.limit, 10_000)
    query = ListRuns(status=list(request.status), saga=request.saga, limit=wanted, id_prefix=request.id_prefix,
                     started_after=request.started_after, started_before=request.started_before)
    reply = yield _saga(query, RunsPage)
    if not isinstance(reply, RunsPage):
        return _refused(request, reply)
    sagas = _known_sagas(facts)
    if request.saga is not None and sagas is not None and request.saga not in sagas and reply.total == 0:
        known = ", ".join(sorted(sagas)) or "none"
        return error(request, "invalid", f"no saga named {request.saga!r} (known: {known})", field="saga")
    rows = reply.runs[request.offset:request.offset + request.limit]
    return _result(request, runs=[plain(r) for r in rows], total=reply.total, offset=request.offset)


#: Statuses after which a run changes no more (its outcome can be asked without waiting).
_ENDED = ("completed", "failed", "cancelled", "stuck", "halted", "needs_operator")


def _show_run(request: AdminShowRun, facts: dict[str, Any]) -> Script:
    """The snapshot (steps), and for an ended run its outcome (result, error) merged in."""
    cid = request.correlation_id
    reply = yield _saga(RunStatus(correlation_id=cid), RunSnapshot, CancelAnswer)
    if isinstance(reply, RunSnapshot) and reply.status not in _ENDED:
        return _result(request, **_run_record(plain(reply), None, facts))
    if not isinstance(reply, (RunSnapshot, CancelAnswer)):
        return _refused(request, reply)
    record = plain(reply) if isinstance(reply, RunSnapshot) else None
    outcome = yield replace(_saga(AwaitRun(correlation_id=cid), RunOutcome), optional=True,
                            timeout_s=TREE_LEVEL_TIMEOUT_S)  # ended: at once; never wait here
    if isinstance(outcome, RunOutcome):
        return _result(request, **_run_record(record, plain(outcome), facts))
    return _result(request, **_run_record(record, None, facts)) if record is not None \
        else _refused(request, outcome)


#: Outcome fields that win over the snapshot's (the snapshot's own fields win for the rest).
_OUTCOME_ONLY = ("result", "error", "failed_step", "failed_compensations")


def _run_record(record: dict[str, Any] | None, outcome: dict[str, Any] | None, facts: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with an ended run's outcome merged in, its steps in plan order, and the failed
    step's error message taken from the outcome when the snapshot kept only its code."""
    merged = {**(outcome or {}), **(record or {})}
    if outcome is not None:
        merged.update({k: outcome[k] for k in _OUTCOME_ONLY})
    steps = [dict(step) for step in merged.get("steps", [])]
    failure, failed = merged.get("error") or {}, merged.get("failed_step")
    for step in steps:
        mine = step.get("error") or {}
        if step["name"] == failed and mine.get("code") == failure.get("code") and not mine.get("message"):
            step["error"] = {**failure, **{k: v for k, v in mine.items() if v not in (None, "")}}
    if "steps" in merged:
        merged["steps"] = _plan_ordered(steps, merged.get("saga"), facts)
    return merged


def _plan_ordered(steps: list[dict[str, Any]], saga: str | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """``steps`` in the saga's plan order when the daemon knows the saga (else as they came)."""
    sagas = _known_sagas(facts)
    if sagas is None or saga not in sagas:
        return steps
    from sagaline.saga.planner import plan

    order = {name: index for index, name in enumerate(plan(sagas[saga]).order)}
    return sorted(steps, key=lambda step: order.get(step["name"], len(order)))


def _start_saga(request: AdminStartSaga, facts: dict[str, Any]) -> Script:
    start = StartSaga(saga=request.saga, inputs=request.inputs, correlation_id=request.correlation_id,
                      causation_id=request.causation_id, wait=request.wait)
    reply = yield _saga(start, RunOutcome, SagaAccepted)
    if isinstance(reply, RunOutcome):
        return _result(request, **plain(reply))
    if isinstance(reply, SagaAccepted):
        return _result(request, correlation_id=reply.correlation_id, saga=reply.saga, existing=reply.existing)
    return _refused(request, reply)


def _wait_run(request: AdminWaitRun, facts: dict[str, Any]) -> Script:
    reply = yield _saga(AwaitRun(correlation_id=request.correlation_id), RunOutcome)
    if isinstance(reply, RunOutcome):
        return _result(request, **plain(reply))
    return _refused(request, reply)


def _cancel_run(request: AdminCancelRun, facts: dict[str, Any]) -> Script:
    reply = yield _saga(CancelRun(correlation_id=request.correlation_id, reason=request.reason), CancelAnswer)
    if isinstance(reply, CancelAnswer):
        return _result(request, **plain(reply))
    return _refused(request, reply)


def _retry(request: AdminRetryCompensation, facts: dict[str, Any]) -> Script:
    """Steps named are checked first: each must be a step of the run whose compensation failed."""
    if request.steps:
        snapshot = yield _saga(RunStatus(correlation_id=request.correlation_id), RunSnapshot, CancelAnswer)
        problem = _unknown_steps(request, snapshot, request.steps, retrying=True)
        if problem is not None:
            return problem
    reply = yield _saga(RetryCompensation(correlation_id=request.correlation_id, steps=request.steps),
                        OperatorAnswer)
    return _operator_answer(request, reply)


def _resume(request: AdminResumeRun, facts: dict[str, Any]) -> Script:
    """``from_step`` is checked first: it must be a step of the run."""
    if request.from_step is not None:
        snapshot = yield _saga(RunStatus(correlation_id=request.correlation_id), RunSnapshot, CancelAnswer)
        problem = _unknown_steps(request, snapshot, [request.from_step], retrying=False)
        if problem is not None:
            return problem
    reply = yield _saga(ResumeRun(correlation_id=request.correlation_id, from_step=request.from_step),
                        OperatorAnswer)
    return _operator_answer(request, reply)


def _unknown_steps(request: AdminRequest, snapshot: Any, names: list[str], retrying: bool) -> AdminError | None:
    """Why the steps named do not fit the run (None: they do, or the run's steps are not known here)."""
    if not isinstance(snapshot, RunSnapshot):
        return _refused(request, snapshot) if isinstance(snapshot, SagaRefused) else None
    steps = {step.name: step for step in snapshot.steps}
    if not steps:
        return None
    flag = "--step" if retrying else "--from"
    unknown = [name for name in names if name not in steps]
    if unknown:
        return error(request, "invalid", f"{flag} {unknown[0]!r}: run {snapshot.correlation_id} (saga "
                     f"{snapshot.saga}) has no such step; its steps: {', '.join(steps)}", field=flag[2:])
    failed = [name for name, step in steps.items() if step.status == "undo_failed"]
    if retrying and snapshot.status == "stuck":
        idle = [name for name in names if name not in failed]
        if idle:
            return error(request, "invalid", f"--step {idle[0]!r}: its compensation did not fail (it is "
                         f"{steps[idle[0]].status}); the failed ones: {', '.join(failed) or 'none'}", field="step")
    return None


def _operator_answer(request: AdminRequest, reply: Any) -> AdminResult | AdminError:
    if isinstance(reply, OperatorAnswer):
        return _result(request, **plain(reply))
    return _refused(request, reply)


# ----- the tree, the registry, health ----------------------------------------------------------

def _node(info: Any) -> dict[str, Any]:
    row: dict[str, Any] = plain(info)
    row.pop("address", None)
    row["children"] = []
    return row


def _tree(request: AdminTree, facts: dict[str, Any]) -> Script:
    root, _ = yield from _walk(request.max_depth)
    return _result(request, tree=root)


def _walk(max_depth: int) -> Generator[Any, Any, tuple[dict[str, Any], list[tuple[dict[str, Any], Any]]]]:
    """``which_children`` level by level: the root node, and every node found with its address."""
    root = {"id": "root", "status": "running", "type": "supervisor", "restarts": 0, "pid": None,
            "name": None, "children": []}
    frontier: list[tuple[dict[str, Any], Any]] = [(root, None)]  # (node, address); None: the root itself
    found: list[tuple[dict[str, Any], Any]] = []
    for _depth in range(max_depth):
        if not frontier:
            break
        asks = tuple(Ask(WhichChildren(), "root") if address is None else
                     Ask(WhichChildren(), address=address, optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
                     for _, address in frontier)
        replies = yield asks
        frontier = _expand(frontier, replies, found)
    return root, found


def _expand(frontier: list[Any], replies: tuple[Any, ...], found: list[Any]) -> list[Any]:
    following = []
    for (node, _), reply in zip(frontier, replies, strict=False):
        if not hasattr(reply, "children"):
            node["unreachable"] = True
            continue
        for info in reply.children:
            child = _node(info)
            child["path"] = f"{node.get('path', node['id'])}/{child['id']}"
            node["children"].append(child)
            found.append((child, info.address))
            if info.type == "supervisor" and info.address is not None:
                following.append((child, info.address))
    return following


def _health(request: AdminHealth, facts: dict[str, Any]) -> Script:
    children, count = yield (Ask(WhichChildren(), "root", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S),
                             Ask(Count(), "registry", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S))
    rows = [_node(info) for info in getattr(children, "children", ())]
    for row in rows:
        row.pop("children")
    dead = _liveness_problems(facts, children, count)
    storage = yield from _storage(not dead)
    idle = [f"{row['id']} is {row['status']}" for row in rows if row["status"] != "running"]
    faults = [f"storage: {storage['reason']}"] if not storage["ok"] else []
    live, ready = not dead, not dead and not idle and not faults
    daemon = {k: v for k, v in facts.items() if k not in ("probes", "watch", "catalog")}
    if "started_at" in daemon:
        daemon["uptime_s"] = round(time.time() - daemon["started_at"], 3)
    return _result(request, status="ok" if ready else "degraded" if live else "down", live=live, ready=ready,
                   problems=dead + faults + idle, daemon=daemon, children=rows,
                   registered=getattr(count, "count", None), storage=storage)


def _storage(ask: bool) -> Generator[Any, Any, dict[str, Any]]:
    """Can the saga hosts write the journal? Every host (``sagahost:<i>`` in the registry) is asked for its
    stats. ``{ok, reason, hosts: [{index, fault}]}``; a host that does not answer is listed with
    ``answered: False`` and does not count as a fault (its liveness is the root's business)."""
    entries: tuple[Any, ...] = ()
    if ask:
        found = yield Ask(Select(key_prefix=HOST_KEY_PREFIX), "registry", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
        entries = tuple(e for e in getattr(found, "entries", ()) if e.holder is not None)
    stats = (yield tuple(Ask(GetHostStats(), address=e.holder, optional=True, timeout_s=HOST_STATS_TIMEOUT_S)
                         for e in entries)) if entries else ()
    hosts: list[dict[str, Any]] = [
        {"index": s.index, "fault": s.storage_fault, "answered": True} if isinstance(s, HostStats) else
        {"index": host_index(e.key), "fault": None, "answered": False}
        for e, s in zip(entries, stats, strict=True)]
    hosts.sort(key=lambda h: (h["index"] is None, h["index"] or 0))
    faulted = [h for h in hosts if h["fault"]]
    reason = "; ".join(f"host {h['index']}: {h['fault']}" for h in faulted) or None
    return {"ok": not faulted, "reason": reason, "hosts": hosts}


def _liveness_problems(facts: dict[str, Any], children: Any, count: Any) -> list[str]:
    """Why the daemon is not live (empty: it is): a watched process gone, a stale heartbeat,
    the root or the registry not answering."""
    probes = facts.get("probes", {})
    problems = [f"the {name} process (pid {facts.get('watch', {}).get(name)}) is gone"
                for name in WATCHED if probes.get("alive", {}).get(name) is False]
    age = probes.get("heartbeat_age_s")
    if age is not None and age > HEARTBEAT_STALE_S:
        problems.append(f"the daemon's watch loop last ticked {age:.1f} s ago")
    if not hasattr(children, "children"):
        problems.append("the root supervisor did not answer")
    if not hasattr(count, "count"):
        problems.append("the registry did not answer")
    return problems


def _known_sagas(facts: dict[str, Any]) -> dict[str, Any] | None:
    """The daemon's sagas by name; None when the catalog is not at hand (nothing is checked against it)."""
    catalog = facts.get("catalog")
    return None if catalog is None else catalog.sagas


def _apps(facts: dict[str, Any]) -> Any:
    """The apps the daemon runs: ``facts["catalog"]``, the :class:`sagaline.apps.Apps` the worker loaded.

    The worker (the shell) loads them; this module only reads the catalog, so it stays free of imports.
    """
    catalog = facts.get("catalog")
    if catalog is None:
        raise LookupError("the admin worker was given no app catalog (facts['catalog'])")
    return catalog


def _catalog(request: AdminCatalog, facts: dict[str, Any]) -> Script:
    catalog = _apps(facts).describe()
    if request.saga is not None:
        catalog["sagas"] = [s for s in catalog["sagas"] if s["name"] == request.saga]
        if not catalog["sagas"]:
            known = ", ".join(sorted(_apps(facts).sagas)) or "none"
            return error(request, "not_found", f"no saga named {request.saga!r} (known: {known})")
    return _result(request, **catalog)
    yield  # a generator that asks nothing  # pragma: no cover


def _registry_lookup(request: AdminRegistryLookup, facts: dict[str, Any]) -> Script:
    reply = yield Ask(Lookup(key=request.key), "registry")
    return _result(request, entries=(yield from _holders(reply.entries)))


def _registry_select(request: AdminRegistrySelect, facts: dict[str, Any]) -> Script:
    reply = yield Ask(Select(key_prefix=request.prefix, key_pattern=request.pattern, limit=request.limit),
                      "registry")
    return _result(request, entries=(yield from _holders(reply.entries)))


def _holders(entries: Any) -> Generator[Any, Any, list[dict[str, Any]]]:
    """Entries with their holder named by its place in the supervision tree (``holder_id``: the
    path from the root, ``pid``, ``status``; null when the holder is in no supervisor's list[Any])."""
    if not entries:
        return []
    _, found = yield from _walk(8)
    rows = []
    for entry in entries:
        node = next((n for n, address in found if address is not None and address == entry.holder), None)
        row = plain(entry)
        row.update(holder_id=node["path"] if node else None, pid=node["pid"] if node else None,
                   status=node["status"] if node else None)
        rows.append(row)
    return rows


# ----- domains ---------------------------------------------------------------------------------

def _tail_events(request: AdminTailEvents, facts: dict[str, Any]) -> Script:
    reply = yield Ask(TailEvents(limit=request.limit, name_prefix=request.name_prefix,
                                 correlation_id=request.correlation_id), FLOW)
    return _result(request, events=[plain(e) for e in reply.events])


def _app_command(request: AdminAppCommand, facts: dict[str, Any]) -> Script:
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
                   reply=reply.model_dump(mode="json", exclude={"headers"}, fallback=str),
                   columns=list(command.columns))


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


def _convention(request: AdminConvention, facts: dict[str, Any]) -> Script:
    """This daemon's place, the members its admin knows, and the partition leases (from the journal)."""
    members = yield Ask(ListMembers(), "convention", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
    leases = yield _saga(ListLeases(), LeaseList)
    if not isinstance(leases, LeaseList):
        return _refused(request, leases)
    now = time.time()
    rows = [{"resource": lease["resource"], "member": owner_member(lease["owner"]), "owner": lease["owner"],
             "host": ":".join(map(str, owner_endpoint(lease["owner"]) or ())) or None,
             "expires_in_s": round(lease["expires_at"] - now, 2), "token": lease["token"],
             "live": lease["expires_at"] > now} for lease in leases.leases]
    return _result(request, self=facts.get("cluster", {}), leases=rows,
                   members=members.members if isinstance(members, MemberList) else [])


#: Request class -> its conversation.
CONVERSATIONS: dict[type, Callable[[Any, dict[str, Any]], Script]] = {
    AdminHealth: _health, AdminCatalog: _catalog, AdminListRuns: _list_runs, AdminShowRun: _show_run,
    AdminStartSaga: _start_saga, AdminWaitRun: _wait_run, AdminCancelRun: _cancel_run,
    AdminRetryCompensation: _retry, AdminResumeRun: _resume, AdminTree: _tree,
    AdminRegistryLookup: _registry_lookup, AdminRegistrySelect: _registry_select,
    AdminTailEvents: _tail_events, AdminAppCommand: _app_command, AdminConvention: _convention,
}


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
