"""Benchmark: one saga workload on sagaline and on the tools a user would pick instead, side by side.

The workload (``bench/peers``): a 7-step saga, every step writes one SQLite
row (WAL, synchronous NORMAL); every tenth run is refused at step 5 and
steps 4..1 are undone. Its saga and the ``rows`` domain actor are a small
app of the benchmark's own (``peers.app:app``), loaded the way a user's app
is. Runners: the raw asyncio + aiosqlite floor, DBOS (sync workflows,
SQLite system database; skipped when ``dbos`` is not installed:
``pip install 'sagaline[bench]'``), sagaline's pure ``Driver``, the
in-process actor tree (simpleSystemBase), and the daemon (multiprocTCPBase)
with hosted runs and with one process per run, through ``sagaline.Client``,
all with synchronous NORMAL as the peers; and the hosted daemon once more with
its default FULL (``daemon_full``: the price of an fsync per commit).

Each measurement runs in a fresh process; rounds alternate the runners, at
concurrency 1 and 16 (closed loop), and the figures are medians over the
rounds (the machine is shared and noisy). Every run's rows are checked: a
completed run keeps its 7 rows, a failed one none. The last line is one
JSON object: per runner and concurrency, sagas/s, p50/p99 latency, daemon
CPU per run, and the ratio of sagas/s to DBOS's in the same run.

Usage: ``python bench/bench_peers.py [--runs N] [--rounds R] [--only a,b] [--process-runs N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["floor", "dbos", "driver", "inprocess", "daemon", "daemon_full", "daemon_process"]


def one(name: str, n: int, c: int) -> None:
    """Child process: one measurement, printed as a JSON line."""
    sys.path.insert(0, str(HERE))
    from peers.runners import measure

    cpu0 = os.times()
    result = measure(name, n, c)
    cpu1 = os.times()
    lat = sorted(result["latencies"])
    out = {
        "runner": name,
        "c": c,
        "n": n,
        "sagas_per_s": n / result["seconds"],
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "statuses": {s: list(result["outcomes"].values()).count(s) for s in set(result["outcomes"].values())},
        "rows": result["rows"],
        "client_cpu_ms_per_run": 1000 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / n,
    }
    if "daemon_cpu_s" in result:
        out["daemon_cpu_ms_per_run"] = 1000 * result["daemon_cpu_s"] / n
        out["daemon_cpu_ms_per_run_by_process"] = {
            label: round(1000 * seconds / n, 3)
            for label, seconds in sorted(result["daemon_cpu_by_process"].items(), key=lambda kv: -kv[1])
            if seconds > 0
        }
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--process-runs", type=int, default=300, help="runs for daemon_process (slow)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument("--one", nargs=3, metavar=("RUNNER", "C", "N"))
    args = parser.parse_args()
    if args.one:
        one(args.one[0], n=int(args.one[2]), c=int(args.one[1]))
        return
    runners = [r for r in ORDER if not args.only or r in args.only.split(",")]
    for name, module in (("dbos", "dbos"), ("floor", "aiosqlite")):
        if name in runners and importlib.util.find_spec(module) is None:
            print(f"{name}: skipped ({module} not installed; pip install 'sagaline[bench]')")
            runners.remove(name)
    results: dict[tuple[str, int], list[dict]] = {}
    for rnd in range(args.rounds):
        for c in (1, 16):
            for name in runners if rnd % 2 == 0 else list(reversed(runners)):
                n = args.process_runs if name == "daemon_process" else args.runs
                line = subprocess.run(
                    [sys.executable, __file__, "--one", name, str(c), str(n)],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                    cwd=HERE.parent,
                )
                if line.returncode != 0:
                    print(f"{name} c={c}: FAILED\n{line.stderr[-3000:]}")
                    raise SystemExit(1)
                row = json.loads(line.stdout.strip().splitlines()[-1])
                results.setdefault((name, c), []).append(row)
                print(
                    f"round {rnd + 1} {name:15} c={c:<3} {row['sagas_per_s']:8.1f} sagas/s  "
                    f"p50 {row['p50_ms']:7.1f} ms"
                    f"  p99 {row['p99_ms']:7.1f} ms  rows {row['rows']}",
                    flush=True,
                )
    summary = _summary(results)
    for (name, c), row in sorted(summary.items(), key=lambda kv: (kv[0][1], ORDER.index(kv[0][0]))):
        print(
            f"median {name:15} c={c:<3} {row['sagas_per_s']:8.1f} sagas/s  p50 {row['p50_ms']:7.1f} ms  "
            f"p99 {row['p99_ms']:7.1f} ms  vs dbos {row.get('vs_dbos', '-')}"
        )
    print(
        json.dumps(
            {
                "bench": "peers",
                "runs": args.runs,
                "rounds": args.rounds,
                "results": {f"{name}@c{c}": row for (name, c), row in summary.items()},
            }
        )
    )


def _summary(results: dict[tuple[str, int], list[dict]]) -> dict[tuple[str, int], dict]:
    summary = {}
    for key, rows in results.items():
        med = {
            k: round(statistics.median(r[k] for r in rows), 2)
            for k in ("sagas_per_s", "p50_ms", "p99_ms", "client_cpu_ms_per_run")
        }
        if "daemon_cpu_ms_per_run" in rows[0]:
            med["daemon_cpu_ms_per_run"] = round(statistics.median(r["daemon_cpu_ms_per_run"] for r in rows), 2)
        med["rows_wrong"] = sum(r["rows"]["wrong"] for r in rows)
        summary[key] = med
    for (_name, c), row in summary.items():
        dbos = summary.get(("dbos", c))
        if dbos:
            row["vs_dbos"] = round(row["sagas_per_s"] / dbos["sagas_per_s"], 2)
    return summary


if __name__ == "__main__":
    main()
