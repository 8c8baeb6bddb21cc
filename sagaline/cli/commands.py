"""The CLI commands that talk to the daemon: arguments -> one admin request -> printed answer.

Each :class:`AdminCommand` is a :class:`~sagaline.cli.spec.CommandSpec`
(words, help, arguments as data) plus how to build its request, what to
ask first (:attr:`AdminCommand.prepare`) and how to show the answer. The
one-shot CLI and the shell share this table, so a command means the same
in both; everything goes through one :class:`sagaline.Client`.

* Run ids: wherever a command takes one (``CID``, ``--cid``), an
  unambiguous prefix will do; it is resolved through the list request
  (:meth:`sagaline.Client.resolve`); an ambiguous one is refused listing
  the candidates (exit 2), an unknown one is not found (exit 9).
* Inputs follow HTTPie's convention: ``key=value`` is text converted by the
  type the daemon's catalog gives (:mod:`sagaline.client.inputs`; a value that
  does not fit is refused here, exit 2), ``key:=json`` is JSON.
* Exit statuses: :mod:`sagaline.cli.exits`; where the words go:
  :mod:`sagaline.cli.output`.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from rich.console import RenderableType
from rich.text import Text

from sagaline.cli.exits import Exit, for_error
from sagaline.cli.output import Output
from sagaline.cli.render import render, render_apps, render_catalog, render_saga
from sagaline.cli.spec import (
    APP_ARG,
    APP_COMMAND,
    INPUT,
    LIVE_RUN,
    RESUMABLE_RUN,
    RUN,
    SAGA,
    STATUS,
    STEP,
    STUCK_RUN,
    Arg,
    CommandSpec,
)
from sagaline.cli.times import parse_when
from sagaline.client.errors import ClientError, NotFound, error_for
from sagaline.client.inputs import coerce_pairs
from sagaline.messages import admin as m
from sagaline.messages.saga import RunStatusName

__all__ = ["AdminCommand", "ADMIN_COMMANDS", "parse_inputs", "execute", "report", "RUN_STATUSES", "full_id"]

#: (args, the request the spec built, the catalog) -> the request to send; a preparer takes its own request class.
_Prepare = Callable[[argparse.Namespace, Any, Any], m.AdminRequest]
#: Every run status, in the order the README lists them.
RUN_STATUSES: tuple[str, ...] = get_args(RunStatusName)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class AdminCommand(CommandSpec):
    """One daemon command: a spec, its request builder, and its view."""

    build: Callable[[argparse.Namespace], m.AdminRequest] = lambda args: m.AdminHealth()
    #: ``(args, request, client) -> request``: completes the request with what the daemon knows (the
    #: inputs' schema) before it is sent; raises ValueError to refuse (exit 2).
    prepare: _Prepare | None = None
    #: ``(args, data) -> renderable``: the human view, when the request's default one will not do.
    view: Callable[[argparse.Namespace, dict], RenderableType] | None = None
    #: Attributes of the parsed arguments that hold run ids (prefixes are resolved before building).
    run_ids: tuple[str, ...] = ()
    #: ``(data, client) -> data``: completes the answer with what another request knows.
    enrich: Callable[[dict, Any], dict] | None = None


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``["email=ada@example.com", "n:=3"]`` -> ``{"email": "ada@example.com", "n": 3}`` (no schema: text stays text).

    Raises:
        ValueError: a pair has no ``=``, an empty key, or ``:=`` with invalid JSON, JSON nested
            too deep to parse, or an integer outside the 64-bit range the wire format carries.
    """
    return coerce_pairs(pairs, None)


def full_id(value: str) -> bool:
    """True for a whole correlation id (a UUID), which is used as it is."""
    return bool(_UUID.match(value.lower()))


def _statuses(text: str) -> list[str]:
    """``--status`` values (comma-separated), each a known run status."""
    values = [s.strip() for s in text.split(",") if s.strip()]
    for value in values:
        if value not in RUN_STATUSES:
            raise argparse.ArgumentTypeError(f"unknown status {value!r} (known: {', '.join(RUN_STATUSES)})")
    return values


def _when(text: str) -> float:
    try:
        return parse_when(text, time.time())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _flat(values: list[list[str]] | None) -> list[str]:
    return [s for value in values or [] for s in value]


CID = Arg("correlation_id", "the run's correlation id (an unambiguous prefix will do)", RUN, {"metavar": "CID"})
JSON = Arg("--json", "print the answer as JSON (times in ISO-8601 UTC)", None, {"action": "store_true"})


def _cid(kind: str = RUN) -> Arg:
    return Arg(CID.name, CID.help, kind, CID.options)


LIST_ARGS = (
    Arg(
        "--status",
        "only these statuses (repeat or comma-separate)",
        STATUS,
        {"action": "append", "type": _statuses, "metavar": "S[,S]"},
    ),
    Arg("--saga", "only runs of this saga", SAGA),
    Arg("--id", "only runs whose id starts with this", RUN, {"dest": "id_prefix", "metavar": "PREFIX"}),
    Arg(
        "--since",
        "only runs started at or after this: ISO-8601 (UTC when no zone) or an age (90s, 15m, 2h, 3d)",
        None,
        {"type": _when, "metavar": "WHEN"},
    ),
    Arg("--until", "only runs started before this (as --since)", None, {"type": _when, "metavar": "WHEN"}),
    Arg("--limit", "most rows (default 50)", None, {"type": int, "default": 50}),
    Arg(
        "--offset",
        "rows to skip first: the next page starts at offset + limit (default 0)",
        None,
        {"type": int, "default": 0},
    ),
)
START_ARGS = (
    Arg("saga", "the saga's name (see `sagas catalog`)", SAGA),
    Arg(
        "inputs",
        "inputs: key=value (converted by the input's type) or key:=json",
        INPUT,
        {"nargs": "*", "metavar": "KEY=VALUE"},
    ),
    Arg("--id", "the run's correlation id (UUID v7; default: a new one)", None, {"dest": "correlation_id"}),
    Arg(
        "--causation-id",
        "what caused the run (UUID v7), e.g. the previous run of the same business transaction",
        None,
        {"dest": "causation_id"},
    ),
    Arg(
        "--wait",
        "wait for the run to end (on a terminal: its steps shown as they progress)",
        None,
        {"action": "store_true"},
    ),
    Arg("--timeout", "seconds to wait with --wait (default 60)", None, {"type": float, "default": 60.0}),
)


def _typed_start(args: argparse.Namespace, request: m.AdminStartSaga, client: Any) -> m.AdminRequest:
    """The start with its inputs converted by the saga's schema (text as is when the saga is unknown)."""
    answer = client.request(m.AdminCatalog(saga=request.saga))
    sagas = answer.data.get("sagas") if isinstance(answer, m.AdminResult) else None
    fields = {row["name"]: row for row in sagas[0]["inputs"]} if sagas else None
    return request.model_copy(update={"inputs": coerce_pairs(args.inputs, fields)})


def _typed_app_command(args: argparse.Namespace, request: m.AdminAppCommand, client: Any) -> m.AdminRequest:
    """The command with its arguments converted by the command message's schema."""
    answer = client.request(m.AdminCatalog())
    rows = answer.data.get("commands", []) if isinstance(answer, m.AdminResult) else []
    found = [c for c in rows if c["name"] == request.command and request.app in (None, c["app"])]
    fields = {row["name"]: row for row in found[0]["args"]} if found else None
    return request.model_copy(update={"args": coerce_pairs(args.args, fields)})


def _app_list_view(args: argparse.Namespace, data: dict) -> RenderableType:
    if args.name is not None and args.name not in [c["name"] for c in data.get("commands", [])]:
        known = ", ".join(c["name"] for c in data.get("commands", [])) or "none"
        raise NotFound(f"no app command named {args.name!r} (known: {known})", "not_found")
    return render_apps(data, args.name)


def _with_lineage(data: dict, client: Any) -> dict:
    """A run record with its lineage from the journal's run summary (the list request), when the
    daemon's record does not carry it (hosts that do not fill ``RunSnapshot.resumed_from``/``successor``)."""
    if data.get("resumed_from") or data.get("successor"):
        return data
    try:
        page = client.list(id_prefix=data["correlation_id"], limit=1)
    except ClientError:  # a daemon without a durable journal lists nothing: the record stays as it is
        return data
    row = next((r for r in page.runs if r.correlation_id == data["correlation_id"]), None)
    if row is None:
        return data
    return {**data, "resumed_from": row.resumed_from, "successor": row.successor}


def _list_request(a: argparse.Namespace) -> m.AdminListRuns:
    return m.AdminListRuns(
        status=_flat(a.status),
        saga=a.saga,
        limit=a.limit,
        offset=a.offset,
        id_prefix=a.id_prefix.lower() if a.id_prefix else None,
        started_after=a.since,
        started_before=a.until,
    )


ADMIN_COMMANDS: tuple[AdminCommand, ...] = (
    AdminCommand(("sagas", "list"), "list runs, newest first (filters, time range, pages)", LIST_ARGS, _list_request),
    AdminCommand(
        ("sagas", "catalog"),
        "the sagas the daemon can run (with NAME: its typed inputs)",
        (Arg("saga", "one saga: its inputs with types, defaults and descriptions", SAGA, {"nargs": "?"}),),
        lambda a: m.AdminCatalog(saga=a.saga),
        view=lambda a, data: render_saga(data) if a.saga else render_catalog(data),
    ),
    AdminCommand(
        ("sagas", "start"),
        "start a run with inputs",
        START_ARGS,
        lambda a: m.AdminStartSaga(
            saga=a.saga,
            inputs=parse_inputs(a.inputs),
            correlation_id=a.correlation_id,
            causation_id=a.causation_id,
            wait=a.wait,
            timeout_s=a.timeout,
        ),
        prepare=_typed_start,
    ),
    AdminCommand(
        ("sagas", "show"),
        "one run, whole: inputs, result, failure, lineage, steps with undo",
        (_cid(),),
        lambda a: m.AdminShowRun(correlation_id=a.correlation_id),
        run_ids=("correlation_id",),
        enrich=_with_lineage,
    ),
    AdminCommand(
        ("sagas", "wait"),
        "wait for a run to end (on a terminal: its steps as they progress)",
        (_cid(LIVE_RUN), Arg("--timeout", "seconds to wait (default 60)", None, {"type": float, "default": 60.0})),
        lambda a: m.AdminWaitRun(correlation_id=a.correlation_id, timeout_s=a.timeout),
        run_ids=("correlation_id",),
    ),
    AdminCommand(
        ("sagas", "cancel"),
        "cancel a running run (it rolls back)",
        (_cid(LIVE_RUN), Arg("--reason", "recorded with the cancellation", None, {"default": "cancelled by operator"})),
        lambda a: m.AdminCancelRun(correlation_id=a.correlation_id, reason=a.reason),
        run_ids=("correlation_id",),
    ),
    AdminCommand(
        ("sagas", "retry"),
        "retry a stuck run's failed compensations",
        (
            _cid(STUCK_RUN),
            Arg("--step", "only this step's compensation (repeatable)", STEP, {"action": "append", "default": []}),
        ),
        lambda a: m.AdminRetryCompensation(correlation_id=a.correlation_id, steps=a.step),
        run_ids=("correlation_id",),
    ),
    AdminCommand(
        ("sagas", "resume"),
        "continue a failed or halted run from a step",
        (
            _cid(RESUMABLE_RUN),
            Arg("--from", "the step to run again first (default: where it stopped)", STEP, {"dest": "from_step"}),
        ),
        lambda a: m.AdminResumeRun(correlation_id=a.correlation_id, from_step=a.from_step),
        run_ids=("correlation_id",),
    ),
    AdminCommand(
        ("tree",),
        "the supervision tree: names, states, restart counts, pids",
        (Arg("--depth", "how deep to walk (default 8)", None, {"type": int, "default": 8}),),
        lambda a: m.AdminTree(max_depth=a.depth),
    ),
    AdminCommand(
        ("registry", "lookup"),
        "who holds a registry key (its place in the tree, pid, state)",
        (Arg("key", "the registry key (e.g. sagas, domain:gate, saga:<cid>)"),),
        lambda a: m.AdminRegistryLookup(key=a.key),
    ),
    AdminCommand(
        ("registry", "list"),
        "registry entries by prefix or pattern",
        (
            Arg("--prefix", "keys starting with this"),
            Arg("--pattern", "keys matching this shell pattern"),
            Arg("--limit", "at most this many (default 200)", None, {"type": int, "default": 200}),
        ),
        lambda a: m.AdminRegistrySelect(prefix=a.prefix, pattern=a.pattern, limit=a.limit),
    ),
    AdminCommand(
        ("events", "tail"),
        "the newest stored events",
        (
            Arg("--limit", "how many (default 20)", None, {"type": int, "default": 20}),
            Arg("--prefix", "only event names starting with this", None, {"default": ""}),
            Arg("--cid", "only this run's events (an id prefix will do)", RUN),
        ),
        lambda a: m.AdminTailEvents(limit=a.limit, name_prefix=a.prefix, correlation_id=a.cid),
        run_ids=("cid",),
    ),
    AdminCommand(
        ("members",),
        "the convention: this daemon's role, the members, who holds which partition",
        (),
        lambda a: m.AdminConvention(),
    ),
    AdminCommand(
        ("health",),
        "is the daemon well? (live, ready, facts)",
        (
            Arg(
                "--exit-code",
                "exit 0 when ready, 6 when live but not ready, 7 when not live, 10 when "
                "the journal cannot be written (a probe)",
                None,
                {"action": "store_true"},
            ),
            Arg("--live", "with --exit-code: only liveness counts (exit 0 or 7)", None, {"action": "store_true"}),
        ),
        lambda a: m.AdminHealth(),
    ),
    AdminCommand(
        ("app", "list"),
        "the loaded apps and their admin commands (with COMMAND: its arguments)",
        (Arg("name", "one command: its arguments with types", APP_COMMAND, {"nargs": "?", "metavar": "COMMAND"}),),
        lambda a: m.AdminCatalog(),
        view=_app_list_view,
    ),
    AdminCommand(
        ("app", "run"),
        "run an app's admin command with arguments",
        (
            Arg("name", "the command's name (see `app list`)", APP_COMMAND, {"metavar": "COMMAND"}),
            Arg(
                "args",
                "arguments: key=value (converted by the argument's type) or key:=json",
                APP_ARG,
                {"nargs": "*", "metavar": "KEY=VALUE"},
            ),
            Arg("--app", "the app declaring it (default: whichever does)"),
        ),
        lambda a: m.AdminAppCommand(command=a.name, app=a.app, args=parse_inputs(a.args)),
        prepare=_typed_app_command,
    ),
)


# ----- running one ---------------------------------------------------------------------------------------


def execute(
    command: AdminCommand, args: argparse.Namespace, client: Any, output: Output, stop: threading.Event | None = None
) -> int:
    """Build the request, ask the daemon through ``client``, print the answer; return the exit status.

    Raises:
        ClientError: the daemon could not be asked (the caller reports it: :func:`report`).
    """
    from pydantic import ValidationError

    try:
        for attr in command.run_ids:
            value = getattr(args, attr, None)
            if value:  # a whole id as it is (in lower case, as the daemon keeps it); a prefix resolved
                setattr(args, attr, value.lower() if full_id(value) else client.resolve(value))
        request = command.build(args)
        if command.prepare is not None:
            request = command.prepare(args, request, client)
    except (ValueError, ValidationError) as exc:
        output.error("invalid", _first_problem(exc), exit_code=Exit.BAD_INPUT)
        return Exit.BAD_INPUT
    if output.live and _waits(request):
        return _follow_run(command, args, request, client, output, stop)
    answer = client.request(request)
    if isinstance(answer, m.AdminError):
        return report(output, error_for(answer))
    data = command.enrich(answer.data, client) if command.enrich is not None else answer.data
    return _answered(command, args, request, data, output)


def report(output: Output, error: ClientError) -> int:
    """Print a client error (one line on stderr; with ``--json`` also on stdout); return its exit status."""
    status = for_error(error)
    message = str(error)
    if error.code and message.startswith(f"{error.code}: "):
        message = message[len(error.code) + 2 :]
    if error.details.get("code") and error.details["code"] != error.code:
        message += f" [{error.details['code']}]"
    if error.code == "unreachable" and "no sagaline daemon is running" in message:
        message += (
            "; if it runs elsewhere, point at it with --data-dir DIR (its daemon.json) or --admin-port PORT "
            "(or SAGALINE_DATA_DIR / SAGALINE_ADMIN_PORT)"
        )
    output.error(error.code or type(error).__name__.lower(), message, error.details, status)
    return status


def _waits(request: m.AdminRequest) -> bool:
    return isinstance(request, m.AdminWaitRun) or (isinstance(request, m.AdminStartSaga) and request.wait)


def _follow_run(
    command: AdminCommand,
    args: argparse.Namespace,
    request: Any,
    client: Any,
    output: Output,
    stop: threading.Event | None,
) -> int:
    """``--wait`` on a terminal: start (without waiting), then follow the run's steps until it ends."""
    from sagaline.cli.watch import follow

    extra: dict[str, Any] = {}
    cid = getattr(request, "correlation_id", None)
    if isinstance(request, m.AdminStartSaga):
        begun = client.request(request.model_copy(update={"wait": False}))
        if isinstance(begun, m.AdminError):
            return report(output, error_for(begun))
        cid, extra = begun.data["correlation_id"], {"existing": begun.data["existing"]}
        verb = "already exists" if extra["existing"] else "started"
        output.progress(
            Text(
                f"run {cid} ({request.saga}) {verb}; its steps as they progress (Ctrl-C stops following, not the run):",
                style="dim",
            )
        )
    if cid is None:
        missing = m.AdminError(code="internal", message="a followed run needs its correlation id")
        return report(output, error_for(missing))
    data = follow(client, cid, request.timeout_s, output.progress, stop)
    return _answered(command, args, request, {**extra, **data}, output)


def _answered(
    command: AdminCommand, args: argparse.Namespace, request: m.AdminRequest, data: dict, output: Output
) -> int:
    refusal = _refusal(request, data)
    if output.json:
        output.data(data)
    elif refusal is None:
        output.show(
            command.view(args, data)
            if command.view
            else render(m.AdminResult(request=type(request).__name__, data=data))
        )
    if refusal is not None:
        output.err.write(f"error (refused): {refusal}\n")
        return Exit.REFUSED
    return _outcome_status(request, data, args)


def _refusal(request: m.AdminRequest, data: dict) -> str | None:
    """Why an operator action or a cancel was refused (None: it was not)."""
    if isinstance(request, (m.AdminCancelRun, m.AdminRetryCompensation, m.AdminResumeRun)) and not data["accepted"]:
        if isinstance(request, m.AdminCancelRun):
            return f"run {data['correlation_id']} is not running (it is {data['status']}); nothing to cancel"
        return f"run {data['correlation_id']} ({data['status']}): {data.get('message') or 'refused'}"
    return None


def _outcome_status(request: m.AdminRequest, data: dict, args: argparse.Namespace) -> int:
    if isinstance(request, m.AdminHealth) and getattr(args, "exit_code", False):
        if not data.get("live", True):
            return Exit.NOT_LIVE
        if getattr(args, "live", False) or data.get("ready", True):
            return Exit.OK
        return Exit.NOT_READY if (data.get("storage") or {}).get("ok", True) else Exit.STORAGE_FAULT
    if _waits(request) and data.get("status") != "completed":
        return Exit.NOT_COMPLETED
    return Exit.OK


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
