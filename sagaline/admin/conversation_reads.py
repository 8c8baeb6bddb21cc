"""PURE. The conversations that read the daemon: tree, health, catalog, registry, events, app commands,
convention.

Each is a script in the sense of :mod:`sagaline.admin.conversations`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from sagaline.admin.conversation_asks import (
    FLOW,
    HEARTBEAT_STALE_S,
    HOST_STATS_TIMEOUT_S,
    TREE_LEVEL_TIMEOUT_S,
    WATCHED,
    Ask,
    Script,
    apps_of,
    error,
    plain,
    refusal_of,
    result_of,
    saga_ask,
)
from sagaline.events.flow import TailEvents
from sagaline.messages.admin import (
    AdminAppCommand,
    AdminCatalog,
    AdminConvention,
    AdminError,
    AdminHealth,
    AdminRegistryLookup,
    AdminRegistrySelect,
    AdminRequest,
    AdminTailEvents,
    AdminTree,
    ListMembers,
    MemberList,
)
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Count, Lookup, Select
from sagaline.messages.saga import GetHostStats, HostStats, LeaseList, ListLeases
from sagaline.saga.lease import owner_endpoint, owner_member
from sagaline.saga.placement import HOST_KEY_PREFIX, host_index
from sagaline.supervisors.api import WhichChildren

__all__ = ["READ_CONVERSATIONS"]


def _node(info: Any) -> dict[str, Any]:
    row: dict[str, Any] = plain(info)
    row.pop("address", None)
    row["children"] = []
    return row


def _tree(request: AdminTree, facts: dict[str, Any]) -> Script:
    root, _ = yield from _walk(request.max_depth)
    return result_of(request, tree=root)


def _walk(max_depth: int) -> Generator[Any, Any, tuple[dict[str, Any], list[tuple[dict[str, Any], Any]]]]:
    """``which_children`` level by level: the root node, and every node found with its address."""
    root = {
        "id": "root",
        "status": "running",
        "type": "supervisor",
        "restarts": 0,
        "pid": None,
        "name": None,
        "children": [],
    }
    frontier: list[tuple[dict[str, Any], Any]] = [(root, None)]  # (node, address); None: the root itself
    found: list[tuple[dict[str, Any], Any]] = []
    for _depth in range(max_depth):
        if not frontier:
            break
        asks = tuple(
            Ask(WhichChildren(), "root")
            if address is None
            else Ask(WhichChildren(), address=address, optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
            for _, address in frontier
        )
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
    children, count = yield (
        Ask(WhichChildren(), "root", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S),
        Ask(Count(), "registry", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S),
    )
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
    return result_of(
        request,
        status="ok" if ready else "degraded" if live else "down",
        live=live,
        ready=ready,
        problems=dead + faults + idle,
        daemon=daemon,
        children=rows,
        registered=getattr(count, "count", None),
        storage=storage,
    )


def _storage(ask: bool) -> Generator[Any, Any, dict[str, Any]]:
    """Can the saga hosts write the journal? Every host (``sagahost:<i>`` in the registry) is asked for its
    stats. ``{ok, reason, hosts: [{index, fault}]}``; a host that does not answer is listed with
    ``answered: False`` and does not count as a fault (its liveness is the root's business)."""
    entries: tuple[Any, ...] = ()
    if ask:
        found = yield Ask(Select(key_prefix=HOST_KEY_PREFIX), "registry", optional=True, timeout_s=TREE_LEVEL_TIMEOUT_S)
        entries = tuple(e for e in getattr(found, "entries", ()) if e.holder is not None)
    stats = (
        (
            yield tuple(
                Ask(GetHostStats(), address=e.holder, optional=True, timeout_s=HOST_STATS_TIMEOUT_S) for e in entries
            )
        )
        if entries
        else ()
    )
    hosts: list[dict[str, Any]] = [
        {"index": s.index, "fault": s.storage_fault, "answered": True}
        if isinstance(s, HostStats)
        else {"index": host_index(e.key), "fault": None, "answered": False}
        for e, s in zip(entries, stats, strict=True)
    ]
    hosts.sort(key=lambda h: (h["index"] is None, h["index"] or 0))
    faulted = [h for h in hosts if h["fault"]]
    reason = "; ".join(f"host {h['index']}: {h['fault']}" for h in faulted) or None
    return {"ok": not faulted, "reason": reason, "hosts": hosts}


def _liveness_problems(facts: dict[str, Any], children: Any, count: Any) -> list[str]:
    """Why the daemon is not live (empty: it is): a watched process gone, a stale heartbeat,
    the root or the registry not answering."""
    probes = facts.get("probes", {})
    problems = [
        f"the {name} process (pid {facts.get('watch', {}).get(name)}) is gone"
        for name in WATCHED
        if probes.get("alive", {}).get(name) is False
    ]
    age = probes.get("heartbeat_age_s")
    if age is not None and age > HEARTBEAT_STALE_S:
        problems.append(f"the daemon's watch loop last ticked {age:.1f} s ago")
    if not hasattr(children, "children"):
        problems.append("the root supervisor did not answer")
    if not hasattr(count, "count"):
        problems.append("the registry did not answer")
    return problems


def _catalog(request: AdminCatalog, facts: dict[str, Any]) -> Script:
    catalog = apps_of(facts).describe()
    if request.saga is not None:
        catalog["sagas"] = [s for s in catalog["sagas"] if s["name"] == request.saga]
        if not catalog["sagas"]:
            known = ", ".join(sorted(apps_of(facts).sagas)) or "none"
            return error(request, "not_found", f"no saga named {request.saga!r} (known: {known})")
    return result_of(request, **catalog)
    yield  # a generator that asks nothing  # pragma: no cover


def _registry_lookup(request: AdminRegistryLookup, facts: dict[str, Any]) -> Script:
    reply = yield Ask(Lookup(key=request.key), "registry")
    return result_of(request, entries=(yield from _holders(reply.entries)))


def _registry_select(request: AdminRegistrySelect, facts: dict[str, Any]) -> Script:
    reply = yield Ask(Select(key_prefix=request.prefix, key_pattern=request.pattern, limit=request.limit), "registry")
    return result_of(request, entries=(yield from _holders(reply.entries)))


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
        row.update(
            holder_id=node["path"] if node else None,
            pid=node["pid"] if node else None,
            status=node["status"] if node else None,
        )
        rows.append(row)
    return rows


# ----- domains ---------------------------------------------------------------------------------


def _tail_events(request: AdminTailEvents, facts: dict[str, Any]) -> Script:
    reply = yield Ask(
        TailEvents(limit=request.limit, name_prefix=request.name_prefix, correlation_id=request.correlation_id), FLOW
    )
    return result_of(request, events=[plain(e) for e in reply.events])


def _app_command(request: AdminAppCommand, facts: dict[str, Any]) -> Script:
    from pydantic import ValidationError

    from sagaline.messages.common import CommandFailed

    apps = apps_of(facts)
    try:
        command = apps.command(request.command, request.app)
    except KeyError:
        known = ", ".join(sorted(apps.commands)) or "none"
        return error(
            request,
            "not_found",
            f"no command {request.command!r}{f' in app {request.app!r}' if request.app else ''} (known: {known})",
        )
    headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
    try:
        message = command.message(headers=headers, **request.args)
    except (ValidationError, TypeError) as exc:
        return error(request, "invalid", f"{request.command}: {_first_problem(exc)}")
    reply = yield Ask(message, f"domain:{command.domain}")
    if isinstance(reply, CommandFailed) or not hasattr(reply, "headers"):
        return _domain_failure(request, reply)
    return result_of(
        request,
        app=apps.command_app(command.name),
        command=command.name,
        domain=command.domain,
        reply=reply.model_dump(mode="json", exclude={"headers"}, fallback=str),
        columns=list(command.columns),
    )


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
    leases = yield saga_ask(ListLeases(), LeaseList)
    if not isinstance(leases, LeaseList):
        return refusal_of(request, leases)
    now = time.time()
    rows = [
        {
            "resource": lease["resource"],
            "member": owner_member(lease["owner"]),
            "owner": lease["owner"],
            "host": ":".join(map(str, owner_endpoint(lease["owner"]) or ())) or None,
            "expires_in_s": round(lease["expires_at"] - now, 2),
            "token": lease["token"],
            "live": lease["expires_at"] > now,
        }
        for lease in leases.leases
    ]
    return result_of(
        request,
        self=facts.get("cluster", {}),
        leases=rows,
        members=members.members if isinstance(members, MemberList) else [],
    )


#: Request class -> its conversation (the reads' part of :data:`sagaline.admin.conversations.CONVERSATIONS`).
READ_CONVERSATIONS: dict[type, Callable[[Any, dict[str, Any]], Script]] = {
    AdminHealth: _health,
    AdminCatalog: _catalog,
    AdminTree: _tree,
    AdminRegistryLookup: _registry_lookup,
    AdminRegistrySelect: _registry_select,
    AdminTailEvents: _tail_events,
    AdminAppCommand: _app_command,
    AdminConvention: _convention,
}
