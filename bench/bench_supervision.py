"""Benchmark: restart latency after SIGKILL, and registry lookups per second,
on multiprocTCPBase.

Restart latency: a supervisor (one_for_one, intensity raised to 1000 restarts
per second so 100 kills do not trip it) runs one worker registered under a
name. Each round SIGKILLs the worker's process and polls the registry (one
ask per poll) until the name points at a new address: kill -> re-registered.

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

from sagaline.actors.spawn import start_actor  # noqa: E402
from sagaline.messages.registry import Lookup  # noqa: E402
from sagaline.messages.supervision import WhichChildren  # noqa: E402
from sagaline.registry.client import RegistryClient  # noqa: E402
from sagaline.runtime import start_system  # noqa: E402
from sagaline.supervisors.spec import SupervisorFlags, child_spec  # noqa: E402

NAME = "bench:worker"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def worker_pid(handle, supervisor) -> tuple[object, int]:
    while True:
        row = handle.ask(supervisor, WhichChildren()).children[0]
        if row.status == "running":
            return row.address, row.pid
        time.sleep(0.001)


def measure_restarts(handle, client, supervisor, kills: int) -> list[float]:
    latencies = []
    for _ in range(kills):
        old, pid = worker_pid(handle, supervisor)
        while client.whereis(NAME) != old:  # the previous round's registration has landed
            time.sleep(0.001)
        started = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        while True:
            now = client.whereis(NAME)
            if now is not None and now != old:
                break
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
            supervisor = start_actor(handle, "sagaline.supervisors.supervisor.Supervisor",
                                     {"flags": flags.model_dump(), "children": [spec.model_dump()]},
                                     registry=registry)
            latencies = measure_restarts(handle, client, supervisor, options.kills)
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
    print(f"restart after SIGKILL (kill -> re-registered), {len(latencies)} kills: "
          f"p50 {figures['restart_ms_p50']} ms, p99 {figures['restart_ms_p99']} ms, max {figures['restart_ms_max']} ms")
    print(f"registry lookups from outside: {figures['registry_lookups_per_s_client']}/s (RegistryClient, "
          f"private endpoint per ask), {figures['registry_lookups_per_s_one_endpoint']}/s (one endpoint)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
