"""Benchmark: where a UserProvisioning saga spends its CPU, by thread and actor in process, by process in the daemon.

**In process** (simpleSystemBase: every actor runs in the caller's thread).
A closed loop of ``RUNS`` sagas at concurrency 16 through ``SagaClient``,
measured twice:

1. plain: each thread's CPU time from ``/proc/self/task`` before and after,
   grouped (the actor thread; asyncio loop threads ``*-aio`` and aiosqlite
   workers, which the domain actors used before they ran SQLite on their own
   thread and should now be absent; anything else), with the kernel's share;
2. instrumented: ``BaseActor.receiveMessage`` wrapped to add the thread CPU
   time of each message to its actor's class (nested handling is charged to
   the inner actor only). What no actor handler used is "outside actors":
   Thespian's in-process dispatch and the client's calls. The wrapper costs
   a little CPU itself, so the second pass's total is shown too.

**The daemon** (multiprocTCPBase, runs hosted in the saga hosts, the
Thunderline app): a :class:`~sagaline.testing.daemon.DaemonProcess`, and
``DAEMON_RUNS`` sagas at concurrency 16 (16 threads of this process, each a
closed loop of ``sagaline.Client.start(..., wait=True)``, which goes
straight to the run's saga host). CPU time of each of the daemon's processes
(``/proc/<pid>/stat``) before and after, labelled by the daemon's tree
(``AdminTree``; ``daemon`` is the main process; unlabelled pids are
Thespian's admin and logger and the admin door and workers), and this
process's own CPU (the client).

**Before** (the aiosqlite relay and one OS process per run, before the saga
hosts): those figures are not measurable on this code, so they are printed
as quoted from issue 12, labelled as quotes, beside the measured "after":
in process 8.75 ms CPU per saga, 5.4 ms of it thread hand-offs (actor
thread 3.3, asyncio loop threads 3.4, aiosqlite workers 2.0, at 63f250a);
on multiprocTCPBase about 95 ms of CPU per saga across processes, about
36 ms of it the run's own process and its transport.

To measure the in-process "before" side by side instead, give ``--before
DIR``, a copy of the code before the saga hosts (``git archive 92419c9^ |
tar -x -C DIR``): this script then also runs that copy's own
``bench/bench_cpu_breakdown.py`` (same runs, same interpreter, ``DIR`` first
on the import path) and reports its JSON as ``before_measured``.

It answers "is it CPU or waiting, and whose CPU?": in process, throughput is
capped near 1 / (CPU per saga) on the one core the base can use. Linux only.

Usage: ``python bench/bench_cpu_breakdown.py [runs] [--daemon-runs N] [--before DIR]``
(defaults 1,000 and 500; ``--daemon-runs 0`` skips the daemon). The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_user_provisioning import closed_loop  # noqa: E402

SAGA = "user_provisioning"
CONCURRENCY = 16
_TICKS = os.sysconf("SC_CLK_TCK")

#: The figures before the saga hosts, quoted from issue 12 (not measured by this script).
BEFORE_QUOTED = {
    "source": "quoted from issue 12 (in-process split: commit 63f250a), not measured here: "
    "aiosqlite relay in the domain actors, one OS process per run",
    "inprocess_cpu_ms_per_saga": 8.75,
    "inprocess_cpu_ms_per_saga_by_group": {"actor_thread": 3.3, "loop_threads": 3.4, "aiosqlite_threads": 2.0},
    "inprocess_thread_handoffs_ms_per_saga": 5.4,
    "multiproc_cpu_ms_per_saga": 95.0,
    "multiproc_run_process_and_transport_ms_per_saga": 36.0,
}


# ----- in process -------------------------------------------------------------------------------


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


class ActorClock:
    """Thread CPU time inside each actor class's ``receiveMessage`` (nested handling charged to the inner one)."""

    def __init__(self) -> None:
        self.ns: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self._inner: list[int] = []

    def wrap(self, receive: Callable[..., None]) -> Callable[..., None]:
        def timed(actor: Any, message: Any, sender: Any) -> None:
            began = time.thread_time_ns()
            self._inner.append(0)
            try:
                receive(actor, message, sender)
            finally:
                inner, spent = self._inner.pop(), time.thread_time_ns() - began
                self.ns[type(actor).__name__] += spent - inner
                self.messages[type(actor).__name__] += 1
                if self._inner:
                    self._inner[-1] += spent

        return timed


def _inprocess_pass(runs: int, clock: ActorClock | None) -> dict:
    from sagaline.actors.base import BaseActor
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import start_tree
    from sagaline.runtime.system import SIMPLE, start_system
    from thunderline.testing import tree_config

    original = BaseActor.receiveMessage
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as workdir:
        handle = start_system(SIMPLE, log_dir=Path(workdir))
        try:
            tree = start_tree(handle, tree_config(Path(workdir) / "data", synchronous="NORMAL"))
            client = SagaClient(handle, tree.sagas)
            closed_loop(client, 4, 20, "warm")
            if clock is not None:
                BaseActor.receiveMessage = clock.wrap(original)
            before, cpu0, started = thread_cpu(), time.thread_time(), time.perf_counter()
            point = closed_loop(client, CONCURRENCY, runs, "c16")
            wall, cpu1, after = time.perf_counter() - started, time.thread_time(), thread_cpu()
            names = {str(t.native_id): t.name for t in threading.enumerate()}
        finally:
            BaseActor.receiveMessage = original
            handle.shutdown(timeout=10)
    return {"point": point, "wall": wall, "main_cpu": cpu1 - cpu0, "before": before, "after": after, "names": names}


def inprocess(runs: int) -> dict:
    plain = _inprocess_pass(runs, None)
    by_group: Counter[str] = Counter()
    kernel: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    for tid, (user, system) in plain["after"].items():
        user0, system0 = plain["before"].get(tid, (0.0, 0.0))
        name = plain["names"].get(tid, f"thread-{tid}")
        by_group[group(name)] += (user - user0) + (system - system0)
        kernel[group(name)] += system - system0
        by_thread[name] += (user - user0) + (system - system0)
    cpu = sum(by_group.values())
    clock = ActorClock()
    timed = _inprocess_pass(runs, clock)
    in_actors = sum(clock.ns.values()) / 1e9
    by_actor = {name: round(ns / 1e6 / runs, 3) for name, ns in clock.ns.most_common()}
    by_actor["outside actors (Thespian dispatch, client)"] = round((timed["main_cpu"] - in_actors) * 1000 / runs, 3)
    return {
        "base": "simpleSystemBase",
        "runs": runs,
        "concurrency": CONCURRENCY,
        "sagas_per_s": plain["point"]["sagas_per_s"],
        "statuses": plain["point"]["statuses"],
        "cpu_ms_per_saga": round(cpu / runs * 1000, 2),
        "cores_busy": round(cpu / plain["wall"], 2),
        "cpu_ms_per_saga_by_group": {k: round(v / runs * 1000, 2) for k, v in by_group.most_common()},
        "kernel_share_by_group": {k: round(kernel[k] / v, 2) if v else 0.0 for k, v in by_group.items()},
        "cpu_ms_per_saga_by_thread": {k: round(v / runs * 1000, 2) for k, v in by_thread.most_common(8)},
        "instrumented_cpu_ms_per_saga": round(timed["main_cpu"] * 1000 / runs, 2),
        "cpu_ms_per_saga_by_actor": by_actor,
        "messages_per_saga_by_actor": {k: round(v / runs, 1) for k, v in clock.messages.most_common()},
    }


# ----- the daemon -------------------------------------------------------------------------------


def daemon(runs: int) -> dict:
    from peers.runners import daemon_cpu, process_labels

    from sagaline.client import Client
    from sagaline.testing.daemon import DaemonProcess

    with tempfile.TemporaryDirectory(prefix="bench-cpu-daemon-") as tmp:
        config = {"admin": {"workers": CONCURRENCY}, "storage": {"synchronous": "NORMAL"}}
        proc = DaemonProcess(Path(tmp), config=config).start()
        try:
            with Client(proc.data_dir) as client:

                def one(i: int) -> str:
                    return client.start(SAGA, {"email": f"cpu-{i}@example.com"}, wait=True, timeout=120).outcome.status

                with ThreadPoolExecutor(CONCURRENCY) as pool:
                    list(pool.map(lambda i: one(-1 - i), range(20)))  # warm up: imports, connections
                    before, me0, started = daemon_cpu(proc), os.times(), time.perf_counter()
                    statuses = Counter(pool.map(one, range(runs)))
                    wall, me1, after = time.perf_counter() - started, os.times(), daemon_cpu(proc)
                labels = process_labels(client, proc)
        finally:
            stop = proc.stop()
    by_label: Counter[str] = Counter()
    for pid, seconds in after.items():
        by_label[labels.get(pid, "unlabelled (Thespian admin/logger, admin door and workers)")] += seconds - before.get(
            pid, 0.0
        )
    cpu = sum(by_label.values())
    client_cpu = (me1.user + me1.system) - (me0.user + me0.system)
    return {
        "base": "multiprocTCPBase",
        "isolation": "hosted",
        "runs": runs,
        "concurrency": CONCURRENCY,
        "sagas_per_s": round(runs / wall, 1),
        "statuses": dict(statuses),
        "daemon_cpu_ms_per_saga": round(cpu * 1000 / runs, 2),
        "daemon_cores_busy": round(cpu / wall, 2),
        "daemon_processes": len(after),
        "cpu_ms_per_saga_by_process": {k: round(v * 1000 / runs, 2) for k, v in by_label.most_common() if v > 0},
        "client_cpu_ms_per_saga": round(client_cpu * 1000 / runs, 2),
        "daemon_leftovers": len(stop.leftovers),
    }


def measured_before(directory: Path, runs: int) -> dict:
    """Run the old copy's own cpu breakdown (in process) and return its last line."""
    env = {**os.environ, "PYTHONPATH": str(directory)}
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: nothing an actor system inherits can hold it
        done = subprocess.run(
            [sys.executable, str(directory / "bench" / "bench_cpu_breakdown.py"), str(runs)],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
        out.seek(0)
        text = out.read().decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"the old copy's benchmark failed: {text[-3000:]}")
    return json.loads(text.strip().splitlines()[-1])


# ----- main --------------------------------------------------------------------------------------


def _show(title: str, figures: dict[str, float], unit: str = "ms/saga") -> None:
    print(title)
    for key, value in figures.items():
        print(f"  {value:8.2f} {unit}  {key}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=1000, help="in-process sagas per pass")
    parser.add_argument("--daemon-runs", type=int, default=500, help="sagas through the daemon (0: skip)")
    parser.add_argument("--before", type=Path, help="a copy of the code before the saga hosts (see the docstring)")
    args = parser.parse_args()
    before = measured_before(args.before.resolve(), args.runs) if args.before else None
    local = inprocess(args.runs)
    q = BEFORE_QUOTED
    print(
        f"in process: {args.runs} sagas at concurrency {CONCURRENCY}: {local['sagas_per_s']}/s, "
        f"{local['cpu_ms_per_saga']} ms CPU per saga ({local['cores_busy']} cores), {local['statuses']}"
    )
    print(
        f"  before (QUOTED from issue 12, aiosqlite relay): {q['inprocess_cpu_ms_per_saga']} ms CPU per saga, "
        f"{q['inprocess_thread_handoffs_ms_per_saga']} ms of it thread hand-offs"
    )
    if before is not None:
        print(
            f"  before (MEASURED now, {args.before}): {before['cpu_ms_per_saga']} ms CPU per saga, "
            f"{before['sagas_per_s']}/s, by thread group {before['cpu_ms_per_saga_by_group']}"
        )
    _show("  after, by thread group (measured):", local["cpu_ms_per_saga_by_group"])
    _show(
        f"  after, by actor (measured, instrumented pass: {local['instrumented_cpu_ms_per_saga']} ms/saga):",
        local["cpu_ms_per_saga_by_actor"],
    )
    result: dict[str, Any] = {
        "bench": "cpu_breakdown",
        "saga": SAGA,
        "inprocess": local,
        "before_quoted": q,
        "before_measured": before,
    }
    if args.daemon_runs:
        remote = daemon(args.daemon_runs)
        result["daemon"] = remote
        print(
            f"daemon (hosted runs): {args.daemon_runs} sagas at concurrency {CONCURRENCY}: "
            f"{remote['sagas_per_s']}/s, daemon {remote['daemon_cpu_ms_per_saga']} ms CPU per saga over "
            f"{remote['daemon_processes']} processes ({remote['daemon_cores_busy']} cores), client "
            f"{remote['client_cpu_ms_per_saga']} ms, {remote['statuses']}"
        )
        print(
            f"  before (QUOTED from issue 12, one process per run): ~{q['multiproc_cpu_ms_per_saga']:.0f} ms CPU "
            f"per saga, ~{q['multiproc_run_process_and_transport_ms_per_saga']:.0f} ms of it the run's process "
            "and its transport"
        )
        _show("  after, by process (measured):", remote["cpu_ms_per_saga_by_process"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
