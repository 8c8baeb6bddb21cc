"""Benchmark: UserProvisioning throughput with telemetry off versus on, side by side.

"On" is the operator default: the OpenTelemetry bridge (spans and metrics)
writing JSON-lines files under a temporary telemetry directory. "Off" is
exporter ``none`` (no handler attached: ``execute`` returns at once).

* simpleSystemBase: one system and tree in this process; telemetry is
  installed and removed between rounds (:func:`sagaline.telemetry.setup.install`
  / ``reset``).
* multiprocTCPBase: two systems and trees at once, one started with
  ``SAGALINE_TELEMETRY_EXPORTER=none`` and one with ``jsonl`` (the launcher
  hands its environment to every actor process); rounds alternate between them.

Rounds come in off/on pairs (order alternating) so drift on a shared,
noisy machine hits both sides alike; each side's throughput is its runs
over its summed round time (closed loop, ``concurrency`` runs in flight).
Overhead = 1 - on/off throughput, overall and as the median of the pairs;
and the CPU time per run, less sensitive to other load on the machine
(in-process: this process's; multiprocess: the system's processes': the
saga hosts, which run every run, the domain actors and the rest of the
tree, plus the times of any child process they reaped). Each tree has one
saga host per core (the default). The last line is one JSON object.

Usage: ``python bench/bench_telemetry.py [runs_per_round] [rounds] [concurrency]``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.runtime.system import MULTIPROC, SIMPLE, start_system
from sagaline.telemetry import setup
from sagaline.telemetry.exporters import JsonlMetricExporter, JsonlSpanExporter
from thunderline.testing import tree_config

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
CONCURRENCY = int(sys.argv[3]) if len(sys.argv) > 3 else 16
SAGA = "user_provisioning"


def system_cpu(handle) -> float:
    """CPU seconds used so far by a multiprocess system's live processes and the children
    they reaped (an ended child's time is in its parent's cutime/cstime)."""
    total = 0
    for pid in handle.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile: its time moves to its parent's children fields
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def closed_loop(client: SagaClient, runs: int, tag: str, cpu_clock=time.process_time) -> tuple[float, float, dict]:
    """Wall and CPU seconds (``cpu_clock``) for ``runs`` runs with CONCURRENCY in flight, and their statuses."""
    in_flight: deque[str] = deque()
    statuses: dict[str, int] = {}
    started, cpu = time.perf_counter(), cpu_clock()
    for i in range(runs):
        in_flight.append(client.start(SAGA, {"email": f"{tag}-{i}@example.com"}).correlation_id)
        if len(in_flight) >= CONCURRENCY:
            _collect(client, in_flight.popleft(), statuses)
    while in_flight:
        _collect(client, in_flight.popleft(), statuses)
    return time.perf_counter() - started, cpu_clock() - cpu, statuses


def _collect(client: SagaClient, cid: str, statuses: dict) -> None:
    status = client.wait(cid, timeout=120).status
    statuses[status] = statuses.get(status, 0) + 1


def _pct(off: float, on: float) -> float:
    """Throughput lost with telemetry on, in percent, from the two sides' seconds."""
    return round(100 * (1 - off / on), 1)


def _summary(rounds: list[dict], statuses: dict) -> dict:
    wall = {side: sum(r[side][0] for r in rounds) for side in ("off", "on")}
    rate = {side: round(RUNS * len(rounds) / wall[side], 1) for side in wall}
    pairs = sorted(_pct(r["off"][0], r["on"][0]) for r in rounds)
    out = {
        "sagas_per_s_off": rate["off"],
        "sagas_per_s_on": rate["on"],
        "overhead_pct": _pct(wall["off"], wall["on"]),
        "overhead_pct_median_pair": pairs[len(pairs) // 2],
        "overhead_pct_pairs": pairs,
        "statuses": statuses,
    }
    cpu_s = {side: sum(r[side][1] for r in rounds) for side in ("off", "on")}
    out["cpu_ms_per_run"] = {side: round(1000 * cpu_s[side] / (RUNS * len(rounds)), 3) for side in cpu_s}
    out["cpu_overhead_pct"] = round(100 * (cpu_s["on"] / cpu_s["off"] - 1), 1)
    return out


def _rounds(clients: dict, toggle=None, clocks: dict | None = None) -> dict:
    """ROUNDS pairs of off/on rounds (order alternating), after a warm-up of each side."""
    rounds, statuses = [], {"off": {}, "on": {}}
    for side in ("off", "on"):
        if toggle:
            toggle(side)
        closed_loop(clients[side], 20, f"warm-{side}")
    for r in range(ROUNDS):
        pair = {}
        for side in ("off", "on") if r % 2 == 0 else ("on", "off"):
            if toggle:
                toggle(side)
            clock = clocks[side] if clocks else time.process_time
            wall, cpu, got = closed_loop(clients[side], RUNS, f"{side}-{r}", clock)
            pair[side] = (wall, cpu)
            for status, n in got.items():
                statuses[side][status] = statuses[side].get(status, 0) + n
        rounds.append(pair)
    return _summary(rounds, statuses)


def measure_simple(workdir: Path) -> dict:
    telemetry_dir = workdir / "simple-telemetry"

    def toggle(side: str) -> None:
        setup.reset()
        if side == "on":
            setup.install(JsonlSpanExporter(telemetry_dir), JsonlMetricExporter(telemetry_dir))

    handle = start_system(SIMPLE, log_dir=workdir / "simple-logs")
    try:
        tree = start_tree(handle, tree_config(workdir / "simple-data"))
        client = SagaClient(handle, tree.sagas)
        result = _rounds({"off": client, "on": client}, toggle)
    finally:
        setup.shutdown()
        handle.shutdown(timeout=10)
    return {"base": SIMPLE, **result, "span_lines": _lines(telemetry_dir, "spans")}


def _start_multiproc(workdir: Path, side: str) -> tuple:
    os.environ["SAGALINE_TELEMETRY_EXPORTER"] = "jsonl" if side == "on" else "none"
    os.environ["SAGALINE_TELEMETRY_DIR"] = str(workdir / "multiproc-telemetry")
    try:
        handle = start_system(MULTIPROC, log_dir=workdir / f"multiproc-{side}-logs")
    finally:
        del os.environ["SAGALINE_TELEMETRY_EXPORTER"], os.environ["SAGALINE_TELEMETRY_DIR"]
    tree = start_tree(handle, tree_config(workdir / f"multiproc-{side}-data"))
    return handle, SagaClient(handle, tree.sagas)


def measure_multiproc(workdir: Path) -> dict:
    handles, clients, clocks = [], {}, {}
    try:
        for side in ("off", "on"):
            handle, clients[side] = _start_multiproc(workdir, side)
            handles.append(handle)
            clocks[side] = lambda handle=handle: system_cpu(handle)
        result = _rounds(clients, clocks=clocks)
    finally:
        leaked = sum(len(h.shutdown(timeout=10)) for h in handles)
    return {
        "base": MULTIPROC,
        **result,
        "leaked_processes": leaked,
        "span_lines": _lines(workdir / "multiproc-telemetry", "spans"),
    }


def _lines(directory: Path, stem: str) -> int:
    return sum(sum(1 for _ in open(p)) for p in directory.glob(f"{stem}-*.jsonl"))


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="sagaline-bench-telemetry-") as tmp:
        for measure in (measure_simple, measure_multiproc):
            result = measure(Path(tmp))
            results.append(result)
            cpu = f"  cpu ms/run {result['cpu_ms_per_run']} (+{result['cpu_overhead_pct']} %)"
            print(
                f"{result['base']:18} c={CONCURRENCY:<3} off {result['sagas_per_s_off']:>8} sagas/s  "
                f"on {result['sagas_per_s_on']:>8} sagas/s  overhead {result['overhead_pct']:>5} % "
                f"(median pair {result['overhead_pct_median_pair']} %){cpu}  {result['span_lines']} span lines"
            )
    print(
        json.dumps(
            {
                "bench": "telemetry",
                "runs_per_round": RUNS,
                "rounds": ROUNDS,
                "concurrency": CONCURRENCY,
                "telemetry_on": "jsonl spans+metrics",
                "results": results,
                "overhead_pct": {r["base"]: r["overhead_pct"] for r in results},
                "cpu_overhead_pct": {r["base"]: r["cpu_overhead_pct"] for r in results},
            }
        )
    )


if __name__ == "__main__":
    main()
