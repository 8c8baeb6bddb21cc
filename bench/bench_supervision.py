"""Benchmark: restart latency after SIGKILL, and registry lookups per second,
on multiprocTCPBase.

Restart latency: a supervisor (one_for_one, intensity raised to 1000 restarts
per second so 100 kills do not trip it) runs one worker registered under a
name. The benchmark subscribes to the registry for that name; each round
SIGKILLs the worker's process and waits for the registry's next
``registered`` event for the name: kill -> re-registered. A round that takes
over 30 s ends the benchmark with an error instead of hanging it.

Registry lookups: sequential Lookup asks from outside the actor system,
through RegistryClient (a private endpoint per ask, as every caller outside
actors does) and through one reused private endpoint.

Usage: ``.venv/bin/python bench/bench_supervision.py [--kills 100] [--lookups 2000]``.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sagaline.actors.spawn import start_actor
from sagaline.messages.registry import Lookup, RegistryEvent, Subscribe, Subscribed
from sagaline.registry.client import RegistryClient
from sagaline.runtime import start_system
from sagaline.supervisors.api import WhichChildren
from sagaline.supervisors.spec import SupervisorFlags, child_spec

NAME = "bench:worker"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class StalledRound(RuntimeError):
    """A kill round did not finish within ROUND_TIMEOUT_S; the message says what was seen."""


#: Seconds one round (find the worker, kill it, see it re-registered) may take: a
#: supervisor that stops restarting must end the benchmark with an error, never hang it.
ROUND_TIMEOUT_S = 30.0


def worker_pid(handle, supervisor, deadline: float, round_no: int) -> int:
    """The pid of the supervisor's running worker (it may still be starting)."""
    while True:
        row = handle.ask(supervisor, WhichChildren(), 5.0).children[0]
        if row.status == "running" and row.pid:
            return row.pid
        if time.monotonic() > deadline:
            raise StalledRound(
                f"round {round_no}: no running worker within {ROUND_TIMEOUT_S:g} s (last answer: {row!r})"
            )
        time.sleep(0.001)


def next_registration(events, deadline: float, round_no: int, pid: int) -> None:
    """Wait on the subscribed endpoint ``events`` for NAME's next ``registered`` event.

    Events, not lookups: a restarted worker may get the port, hence the
    address, its killed predecessor had, so "the name points at a new
    address" cannot tell the two apart.
    """
    while True:
        left = deadline - time.monotonic()
        message = events.listen(max(left, 0.001)) if left > 0 else None
        if isinstance(message, RegistryEvent) and message.kind == "registered" and message.key == NAME:
            return
        if left <= 0:
            raise StalledRound(
                f"round {round_no}: {NAME} not re-registered within {ROUND_TIMEOUT_S:g} s after killing pid {pid}"
            )


def measure_restarts(handle, registry, supervisor, kills: int) -> list[float]:
    """Kill the worker ``kills`` times; each latency is kill -> its successor registered (ms)."""
    latencies = []
    with handle.asys.private() as events:
        if not isinstance(events.ask(registry, Subscribe(key_prefix=NAME), 5.0), Subscribed):
            raise StalledRound("the registry did not confirm the subscription")
        for round_no in range(1, kills + 1):
            deadline = time.monotonic() + ROUND_TIMEOUT_S
            pid = worker_pid(handle, supervisor, deadline, round_no)
            started = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            next_registration(events, deadline, round_no, pid)
            latencies.append((time.perf_counter() - started) * 1000.0)
    return latencies


def measure_lookups(handle, client, registry, count: int) -> tuple[float, float]:
    started = time.perf_counter()
    for _ in range(count):
        client.lookup(NAME)
    per_ask = count / (time.perf_counter() - started)
    with handle.asys.private() as endpoint:
        started = time.perf_counter()
        for _ in range(count):
            endpoint.ask(registry, Lookup(key=NAME), 5.0)
        reused = count / (time.perf_counter() - started)
    return per_ask, reused


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--lookups", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-supervision-") as log_dir:
        handle = start_system("multiprocTCPBase", log_dir=log_dir)
        try:
            registry = start_actor(handle, "sagaline.registry.actor.Registry")
            client = RegistryClient(handle, registry)
            flags = SupervisorFlags(max_restarts=1000, max_seconds=1.0)
            spec = child_spec("w", "sagaline.actors.base.BaseActor", name=NAME)
            supervisor = start_actor(
                handle,
                "sagaline.supervisors.supervisor.Supervisor",
                {"flags": flags.model_dump(), "children": [spec.model_dump()]},
                registry=registry,
            )
            latencies = measure_restarts(handle, registry, supervisor, options.kills)
            per_ask, reused = measure_lookups(handle, client, registry, options.lookups)
        finally:
            leaked = handle.shutdown()
    figures = {
        "base": "multiprocTCPBase",
        "kills": len(latencies),
        "restart_ms_p50": round(statistics.median(latencies), 2),
        "restart_ms_p99": round(percentile(latencies, 0.99), 2),
        "restart_ms_max": round(max(latencies), 2),
        "registry_lookups_per_s_client": round(per_ask),
        "registry_lookups_per_s_one_endpoint": round(reused),
        "leaked_processes": len(leaked),
    }
    print(
        f"restart after SIGKILL (kill -> re-registered), {len(latencies)} kills: "
        f"p50 {figures['restart_ms_p50']} ms, p99 {figures['restart_ms_p99']} ms, max {figures['restart_ms_max']} ms"
    )
    print(
        f"registry lookups from outside: {figures['registry_lookups_per_s_client']}/s (RegistryClient, "
        f"private endpoint per ask), {figures['registry_lookups_per_s_one_endpoint']}/s (one endpoint)"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
