"""Benchmark: recovering 10,000 unfinished runs after a kill, and what group commit buys.

1. **Load, then kill.** A subprocess starts the root tree (SQLite journal,
   group commit) on simpleSystemBase, where every actor shares one thread:
   a loader actor queues all ``RUNS`` UserProvisioning starts in one burst,
   so the runs advance together. When the journal holds ``KILL_AT`` events
   per run on average (a run has 7: about half its work done), this script
   SIGKILLs the subprocess: every run is left mid-flight.
2. **Restart and recover**, twice from identical copies of the killed data
   directory (``synchronous=NORMAL``, the default): with group commit, and
   with one commit per journal write. The clock runs from the restart
   (``start_tree``) until every run is terminal (each one is awaited).
   The goal checked: all terminal within 60 s (group commit).
3. **Group commit vs a commit per write, fsync on** (``synchronous=FULL``):
   a burst of ``BURST`` fresh runs in process, both ways.
4. **multiprocTCPBase** (one process per run, the daemon's base):
   ``MP_RUNS`` runs, ``MP_CONCURRENCY`` in flight, FULL, both ways.

Every figure names the journal's commits, writes per commit (batch sizes)
and the seconds the journal spent committing, so the share of the journal
in a recovery is visible. Usage: ``python bench/bench_recovery.py [runs]``
(environment: ``BURST``, ``MP_RUNS``). The last line is one JSON object.
"""

from __future__ import annotations

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

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10_000
KILL_AT = 3.5  # journal events per run when the loader is killed (a full run has 7)
RECOVERY_CONCURRENCY = 512
BURST = int(os.environ.get("BURST", 1000))
MP_RUNS, MP_CONCURRENCY = int(os.environ.get("MP_RUNS", 160)), 32
GOAL_S = 60.0
SAGA = "user_provisioning"
FLOW = {"flow": {"mode": "drop"}}


# ----- phase 1: the loader (runs in a subprocess: python bench_recovery.py load DATA RUNS) ----------

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


def _burst(handle, tree, runs: int, tag: str) -> None:
    """Queue ``runs`` starts at once; in-process, ``tell`` returns when all queued work is done."""
    from sagaline.messages.saga import StartSaga

    starts = [StartSaga(saga=SAGA, inputs={"email": f"{tag}{i}@example.com"}) for i in range(runs)]
    handle.tell(handle.create_actor(_Burst.actor()), (tree.sagas, starts))


def load(data: Path, runs: int) -> None:
    """Queue ``runs`` starts in one burst on an in-process tree and let them run (until killed)."""
    from sagaline.actors.tree import start_tree
    from thunderline.testing import tree_config
    from sagaline.runtime import start_system

    handle = start_system("simpleSystemBase", log_dir=data.parent / "load-logs")
    tree = start_tree(handle, tree_config(data, domain_config=FLOW, pool_size=64))
    _burst(handle, tree, runs, "r")  # runs everything until killed
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
    log = open(work / "loader.log", "wb")
    loader = subprocess.Popen([sys.executable, __file__, "load", str(data), str(runs)], stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL, start_new_session=True)
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
    return {"runs_in_journal": sum(statuses.values()), "unfinished_at_kill": unfinished,
            "statuses_at_kill": dict(statuses), "load_seconds": round(time.perf_counter() - started, 1)}


# ----- phase 2: restart and recover -------------------------------------------------------------

def recover(work: Path, name: str, group_commit: bool) -> dict:
    from sagaline.actors.tree import start_tree
    from thunderline.testing import tree_config
    from sagaline.client import SagaClient
    from sagaline.messages.journal import GetJournalStats
    from sagaline.runtime import start_system

    data = work / name
    shutil.copytree(work / "killed", data)
    conn = sqlite3.connect(data / "journal.sqlite")
    pending = [r[0] for r in conn.execute("SELECT correlation_id FROM runs WHERE finished_at IS NULL "
                                          "ORDER BY started_at")]
    conn.close()
    handle = start_system("simpleSystemBase", log_dir=work / f"{name}-logs")
    try:
        started = time.perf_counter()
        tree = start_tree(handle, tree_config(data, domain_config=FLOW, pool_size=64,
                                             recovery_concurrency=RECOVERY_CONCURRENCY,
                                             journal_options={"group_commit": group_commit}))
        client = SagaClient(handle, tree.sagas)
        statuses = Counter(client.wait(cid, timeout=600).status for cid in pending)
        seconds = time.perf_counter() - started
        stats = handle.ask(tree.journal, GetJournalStats(), 30)
    finally:
        handle.shutdown()
    return {"mode": "group_commit" if group_commit else "commit_per_write", "recovered": len(pending),
            "seconds": round(seconds, 2), "runs_per_s": round(len(pending) / seconds, 1),
            "statuses": dict(statuses), **_stats(stats)}


def _stats(stats) -> dict:
    return {"commits": stats.commits, "writes": stats.writes,
            "writes_per_commit": round(stats.writes / max(1, stats.commits), 1), "largest_batch": stats.largest_batch,
            "journal_commit_seconds": stats.commit_seconds,
            "batch_histogram": {f"{2 ** i}-{2 ** (i + 1) - 1}": n for i, n in enumerate(stats.batch_sizes) if n}}


def burst(work: Path, group_commit: bool) -> dict:
    """``BURST`` fresh runs queued at once in process, ``synchronous=FULL``."""
    from sagaline.actors.tree import start_tree
    from thunderline.testing import tree_config
    from sagaline.messages.journal import GetJournalStats
    from sagaline.messages.saga import ListRuns
    from sagaline.runtime import start_system

    name = f"burst-{'group' if group_commit else 'single'}"
    handle = start_system("simpleSystemBase", log_dir=work / f"{name}-logs")
    try:
        tree = start_tree(handle, tree_config(work / name, domain_config=FLOW, pool_size=64,
                                             synchronous="FULL", journal_options={"group_commit": group_commit}))
        started = time.perf_counter()
        _burst(handle, tree, BURST, name)
        seconds = time.perf_counter() - started
        done = handle.ask(tree.sagas, ListRuns(status=["completed"], limit=1), 60).total
        stats = handle.ask(tree.journal, GetJournalStats(), 30)
    finally:
        handle.shutdown()
    return {"mode": "group_commit" if group_commit else "commit_per_write", "runs": BURST, "completed": done,
            "seconds": round(seconds, 2), "runs_per_s": round(BURST / seconds, 1), **_stats(stats)}


# ----- phase 3: multiprocTCPBase throughput ------------------------------------------------------

def multiproc(work: Path, group_commit: bool) -> dict:
    from sagaline.actors.tree import start_tree
    from thunderline.testing import tree_config
    from sagaline.client import SagaClient
    from sagaline.messages.journal import GetJournalStats
    from sagaline.runtime import start_system

    name = f"mp-{'group' if group_commit else 'single'}"
    handle = start_system("multiprocTCPBase", log_dir=work / f"{name}-logs")
    try:
        tree = start_tree(handle, tree_config(work / name, domain_config=FLOW, pool_size=MP_CONCURRENCY,
                                             synchronous="FULL", journal_options={"group_commit": group_commit}))
        client = SagaClient(handle, tree.sagas)
        in_flight: deque[str] = deque()
        started = time.perf_counter()
        for i in range(MP_RUNS):
            in_flight.append(client.start(SAGA, {"email": f"{name}{i}@example.com"}).correlation_id)
            if len(in_flight) >= MP_CONCURRENCY:
                client.wait(in_flight.popleft(), timeout=120)
        while in_flight:
            client.wait(in_flight.popleft(), timeout=120)
        seconds = time.perf_counter() - started
        stats = handle.ask(tree.journal, GetJournalStats(), 30)
    finally:
        handle.shutdown()
    return {"mode": "group_commit" if group_commit else "commit_per_write", "runs": MP_RUNS,
            "seconds": round(seconds, 2), "runs_per_s": round(MP_RUNS / seconds, 1), **_stats(stats)}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sagaline-recovery-") as tmp:
        work = Path(tmp)
        killed = load_and_kill(work, RUNS)
        print(f"loaded {killed['runs_in_journal']} runs in {killed['load_seconds']} s, killed with "
              f"{killed['unfinished_at_kill']} unfinished: {killed['statuses_at_kill']}")
        recoveries = [recover(work, "group", True), recover(work, "single", False)]
        for r in recoveries:
            print(f"recovery {r['mode']:17} {r['recovered']} runs terminal in {r['seconds']:>7} s "
                  f"({r['runs_per_s']} runs/s), {r['writes_per_commit']} writes/commit, "
                  f"journal busy {r['journal_commit_seconds']} s, {r['statuses']}")
        bursts = [burst(work, True), burst(work, False)]
        for r in bursts:
            print(f"burst FULL     {r['mode']:17} {r['runs_per_s']:>6} runs/s, {r['writes_per_commit']} writes/commit, "
                  f"journal busy {r['journal_commit_seconds']} s")
        mp = [multiproc(work, True), multiproc(work, False)]
        for r in mp:
            print(f"multiproc FULL {r['mode']:17} {r['runs_per_s']:>6} runs/s, {r['writes_per_commit']} writes/commit, "
                  f"journal busy {r['journal_commit_seconds']} s")
    group, single = recoveries
    print(json.dumps({
        "bench": "recovery", "runs": RUNS, "kill": killed, "recovery": recoveries,
        "recovery_goal_s": GOAL_S, "recovery_within_goal": group["seconds"] <= GOAL_S,
        "group_commit_gain": {
            "recovery_normal": round(single["seconds"] / group["seconds"], 2),
            "burst_full": round(bursts[0]["runs_per_s"] / bursts[1]["runs_per_s"], 2),
            "multiproc_full": round(mp[0]["runs_per_s"] / mp[1]["runs_per_s"], 2)},
        "burst_full": bursts, "multiproc_full": mp,
        "settings": {"journal_mode": "WAL", "recovery_synchronous": "NORMAL", "burst_and_multiproc_synchronous": "FULL",
                     "recovery_concurrency": RECOVERY_CONCURRENCY, "kill_at_events_per_run": KILL_AT,
                     "multiproc_concurrency": MP_CONCURRENCY}}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
