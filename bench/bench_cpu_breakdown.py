"""Benchmark: where an in-process UserProvisioning saga spends its CPU, by thread.

The in-process base (simpleSystemBase) runs every actor in the caller's
thread; each domain actor and the journal also own an asyncio loop thread
(``<domain>-aio``) and aiosqlite gives each connection a worker thread. This
script runs a closed loop of sagas at concurrency 16, reads each thread's
CPU time from ``/proc/self/task`` before and after, and prints CPU per saga
by thread group, with the share spent in the kernel: the actor thread
(actors, pydantic, the pure executor), the loop threads (the coroutines, and
every hand-off to and from SQLite), the aiosqlite workers (SQLite itself,
and their queue hand-offs). Linux only.

It answers "is it CPU or waiting, and whose CPU?": throughput is capped at
about 1 / (CPU per saga) on the one core the in-process base can use.

Usage: ``python bench/bench_cpu_breakdown.py [runs]`` (default 1,000). The
last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_user_provisioning import closed_loop  # noqa: E402

from sagaline.actors.tree import start_tree  # noqa: E402
from thunderline.testing import tree_config  # noqa: E402
from sagaline.client import SagaClient  # noqa: E402
from sagaline.runtime.system import SIMPLE, start_system  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
_TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, tuple[float, float]]:
    """(user, system) CPU seconds of each live thread of this process, by thread id."""
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # the thread ended while we looked
        seconds[tid] = (int(fields[11]) / _TICKS, int(fields[12]) / _TICKS)
    return seconds


def group(name: str) -> str:
    if name == "MainThread":
        return "actor_thread"
    if name.endswith("-aio"):
        return "loop_threads"
    if "_connection_worker_thread" in name:
        return "aiosqlite_threads"
    return "other"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as workdir:
        handle = start_system(SIMPLE, log_dir=Path(workdir))
        try:
            tree = start_tree(handle, tree_config(Path(workdir) / "data"))
            client = SagaClient(handle, tree.sagas)
            closed_loop(client, 4, 20, "warm")
            before, started = thread_cpu(), time.perf_counter()
            point = closed_loop(client, 16, RUNS, "c16")
            wall, after = time.perf_counter() - started, thread_cpu()
            names = {str(t.native_id): t.name for t in threading.enumerate()}
        finally:
            handle.shutdown(timeout=10)
    by_group: Counter[str] = Counter()
    kernel: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    for tid, (user, system) in after.items():
        user0, system0 = before.get(tid, (0.0, 0.0))
        name = names.get(tid, f"thread-{tid}")
        used = (user - user0) + (system - system0)
        by_group[group(name)] += used
        kernel[group(name)] += system - system0
        by_thread[name] += used
    cpu = sum(by_group.values())
    ms = {key: round(value / RUNS * 1000, 2) for key, value in by_group.most_common()}
    kernel_share = {key: round(kernel[key] / value, 2) if value else 0.0 for key, value in by_group.items()}
    print(f"{RUNS} sagas at concurrency 16: {point['sagas_per_s']}/s, wall {wall:.2f} s, "
          f"CPU {cpu:.2f} s ({cpu / wall:.2f} cores), {cpu / RUNS * 1000:.2f} ms CPU per saga")
    for key, value in ms.items():
        print(f"  {value:6.2f} ms/saga  {key} ({kernel_share[key]:.0%} of it in the kernel)")
    for name, value in by_thread.most_common(8):
        print(f"      {value / RUNS * 1000:6.2f} ms/saga  {name}")
    print(json.dumps({"bench": "cpu_breakdown", "base": SIMPLE, "runs": RUNS, "concurrency": 16,
                      "sagas_per_s": point["sagas_per_s"], "cpu_ms_per_saga": round(cpu / RUNS * 1000, 2),
                      "cores_busy": round(cpu / wall, 2), "cpu_ms_per_saga_by_group": ms,
                      "kernel_share_by_group": kernel_share, "statuses": point["statuses"]}))


if __name__ == "__main__":
    main()
