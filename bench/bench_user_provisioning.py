"""Benchmark: UserProvisioning sagas per second and latency, end to end.

For each Thespian base (simpleSystemBase, multiprocTCPBase) a fresh actor
system and root tree run on a temporary data directory (SQLite WAL,
synchronous NORMAL, one file per domain; the runs hosted in the saga hosts,
one per core, which write the journal with group commit). A single
``SagaClient`` (asking the saga supervisor, which routes each request to
the run's host) keeps ``concurrency`` runs in flight (start, then await the
oldest and start the next), for concurrency 1 and 16, measured side by side
in one process. Throughput is runs / wall time; latency is each run's own
start-to-end time (recorded in its outcome by the run). The last line is
one JSON object.

Usage: ``python bench/bench_user_provisioning.py [runs_per_point]``
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.runtime.system import MULTIPROC, SIMPLE, start_system
from thunderline.testing import tree_config

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SAGA = "user_provisioning"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def closed_loop(client: SagaClient, concurrency: int, runs: int, tag: str) -> dict:
    in_flight: deque[str] = deque()
    latencies, statuses = [], {}
    started = time.perf_counter()
    for i in range(runs):
        in_flight.append(client.start(SAGA, {"email": f"{tag}-{i}@example.com"}).correlation_id)
        if len(in_flight) >= concurrency:
            _collect(client, in_flight.popleft(), latencies, statuses)
    while in_flight:
        _collect(client, in_flight.popleft(), latencies, statuses)
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "runs": runs,
        "seconds": round(elapsed, 3),
        "sagas_per_s": round(runs / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 0.50) * 1000, 2),
        "latency_ms_p99": round(percentile(latencies, 0.99) * 1000, 2),
        "statuses": statuses,
    }


def _collect(client, cid, latencies, statuses):
    outcome = client.wait(cid, timeout=120)
    statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    latencies.append(outcome.finished_at - outcome.started_at)


def measure(base: str, workdir: Path) -> dict:
    handle = start_system(base, log_dir=workdir / f"{base}-logs")
    try:
        tree = start_tree(handle, tree_config(workdir / f"{base}-data", synchronous="NORMAL"))
        client = SagaClient(handle, tree.sagas)
        closed_loop(client, 4, 20, f"{base}-warm")
        points = [closed_loop(client, c, RUNS, f"{base}-c{c}") for c in (1, 16)]
    finally:
        leaked = handle.shutdown(timeout=10)
    return {"base": base, "points": points, "leaked_processes": len(leaked)}


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="sagaline-bench-") as tmp:
        for base in (SIMPLE, MULTIPROC):
            result = measure(base, Path(tmp))
            results.append(result)
            for p in result["points"]:
                print(
                    f"{base:18} c={p['concurrency']:<3} {p['sagas_per_s']:>8} sagas/s  "
                    f"p50 {p['latency_ms_p50']:>7} ms  p99 {p['latency_ms_p99']:>7} ms  {p['statuses']}"
                )
    by = {(r["base"], p["concurrency"]): p["sagas_per_s"] for r in results for p in r["points"]}
    print(
        json.dumps(
            {
                "bench": "user_provisioning",
                "sqlite": {"journal_mode": "WAL", "synchronous": "NORMAL"},
                "results": results,
                "multiproc_vs_simple_c16": round(by[(MULTIPROC, 16)] / by[(SIMPLE, 16)], 3),
                "c16_vs_c1_simple": round(by[(SIMPLE, 16)] / by[(SIMPLE, 1)], 3),
                "c16_vs_c1_multiproc": round(by[(MULTIPROC, 16)] / by[(MULTIPROC, 1)], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
