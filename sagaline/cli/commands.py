"""The CLI commands that talk to the daemon: arguments -> one admin request -> printed answer.

Each :class:`AdminCommand` names its words (``("sagas", "list")``), adds its
arguments to an ``argparse`` parser and builds its request from the parsed
namespace. The one-shot CLI and the shell share this table, so a command
means the same in both.

Saga inputs and app command arguments follow HTTPie's convention:
``key=value`` is text, converted to the type the daemon's catalog gives for
that field (``max_trials=3`` is an integer, ``pinned=true`` a boolean; see
:mod:`sagaline.cli.inputs`; a value that does not fit is refused here, exit
2), and ``key:=json`` is JSON (``tags:='["a","b"]'``).

Exit status: 0 done; 1 the daemon answered with an error; 2 usage error;
3 no daemon running; 4 no answer in time; 5 (``--wait``, ``sagas wait``)
the run ended without completing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from sagaline.cli.inputs import coerce_pairs
from sagaline.cli.render import render_apps, render_catalog, render_saga
from sagaline.messages import admin as m

__all__ = ["AdminCommand", "ADMIN_COMMANDS", "parse_inputs", "execute", "EXIT_RUN_NOT_COMPLETED"]

_Prepare = Callable[[argparse.Namespace, m.AdminRequest, Any], m.AdminRequest]

EXIT_OK, EXIT_ERROR, EXIT_RUN_NOT_COMPLETED = 0, 1, 5


@dataclass(frozen=True)
class AdminCommand:
    """One daemon command: its words, help, arguments and request builder."""

    words: tuple[str, ...]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace], m.AdminRequest]
    #: ``(args, request, client) -> request``: completes the request with what the daemon
    #: knows (the inputs' schema), before it is sent; raises ValueError to refuse (exit 2).
    prepare: _Prepare | None = None
    #: ``(args, data) -> text``: the human view, when the request's default one will not do.
    view: Callable[[argparse.Namespace, dict], str] | None = None


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``["email=ada@example.com", "n:=3"]`` -> ``{"email": "ada@example.com", "n": 3}`` (no schema: text stays text).

    Raises:
        ValueError: a pair has no ``=``, an empty key, or ``:=`` with invalid JSON, JSON nested
            too deep to parse, or an integer outside the 64-bit range the wire format carries.
    """
    return coerce_pairs(pairs, None)


def _statuses(values: list[str] | None) -> list[str]:
    return [s for value in values or [] for s in value.split(",") if s]


def _none(parser: argparse.ArgumentParser) -> None:
    pass


def _cid(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("correlation_id", metavar="CID", help="the run's correlation id")


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="append", help="only these statuses (repeat or comma-separate)")
    p.add_argument("--saga", help="only runs of this saga")
    p.add_argument("--limit", type=int, default=50, help="most rows (default 50)")


def _catalog_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("saga", nargs="?", help="one saga: its inputs with types, defaults and descriptions")


def _start_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("saga", help="the saga's name (see `sagas catalog`)")
    p.add_argument("inputs", nargs="*", metavar="KEY=VALUE",
                   help="inputs: key=value (converted by the input's type) or key:=json")
    p.add_argument("--id", dest="correlation_id", help="the run's correlation id (UUID v7; default: new)")
    p.add_argument("--causation-id", dest="causation_id",
                   help="what caused the run (UUID v7), e.g. the previous run of the same business transaction")
    p.add_argument("--wait", action="store_true", help="wait for the run to end and show its outcome")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait with --wait (default 60)")


def _wait_args(p: argparse.ArgumentParser) -> None:
    _cid(p)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")


def _cancel_args(p: argparse.ArgumentParser) -> None:
    _cid(p)
    p.add_argument("--reason", default="cancelled by operator", help="recorded with the cancellation")


def _retry_args(p: argparse.ArgumentParser) -> None:
    _cid(p)
    p.add_argument("--step", action="append", default=[], help="only this step's compensation (repeatable)")


def _resume_args(p: argparse.ArgumentParser) -> None:
    _cid(p)
    p.add_argument("--from", dest="from_step", help="the step to run again first (default: where it stopped)")


def _tree_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=int, default=8, help="how deep to walk (default 8)")


def _lookup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", help="the registry key (e.g. sagas, domain:gate, saga:<cid>)")


def _select_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prefix", help="keys starting with this")
    p.add_argument("--pattern", help="keys matching this shell pattern")
    p.add_argument("--limit", type=int, default=200)


def _tail_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    p.add_argument("--prefix", default="", help="only event names starting with this")
    p.add_argument("--cid", help="only this run's events")


def _decisions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--cid", help="only this run's decisions")
    p.add_argument("--effect", choices=["allow", "deny"])


def _app_list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="COMMAND", help="one command: its arguments with types")


def _app_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="COMMAND", help="the command's name (see `app list`)")
    p.add_argument("args", nargs="*", metavar="KEY=VALUE",
                   help="arguments: key=value (converted by the argument's type) or key:=json")
    p.add_argument("--app", help="the app declaring it (default: whichever does)")


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


def _nas_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", choices=["initialized", "running", "succeeded", "failed", "cancelled"])


ADMIN_COMMANDS: tuple[AdminCommand, ...] = (
    AdminCommand(("sagas", "list"), "list runs, newest first", _list_args,
                 lambda a: m.AdminListRuns(status=_statuses(a.status), saga=a.saga, limit=a.limit)),
    AdminCommand(("sagas", "catalog"), "the sagas the daemon can run (with NAME: its typed inputs)", _catalog_args,
                 lambda a: m.AdminCatalog(saga=a.saga),
                 view=lambda a, data: render_saga(data) if a.saga else render_catalog(data)),
    AdminCommand(("sagas", "start"), "start a run with inputs", _start_args,
                 lambda a: m.AdminStartSaga(saga=a.saga, inputs=parse_inputs(a.inputs),
                                            correlation_id=a.correlation_id, causation_id=a.causation_id,
                                            wait=a.wait, timeout_s=a.timeout),
                 prepare=_typed_start),
    AdminCommand(("sagas", "show"), "one run: steps with timings, errors, compensations", _cid,
                 lambda a: m.AdminShowRun(correlation_id=a.correlation_id)),
    AdminCommand(("sagas", "wait"), "wait for a run to end", _wait_args,
                 lambda a: m.AdminWaitRun(correlation_id=a.correlation_id, timeout_s=a.timeout)),
    AdminCommand(("sagas", "cancel"), "cancel a running run (it rolls back)", _cancel_args,
                 lambda a: m.AdminCancelRun(correlation_id=a.correlation_id, reason=a.reason)),
    AdminCommand(("sagas", "retry"), "retry a stuck run's failed compensations", _retry_args,
                 lambda a: m.AdminRetryCompensation(correlation_id=a.correlation_id, steps=a.step)),
    AdminCommand(("sagas", "resume"), "continue a failed or halted run from a step", _resume_args,
                 lambda a: m.AdminResumeRun(correlation_id=a.correlation_id, from_step=a.from_step)),
    AdminCommand(("tree",), "the supervision tree with restart counts", _tree_args,
                 lambda a: m.AdminTree(max_depth=a.depth)),
    AdminCommand(("registry", "lookup"), "who holds a registry key", _lookup_args,
                 lambda a: m.AdminRegistryLookup(key=a.key)),
    AdminCommand(("registry", "list"), "registry entries by prefix or pattern", _select_args,
                 lambda a: m.AdminRegistrySelect(prefix=a.prefix, pattern=a.pattern, limit=a.limit)),
    AdminCommand(("events", "tail"), "the newest stored events", _tail_args,
                 lambda a: m.AdminTailEvents(limit=a.limit, name_prefix=a.prefix, correlation_id=a.cid)),
    AdminCommand(("policy", "decisions"), "crown's audited policy decisions", _decisions_args,
                 lambda a: m.AdminPolicyDecisions(limit=a.limit, correlation_id=a.cid, effect=a.effect)),
    AdminCommand(("nas", "runs"), "NAS model runs with trial progress", _nas_args,
                 lambda a: m.AdminNasRuns(state=a.state)),
    AdminCommand(("health",), "is the daemon well?", _none, lambda a: m.AdminHealth()),
    AdminCommand(("app", "list"), "the loaded apps and their admin commands (with COMMAND: its arguments)",
                 _app_list_args, lambda a: m.AdminCatalog(), view=lambda a, data: render_apps(data, a.name)),
    AdminCommand(("app", "run"), "run an app's admin command with arguments", _app_run_args,
                 lambda a: m.AdminAppCommand(command=a.name, app=a.app, args=parse_inputs(a.args)),
                 prepare=_typed_app_command),
)


def execute(command: AdminCommand, args: argparse.Namespace, client: Any, out: TextIO, err: TextIO) -> int:
    """Build the request, ask the daemon through ``client``, print the answer; return the exit status."""
    from pydantic import ValidationError

    from sagaline.cli.render import as_json, render, render_error

    try:
        request = command.build(args)
        if command.prepare is not None:
            request = command.prepare(args, request, client)
    except (ValueError, ValidationError) as exc:
        print(f"error: {_first_problem(exc)}", file=err)
        return 2
    answer = client.request(request)
    if isinstance(answer, m.AdminError):
        print(as_json(answer.model_dump(mode="json")) if args.json else render_error(answer),
              file=out if args.json else err)
        return EXIT_ERROR
    if args.json:
        print(as_json(answer.data), file=out)
    else:
        print(command.view(args, answer.data) if command.view else render(answer), file=out)
    return _outcome_status(request, answer.data)


def _outcome_status(request: m.AdminRequest, data: dict) -> int:
    waited = isinstance(request, m.AdminWaitRun) or (isinstance(request, m.AdminStartSaga) and request.wait)
    if waited and data.get("status") != "completed":
        return EXIT_RUN_NOT_COMPLETED
    return EXIT_OK


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
