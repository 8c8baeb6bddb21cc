"""Benchmark: recovering unfinished runs after a kill, what group commit buys, and a saga host killed.

1. **Load, then kill.** A subprocess starts the root tree (``HOSTS`` saga
   hosts, SQLite journal) on simpleSystemBase, where every actor shares one
   thread: a loader actor queues all ``RUNS`` UserProvisioning starts in one
   burst, so the runs advance together. When the journal holds ``KILL_AT``
   events per run on average (a run has 7: about half its work done), this
   script SIGKILLs the subprocess: every run is left mid-flight.
2. **Restart and recover**, twice from identical copies of the killed data
   directory (``synchronous=NORMAL``, set here; the daemon defaults to FULL): with the saga hosts'
   group commit (every record the runs of a host made while it handled what
   had arrived, in one transaction), and with one transaction per journal
   record (``bench/recovering/per_write.py``: the same host over a store that
   splits each batch). The clock runs from the restart (``start_tree``)
   until every run is terminal (each one is awaited). The goal checked: all
   terminal within 60 s (group commit).
3. **Group commit vs a commit per record, fsync on** (``synchronous=FULL``):
   a burst of ``BURST`` fresh runs in process, both ways.
4. **multiprocTCPBase** (the daemon's base: each saga host is a process
   running many runs): ``MP_RUNS`` runs, ``MP_CONCURRENCY`` in flight, FULL,
   both ways.
5. **A saga host killed** (``bench/recovering/host_kill.py``). A daemon (``sagaline.testing.daemon.DaemonProcess``,
   ``HOSTS`` hosts) runs the benchmark's ``recovering`` app, whose ``held``
   saga waits at a gate that knows each run by its correlation id and counts
   the passes each sends. ``N`` runs of host 0's partition and ``N`` of each
   other partition are held at the gate; host 0's process is SIGKILLed; the clock
   runs from the kill until every run of partition 0 is rebuilt from the
   journal by the host's successor and its pass is back at the gate (a
   re-sent pass). Checked: the other partitions re-sent nothing and their
   host kept its pid; no process of the killed host is left, and the daemon
   has as many processes as before; after the gate opens, every run
   completes, with exactly one recorded pass per run in the journal.
   ``N`` = 100 and 1,000 by default.

Journal figures come from the hosts (``GetHostStats``): SQLite
transactions, records written, records per transaction, the largest
transaction (the per-record host reports its store's transactions).

Usage: ``python bench/bench_recovery.py [runs] [--kill-runs 100,1000]``
(environment: ``BURST``, ``MP_RUNS``, ``HOSTS``, ``HOST_KILL_TIMEOUT_S``:
how long phase 5 waits for the runs before it reports them not recovered).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the recovering app and the per-record host (actor processes inherit the path)

KILL_AT = 3.5  # journal events per run when the loader is killed (a full run has 7)
RECOVERY_CONCURRENCY = 512
BURST = int(os.environ.get("BURST", 1000))
MP_RUNS, MP_CONCURRENCY = int(os.environ.get("MP_RUNS", 160)), 32
HOSTS = int(os.environ.get("HOSTS", 2))
GOAL_S = 60.0
SAGA = "user_provisioning"
FLOW = {"flow": {"mode": "drop"}}


# ----- trees, starts, host figures ----------------------------------------------------------------


class _Burst:
    """Made on first use: an actor that sends every start it is given at once (all queued before any runs)."""

    cls = None

    @classmethod
    def actor(cls):
        if cls.cls is None:
            from thespian.actors import Actor

            class Burst(Actor):
                def receiveMessage(self, message, sender):
                    if isinstance(message, tuple):
                        target, starts = message
                        for start in starts:
                            self.send(target, start)

            cls.cls = Burst
        return cls.cls


def _burst(handle, tree, runs: int, tag: str) -> list[str]:
    """Queue ``runs`` starts at once (each with its correlation id); return the ids."""
    from sagaline.messages.ids import uuid7
    from sagaline.messages.saga import StartSaga

    starts = [
        StartSaga(saga=SAGA, inputs={"email": f"{tag}{i}@example.com"}, correlation_id=uuid7()) for i in range(runs)
    ]
    handle.tell(handle.create_actor(_Burst.actor()), (tree.sagas, starts))
    return [s.correlation_id for s in starts]


def _start_tree(handle, data: Path, per_write: bool, **options: Any):
    """The UserProvisioning tree on ``data``; ``per_write``: its hosts commit each journal record alone."""
    from recovering.per_write import PER_WRITE_HOST

    from sagaline.daemon import tree as trees
    from thunderline.testing import tree_config

    config = tree_config(data, domain_config=FLOW, hosts=HOSTS, **{"synchronous": "NORMAL", **options})
    if not per_write:
        return trees.start_tree(handle, config)
    # The saga supervisor's children are built from this constant when the spec is made (here, in this process).
    original, trees.SAGA_HOST = trees.SAGA_HOST, PER_WRITE_HOST
    try:
        return trees.start_tree(handle, config)
    finally:
        trees.SAGA_HOST = original


def _host_stats(handle, tree) -> dict:
    """The journal figures of every host, summed (``largest_transaction``: the largest of any host)."""
    from sagaline.messages.registry import Lookup
    from sagaline.messages.saga import GetHostStats
    from sagaline.saga.placement import host_key

    stats = []
    for i in range(HOSTS):
        holder = handle.ask(tree.registry, Lookup(key=host_key(i)), 30).entries[0].holder
        stats.append(handle.ask(holder, GetHostStats(), 30))
    transactions, writes = sum(s.commits for s in stats), sum(s.writes for s in stats)
    return {
        "journal_writes": writes,
        "sqlite_transactions": transactions,
        "records_per_transaction": round(writes / max(1, transactions), 1),
        "largest_transaction": max(s.largest_batch for s in stats),
        "commit_failures": sum(s.commit_failures for s in stats),
        "envelopes": sum(s.envelopes for s in stats),
        "items": sum(s.items for s in stats),
    }


def _mode(per_write: bool) -> str:
    return "commit_per_write" if per_write else "group_commit"


# ----- phase 1: the loader (runs in a subprocess: python bench_recovery.py load DATA RUNS) ----------


def load(data: Path, runs: int) -> None:
    """Queue ``runs`` starts in one burst on an in-process tree and let them run (until killed)."""
    from sagaline.client import SagaClient
    from sagaline.runtime import start_system

    handle = start_system("simpleSystemBase", log_dir=data.parent / "load-logs")
    tree = _start_tree(handle, data, per_write=False)
    ids = _burst(handle, tree, runs, "r")
    client = SagaClient(handle, tree.sagas)
    for cid in ids:  # in process, actors (and their timers) run only inside a call: keep calling until killed
        client.wait(cid, timeout=3600)
    time.sleep(3600)


def _journal_events(data: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{data / 'journal.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM run_events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def load_and_kill(work: Path, runs: int) -> dict:
    data = work / "killed"
    data.mkdir(parents=True)
    # never a pipe: the loader's actor system could inherit it; a file the loader still writes after this block
    log = open(work / "loader.log", "wb")  # noqa: SIM115
    loader = subprocess.Popen(
        [sys.executable, __file__, "load", str(data), str(runs)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    started = time.perf_counter()
    try:
        while _journal_events(data) < KILL_AT * runs:
            if loader.poll() is not None:
                raise RuntimeError(f"the loader exited: {(work / 'loader.log').read_text()[-2000:]}")
            if time.perf_counter() - started > 600:
                raise RuntimeError("the loader made too little progress")
            time.sleep(0.2)
    finally:
        os.killpg(loader.pid, signal.SIGKILL)
        loader.wait()
        log.close()
    conn = sqlite3.connect(data / "journal.sqlite")
    statuses = Counter(dict(conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()))
    unfinished = conn.execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
    conn.close()
    return {
        "runs_in_journal": sum(statuses.values()),
        "unfinished_at_kill": unfinished,
        "statuses_at_kill": dict(statuses),
        "load_seconds": round(time.perf_counter() - started, 1),
    }


# ----- phase 2: restart and recover -------------------------------------------------------------


def warm_up(work: Path) -> None:
    """Start and stop a tree once, so the first timed phase does not pay for this process's imports."""
    from sagaline.client import SagaClient
    from sagaline.runtime import start_system

    handle = start_system("simpleSystemBase", log_dir=work / "warm-logs")
    try:
        tree = _start_tree(handle, work / "warm", per_write=False)
        SagaClient(handle, tree.sagas).run(SAGA, {"email": "warm@example.com"}, timeout=60)
    finally:
        handle.shutdown()


def recover(work: Path, per_write: bool) -> dict:
    from sagaline.client import SagaClient
    from sagaline.runtime import start_system

    name = "recover-" + _mode(per_write)
    data = work / name
    shutil.copytree(work / "killed", data)
    conn = sqlite3.connect(data / "journal.sqlite")
    pending = [
        r[0] for r in conn.execute("SELECT correlation_id FROM runs WHERE finished_at IS NULL ORDER BY started_at")
    ]
    conn.close()
    handle = start_system("simpleSystemBase", log_dir=work / f"{name}-logs")
    try:
        started = time.perf_counter()
        tree = _start_tree(handle, data, per_write, recovery_concurrency=RECOVERY_CONCURRENCY)
        client = SagaClient(handle, tree.sagas)
        statuses = Counter(client.wait(cid, timeout=600).status for cid in pending)
        seconds = time.perf_counter() - started
        stats = _host_stats(handle, tree)
    finally:
        handle.shutdown()
    return {
        "mode": _mode(per_write),
        "recovered": len(pending),
        "seconds": round(seconds, 2),
        "runs_per_s": round(len(pending) / seconds, 1),
        "statuses": dict(statuses),
        **stats,
    }


def burst(work: Path, per_write: bool) -> dict:
    """``BURST`` fresh runs queued at once in process, ``synchronous=FULL``; timed until every one ended."""
    from sagaline.client import SagaClient
    from sagaline.runtime import start_system

    name = "burst-" + _mode(per_write)
    handle = start_system("simpleSystemBase", log_dir=work / f"{name}-logs")
    try:
        tree = _start_tree(handle, work / name, per_write, synchronous="FULL")
        client = SagaClient(handle, tree.sagas)
        started = time.perf_counter()
        ids = _burst(handle, tree, BURST, name)
        statuses = Counter(client.wait(cid, timeout=600).status for cid in ids)
        seconds = time.perf_counter() - started
        stats = _host_stats(handle, tree)
    finally:
        handle.shutdown()
    return {
        "mode": _mode(per_write),
        "runs": BURST,
        "statuses": dict(statuses),
        "seconds": round(seconds, 2),
        "runs_per_s": round(BURST / seconds, 1),
        **stats,
    }


# ----- phase 3: multiprocTCPBase throughput ------------------------------------------------------


def multiproc(work: Path, per_write: bool) -> dict:
    from sagaline.client import SagaClient
    from sagaline.runtime import start_system

    name = "mp-" + _mode(per_write)
    handle = start_system("multiprocTCPBase", log_dir=work / f"{name}-logs")
    try:
        tree = _start_tree(handle, work / name, per_write, synchronous="FULL")
        client = SagaClient(handle, tree.sagas)
        in_flight: deque[str] = deque()
        statuses: Counter[str] = Counter()
        started = time.perf_counter()
        for i in range(MP_RUNS):
            in_flight.append(client.start(SAGA, {"email": f"{name}{i}@example.com"}).correlation_id)
            if len(in_flight) >= MP_CONCURRENCY:
                statuses[client.wait(in_flight.popleft(), timeout=120).status] += 1
        while in_flight:
            statuses[client.wait(in_flight.popleft(), timeout=120).status] += 1
        seconds = time.perf_counter() - started
        stats = _host_stats(handle, tree)
    finally:
        leaked = handle.shutdown()
    return {
        "mode": _mode(per_write),
        "runs": MP_RUNS,
        "statuses": dict(statuses),
        "seconds": round(seconds, 2),
        "runs_per_s": round(MP_RUNS / seconds, 1),
        "leaked_processes": len(leaked),
        **stats,
    }


# ----- main --------------------------------------------------------------------------------------


def main() -> None:
    from recovering.host_kill import host_kill

    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=10_000, help="runs loaded, killed and recovered")
    parser.add_argument("--kill-runs", default="100,1000", help="runs per partition held when host 0 is killed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sagaline-recovery-") as tmp:
        work = Path(tmp)
        killed = load_and_kill(work, args.runs)
        print(
            f"loaded {killed['runs_in_journal']} runs in {killed['load_seconds']} s, killed with "
            f"{killed['unfinished_at_kill']} unfinished: {killed['statuses_at_kill']}",
            flush=True,
        )
        warm_up(work)
        recoveries = [recover(work, False), recover(work, True)]
        for r in recoveries:
            print(
                f"recovery {r['mode']:17} {r['recovered']} runs terminal in {r['seconds']:>7} s "
                f"({r['runs_per_s']} runs/s), {r['sqlite_transactions']} transactions, "
                f"{r['records_per_transaction']} records/transaction, {r['statuses']}",
                flush=True,
            )
        bursts = [burst(work, False), burst(work, True)]
        for r in bursts:
            print(
                f"burst FULL     {r['mode']:17} {r['runs_per_s']:>6} runs/s, "
                f"{r['sqlite_transactions']} transactions, "
                f"{r['records_per_transaction']} records/transaction, {r['statuses']}",
                flush=True,
            )
        mp = [multiproc(work, False), multiproc(work, True)]
        for r in mp:
            print(
                f"multiproc FULL {r['mode']:17} {r['runs_per_s']:>6} runs/s, "
                f"{r['sqlite_transactions']} transactions, "
                f"{r['records_per_transaction']} records/transaction, {r['statuses']}",
                flush=True,
            )
        kills = []
        for n in (int(x) for x in args.kill_runs.split(",") if x):
            k = host_kill(work, n, HOSTS)
            kills.append(k)
            print(
                f"host 0 SIGKILLed with {n} of its runs (and {n * (HOSTS - 1)} others) held: "
                f"{'all back at the gate' if k['recovered'] else 'NOT all back'} in {k['recovery_seconds']} s "
                f"({k['recovery_runs_per_s']} runs/s); others re-sent {k['other_partitions_resent']}, "
                f"killed pid alive {k['killed_pid_alive']}, processes {k['processes_before']} -> "
                f"{k['processes_after']}; after opening: {k['statuses']}, "
                f"{k['runs_not_passed_exactly_once']} runs not passed exactly once",
                flush=True,
            )
    group, single = recoveries
    print(
        json.dumps(
            {
                "bench": "recovery",
                "runs": args.runs,
                "kill": killed,
                "recovery": recoveries,
                "recovery_goal_s": GOAL_S,
                "recovery_within_goal": group["seconds"] <= GOAL_S,
                "group_commit_gain": {
                    "recovery_normal": round(single["seconds"] / group["seconds"], 2),
                    "burst_full": round(bursts[0]["runs_per_s"] / bursts[1]["runs_per_s"], 2),
                    "multiproc_full": round(mp[0]["runs_per_s"] / mp[1]["runs_per_s"], 2),
                },
                "burst_full": bursts,
                "multiproc_full": mp,
                "host_kill": kills,
                "settings": {
                    "hosts": HOSTS,
                    "journal_mode": "WAL",
                    "recovery_synchronous": "NORMAL",
                    "burst_and_multiproc_synchronous": "FULL",
                    "recovery_concurrency": RECOVERY_CONCURRENCY,
                    "kill_at_events_per_run": KILL_AT,
                    "multiproc_concurrency": MP_CONCURRENCY,
                },
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
