"""Benchmark: the daemon's memory with many runs in flight, hosted and one process per run.

Each measurement starts a daemon (multiprocTCPBase, its defaults) with the
benchmark's ``holding`` app, whose ``held`` saga waits at a gate until the
benchmark opens it. It starts N runs from 16 threads through
``sagaline.Client`` (the time to start them is measured until the gate holds
all N), then sums the proportional set size (PSS, ``/proc/<pid>/smaps_rollup``)
of every daemon process, opens the gate and waits for every run to complete.
Hosted runs are measured at 100, 300 and 1,000 in flight; one process per
run (``runs.isolation = "process"``, the old model) at 100 by default, as
the peer figure (each run its own ~8 MB process). The goal: 1,000 hosted
runs in at most 1 GiB.

The last line is one JSON object: per mode and N, total PSS (MiB), processes,
PSS per run beyond the idle daemon, seconds to start the N runs and the
starts per second.

Usage: ``python bench/bench_inflight.py [--runs 100,300,1000] [--process-runs 100]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: The goal: this many hosted runs in flight ...
GOAL_RUNS = 1000
#: ... in at most this much PSS (MiB).
GOAL_MIB = 1024


def pss_mib(pids: set[int]) -> float:
    """Summed PSS of ``pids`` (MiB); processes that are gone count nothing."""
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
                    break
        except OSError:
            pass
    return total_kib / 1024


def daemon_pids(daemon: Any) -> set[int]:
    from sagaline.runtime.procs import pids_with_tag

    return pids_with_tag(daemon.info.tag) | {daemon.process.pid}


def measure(n: int, isolation: str) -> dict[str, Any]:
    """Hold ``n`` runs of ``held`` in flight in a fresh daemon; measure; let them finish."""
    from sagaline.client import Client
    from sagaline.messages.admin import AdminAppCommand
    from sagaline.testing.daemon import DaemonProcess

    config: dict[str, Any] = {"apps": ["holding.app:app"], "runs": {"isolation": isolation}}
    with tempfile.TemporaryDirectory(prefix="sagaline-inflight-") as tmp:
        daemon = DaemonProcess(Path(tmp), config=config).start()
        try:
            with Client(daemon.data_dir) as client:

                def waiting() -> int:
                    answer = client.request(AdminAppCommand(command="count_waiting"))
                    return int(answer.data["reply"]["count"])

                time.sleep(1.0)  # let the idle daemon settle
                idle_pids = daemon_pids(daemon)
                idle_mib = pss_mib(idle_pids)
                began = time.perf_counter()
                with ThreadPoolExecutor(16) as pool:
                    ids = list(pool.map(lambda i: client.start("held").correlation_id, range(n)))
                while waiting() < n:
                    time.sleep(0.05)
                start_s = time.perf_counter() - began
                pids = daemon_pids(daemon)
                held_mib = pss_mib(pids)
                client.request(AdminAppCommand(command="open_gate"))
                with ThreadPoolExecutor(16) as pool:
                    statuses = list(pool.map(lambda cid: client.wait(cid, timeout=600).status, ids))
        finally:
            daemon.stop()
    return {
        "mode": isolation,
        "runs": n,
        "pss_mib": round(held_mib, 1),
        "idle_pss_mib": round(idle_mib, 1),
        "processes": len(pids),
        "idle_processes": len(idle_pids),
        "kib_per_run": round(1024 * (held_mib - idle_mib) / n, 1),
        "start_s": round(start_s, 2),
        "starts_per_s": round(n / start_s, 1),
        "completed": statuses.count("completed"),
        "other": len(statuses) - statuses.count("completed"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="100,300,1000", help="hosted runs in flight, comma-separated")
    parser.add_argument("--process-runs", default="100", help="process-per-run runs in flight ('' to skip)")
    args = parser.parse_args()
    results = []
    plan = [(int(n), "hosted") for n in args.runs.split(",") if n] + [
        (int(n), "process") for n in args.process_runs.split(",") if n
    ]
    for n, mode in plan:
        result = measure(n, mode)
        results.append(result)
        print(
            f"{mode:8} {n:5} runs in flight: {result['pss_mib']:8.1f} MiB PSS over {result['processes']:4} "
            f"processes (idle {result['idle_pss_mib']:.1f} MiB), {result['kib_per_run']:8.1f} KiB/run; "
            f"started in {result['start_s']:.2f} s ({result['starts_per_s']:.0f}/s); "
            f"{result['completed']} completed",
            flush=True,
        )
    goal = next((r for r in results if r["mode"] == "hosted" and r["runs"] == GOAL_RUNS), None)
    print(
        json.dumps(
            {
                "benchmark": "inflight",
                "results": results,
                "goal": {
                    "runs": GOAL_RUNS,
                    "max_mib": GOAL_MIB,
                    "met": None if goal is None else goal["pss_mib"] <= GOAL_MIB,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
