"""Helpers for tests that build actor trees: start, observe, kill, wait."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from sagaline.actors.spawn import start_actor
from sagaline.runtime import procs
from sagaline.supervisors.api import Children, WhichChildren
from sagaline.supervisors.spec import ChildSpec, SupervisorFlags, child_spec
from sagaline.supervisors.supervisor_args import SupervisorArgs
from tests.support.actors import ProbeEvents, ProbeGetEvents, ProbePing, ProbePong, ProbeVanish

WORKER = "tests.support.actors.Worker"
PROBE = "tests.support.actors.Probe"
REGISTRY = "sagaline.registry.actor.Registry"
SUPERVISOR = "sagaline.supervisors.supervisor.Supervisor"
DYNAMIC = "sagaline.supervisors.dynamic.DynamicSupervisor"


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy; return that.

    Raises:
        AssertionError: Still falsy after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


def worker(id: str, probe: Any, **options: Any) -> ChildSpec:
    """A Worker child spec labelled ``id`` that reports to ``probe``."""
    extra = {k: options.pop(k) for k in ("fail_start", "ignore_stop", "last_words") if k in options}
    return child_spec(id, WORKER, {"probe": probe, "label": id, **extra}, **options)


def start_probe(handle: Any) -> Any:
    return start_actor(handle, PROBE)


def start_registry(handle: Any) -> Any:
    return start_actor(handle, REGISTRY)


def start_supervisor(
    handle: Any, children: list[ChildSpec], parent: Any = None, registry: Any = None, **flags: Any
) -> Any:
    args = SupervisorArgs(flags=SupervisorFlags(**flags), children=tuple(children)).model_dump()
    return start_actor(handle, SUPERVISOR, args, parent=parent, registry=registry, child_id="top")


def events(handle: Any, probe: Any, kind: str | None = None) -> list[tuple[str, str | None]]:
    """``[(label, detail)]`` of the probe's events (of ``kind``), in the order they happened.

    Sorted by the reporters' clock, not by arrival: two actors' messages to
    the probe travel on separate connections, so "b stopped, then a was told
    to stop" can arrive as a's report first (seen once under load).
    """
    reply: ProbeEvents = handle.ask(probe, ProbeGetEvents())
    return [
        (e.label, e.detail) if kind else (e.kind, e.label, e.detail)
        for e in sorted(reply.events, key=lambda e: e.at)
        if kind is None or e.kind == kind
    ]


def children(handle: Any, supervisor: Any) -> dict[str, Any]:
    """``{id: ChildInfo}`` of a supervisor."""
    reply: Children = handle.ask(supervisor, WhichChildren())
    return {row.id: row for row in reply.children}


def running_address(handle: Any, supervisor: Any, child_id: str) -> Any:
    row = children(handle, supervisor).get(child_id)
    return row.address if row is not None and row.status == "running" else None


def kill(handle: Any, address: Any) -> int | None:
    """Kill the actor at ``address`` without letting it say a word.

    On multiprocess bases: SIGKILL of its process (returns the pid); in-process:
    it exits without an ExitNotice (what a parent sees of a kill).
    """
    if handle.multiprocess:
        pong: ProbePong = handle.ask(address, ProbePing())
        os.kill(pong.pid, signal.SIGKILL)
        return pong.pid
    handle.tell(address, ProbeVanish())
    return None


pid_alive = procs.pid_alive
