"""Benchmark: the admin path. ``sagaline.Client`` straight to the run's saga host vs asking the saga supervisor.

One daemon (the real composition, :class:`sagaline.daemon.Daemon`, on
multiprocTCPBase, in this process as its owner) serves both paths, side by
side in one run:

* **direct**: a joined handle asks the saga supervisor (``sagas``)
  ``StartSaga(wait=True)`` (``SagaClient.run``); the supervisor routes it to
  the saga host of the run's partition, which answers the handle: 3
  messages between processes;
* **client**: ``sagaline.Client(address=...)`` (its own joined endpoint)
  calls ``start(..., wait=True)``: the request goes straight to the saga
  host of the run's partition (its desk, :mod:`sagaline.hosts.host_desk`),
  which answers: 2 messages, no admin worker or supervisor in between.

for UserProvisioning (the saga itself dominates: five domain commands and
their journal records, the run hosted in a saga host), at concurrency 1
and 16 (16 threads, each a closed loop of start-with-wait). Then the same
for a cheap read, to show the path's own cost: **direct** ``AwaitRun`` of a
finished run (routed to its host, which answers from memory) vs **client**
``wait`` of it (the same question, straight to the host's desk).
Requests/s is calls / wall time; p50/p99 are per-call latencies seen by
the caller. Each point also reports ``desk_served``: the requests the
hosts' desks answered meanwhile (``HostStats``), which shows which path
the calls took. The last line is one JSON object.

Usage: ``python bench/bench_admin_path.py [starts_per_point] [reads_per_point]``
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sagaline.client import Client, SagaClient
from sagaline.daemon import Daemon, load_config
from sagaline.messages.registry import Lookup
from sagaline.messages.saga import AwaitRun, GetHostStats
from sagaline.saga.placement import host_key

STARTS = int(sys.argv[1]) if len(sys.argv) > 1 else 96
READS = int(sys.argv[2]) if len(sys.argv) > 2 else 400
SAGA = "user_provisioning"
CONCURRENCY = (1, 16)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def closed_loops(call: Callable[[int], str], total: int, concurrency: int) -> dict:
    """``concurrency`` threads share ``total`` calls; each call returns a status."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    counter = iter(range(total))
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            began = time.perf_counter()
            status = call(index)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "concurrency": concurrency,
        "calls": total,
        "per_s": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "statuses": statuses,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sagaline-bench-admin-") as tmp:
        config = load_config({"data_dir": str(Path(tmp) / "data"), "admin_port": 0, "admin.workers": 16}, environ={})
        daemon = Daemon(config)
        info = daemon.start()
        try:
            results = run(daemon, info.admin_port)
        finally:
            report = daemon.stop()
    results["leaked_processes"] = len(report.killed | report.tree_leftovers)
    print(json.dumps(results))


def desk_served(daemon: Daemon) -> int:
    """Requests the saga hosts' desks have answered so far (all hosts)."""
    handle, registry = daemon.handle, daemon.tree.registry
    total, index = 0, 0
    while True:
        found = handle.ask(registry, Lookup(key=host_key(index)), 10).entries
        if not found:
            return total
        total += handle.ask(found[0].holder, GetHostStats(), 10).desk_served
        index += 1


def measured(daemon: Daemon, path: str, call: Callable[[int], str], total: int, concurrency: int) -> dict:
    """One point: the closed loops, and how many of its calls the hosts' desks answered."""
    served = desk_served(daemon)
    point = {"path": path, **closed_loops(call, total, concurrency)}
    point["desk_served"] = desk_served(daemon) - served
    return point


def run(daemon: Daemon, port: int) -> dict:
    direct = SagaClient(daemon.handle, daemon.tree.sagas)
    client = Client(address=f"127.0.0.1:{port}")

    def start_direct(tag: str) -> Callable[[int], str]:
        return lambda i: direct.run(SAGA, {"email": f"{tag}-{i}@example.com"}, timeout=120).status

    def start_client(tag: str) -> Callable[[int], str]:
        return lambda i: client.start(SAGA, {"email": f"{tag}-{i}@example.com"}, wait=True, timeout=120).outcome.status

    closed_loops(start_direct("warm-d"), 16, 4)
    closed_loops(start_client("warm-c"), 16, 4)
    results: dict = {"bench": "admin_path", "saga": SAGA, "starts": [], "reads": []}
    for concurrency in CONCURRENCY:
        for path, make in (("direct", start_direct), ("client", start_client)):
            point = measured(daemon, path, make(f"{path}-c{concurrency}"), STARTS, concurrency)
            results["starts"].append(point)
            show("start+wait", point)
    cid = client.start(SAGA, {"email": "read@example.com"}, wait=True).correlation_id
    for concurrency in CONCURRENCY:
        for path, call in (
            ("direct", lambda i: daemon.handle.ask(daemon.tree.sagas, AwaitRun(correlation_id=cid), 10).status),
            ("client", lambda i: client.wait(cid).status),
        ):
            point = measured(daemon, path, call, READS, concurrency)
            results["reads"].append(point)
            show("read", point)
    client.close()
    for kind in ("starts", "reads"):
        pairs = {(p["path"], p["concurrency"]): p for p in results[kind]}
        results[f"{kind}_client_vs_direct"] = {
            f"c{c}": round(pairs[("client", c)]["per_s"] / pairs[("direct", c)]["per_s"], 3) for c in CONCURRENCY
        }
    results["messages_per_call"] = {"direct": 3, "client": 2}  # between processes, by the paths' design
    return results


def show(what: str, p: dict) -> None:
    print(
        f"{what:11} {p['path']:7} c={p['concurrency']:<3} {p['per_s']:>8}/s  p50 {p['p50_ms']:>8} ms  "
        f"p99 {p['p99_ms']:>8} ms  desk served {p['desk_served']:>4}  {p['statuses']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
