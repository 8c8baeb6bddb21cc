"""The peers benchmark's runners: one workload, carried out by each tool a user could pick.

The workload: ``N`` runs of a 7-step saga; every step writes one SQLite row
(WAL, synchronous NORMAL); every tenth run is refused at step 5, and steps
4..1 are undone (their rows deleted), last first. ``C`` runs are in flight
at once (closed loop: a run starts when another ends). Each runner returns
the wall time, every run's latency and status, and how many rows it left,
which the caller checks (a completed run keeps 7 rows, a failed one none).

Runners (each runs in a fresh process, see ``bench/bench_peers.py``):

* ``floor``: raw asyncio + aiosqlite, every step one INSERT, commits
  grouped by a single writer task (no saga runtime at all: the floor);
* ``dbos``: DBOS sync workflows (``@DBOS.workflow`` with ``@DBOS.step``
  steps), its system database in SQLite, the rows in an app SQLite file;
  compensation written by hand in the workflow;
* ``driver``: sagaline's pure executor, :class:`~sagaline.saga.Driver`,
  with the ``rows`` service called in-process (no actors);
* ``inprocess``: the sagaline actor tree on simpleSystemBase (one process);
* ``daemon``: the sagaline daemon (multiprocTCPBase, saga hosts) with the
  peers app loaded from config, driven through ``sagaline.Client``;
* ``daemon_process``: the same daemon with every run in its own OS process
  (``runs.isolation = "process"``);
* ``daemon_full``: the ``daemon`` runner with the daemon's default
  ``storage.synchronous = "FULL"`` (an fsync per commit), to show what
  power-loss safety costs; every other runner, peers included, runs with
  ``NORMAL``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from peers.saga import STEPS

__all__ = ["RUNNERS", "fail_at", "check_rows"]

FAIL_STEP = 5


def fail_at(i: int) -> int:
    """The step run ``i`` is refused at (0: none): every tenth run, at step 5."""
    return FAIL_STEP if i % 10 == 9 else 0


def check_rows(path: Path, table: str, run_column: str, outcomes: dict[str, str]) -> dict[str, int]:
    """Rows left per status: ``{"completed_ok": .., "failed_ok": .., "wrong": ..}`` (wrong must be 0)."""
    conn = sqlite3.connect(path)
    try:
        counts = dict(conn.execute(f"SELECT {run_column}, COUNT(*) FROM {table} GROUP BY {run_column}").fetchall())
    finally:
        conn.close()
    result = {"completed_ok": 0, "failed_ok": 0, "wrong": 0}
    for run, status in outcomes.items():
        rows = counts.get(run, 0)
        if status == "completed" and rows == STEPS:
            result["completed_ok"] += 1
        elif status == "failed" and rows == 0:
            result["failed_ok"] += 1
        else:
            result["wrong"] += 1
    return result


def _closed_loop(one: Callable[[int], tuple[str, str]], n: int, c: int) -> dict[str, Any]:
    """Run ``one(i) -> (run id, status)`` for i < n, ``c`` at a time from threads; time each."""
    latencies: list[float] = [0.0] * n
    outcomes: dict[str, str] = {}

    def timed(i: int) -> None:
        began = time.perf_counter()
        run, status = one(i)
        latencies[i] = time.perf_counter() - began
        outcomes[run] = status

    began = time.perf_counter()
    if c == 1:
        for i in range(n):
            timed(i)
    else:
        with ThreadPoolExecutor(c) as pool:
            list(pool.map(timed, range(n)))
    return {"seconds": time.perf_counter() - began, "latencies": latencies, "outcomes": outcomes}


# ----- the floor: raw asyncio + aiosqlite with group commit -------------------------------------


def run_floor(n: int, c: int, work: Path) -> dict[str, Any]:
    import aiosqlite

    path = work / "floor.sqlite"

    async def main() -> dict[str, Any]:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, run TEXT NOT NULL, step INTEGER NOT NULL)")
        queue: asyncio.Queue = asyncio.Queue()

        async def writer() -> None:
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                await db.execute("BEGIN")
                for sql, params, _ in batch:
                    await db.execute(sql, params)
                await db.commit()
                for _, _, done in batch:
                    done.set_result(None)

        async def write(sql: str, params: tuple) -> None:
            done = asyncio.get_running_loop().create_future()
            await queue.put((sql, params, done))
            await done

        async def saga(i: int) -> tuple[str, str, float]:
            began, run = time.perf_counter(), f"r{i}"
            for step in range(1, STEPS + 1):
                if step == fail_at(i):
                    for undo in range(step - 1, 0, -1):
                        await write("DELETE FROM rows WHERE id = ?", (f"{run}:{undo}",))
                    return run, "failed", time.perf_counter() - began
                await write("INSERT INTO rows VALUES (?, ?, ?)", (f"{run}:{step}", run, step))
            return run, "completed", time.perf_counter() - began

        task = asyncio.create_task(writer())
        pending, results, next_i = set(), [], 0
        began = time.perf_counter()
        while next_i < n or pending:
            while next_i < n and len(pending) < c:
                pending.add(asyncio.create_task(saga(next_i)))
                next_i += 1
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            results.extend(t.result() for t in done)
        seconds = time.perf_counter() - began
        task.cancel()
        await db.close()
        return {"seconds": seconds, "latencies": [r[2] for r in results], "outcomes": {r[0]: r[1] for r in results}}

    result = asyncio.run(main())
    result["rows"] = check_rows(path, "rows", "run", result["outcomes"])
    return result


# ----- DBOS ------------------------------------------------------------------------------------


def run_dbos(n: int, c: int, work: Path) -> dict[str, Any]:
    from dbos import DBOS, DBOSConfig

    path = work / "dbos-app.sqlite"
    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            local.conn.execute("PRAGMA synchronous=NORMAL")
        return local.conn

    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, run TEXT NOT NULL, step INTEGER NOT NULL)")
    setup.close()

    @DBOS.step()
    def put(run: str, step: int, refuse: bool) -> None:
        if refuse:
            raise ValueError(f"step {step} refused")
        conn().execute("INSERT INTO rows VALUES (?, ?, ?)", (f"{run}:{step}", run, step))

    @DBOS.step()
    def delete(run: str, step: int) -> None:
        conn().execute("DELETE FROM rows WHERE id = ?", (f"{run}:{step}",))

    @DBOS.workflow()
    def saga(run: str, fail: int) -> str:
        done = 0
        try:
            for step in range(1, STEPS + 1):
                put(run, step, step == fail)
                done = step
        except ValueError:
            for step in range(done, 0, -1):
                delete(run, step)
            return "failed"
        return "completed"

    config: DBOSConfig = {
        "name": "peers-bench",
        "system_database_url": f"sqlite:///{work / 'dbos-system.sqlite'}",
        "log_level": "ERROR",
    }
    DBOS(config=config)
    DBOS.launch()
    try:
        result = _closed_loop(lambda i: (f"r{i}", saga(f"r{i}", fail_at(i))), n, c)
    finally:
        DBOS.destroy()
    result["rows"] = check_rows(path, "rows", "run", result["outcomes"])
    return result


# ----- sagaline ----------------------------------------------------------------------------------


def run_driver(n: int, c: int, work: Path) -> dict[str, Any]:
    from peers.rows import RowsService, RowsStore
    from peers.saga import definition
    from sagaline.saga import Driver
    from sagaline.storage.sqlite import SqliteOptions

    loop, lock = asyncio.new_event_loop(), threading.Lock()
    store = loop.run_until_complete(RowsStore.open(work / "rows.sqlite", SqliteOptions(synchronous="NORMAL")))
    service = RowsService(store)

    def dispatch(target: str, command: Any) -> Any:
        with lock:  # one SQLite writer, one loop
            return loop.run_until_complete(service.handle(command))

    driver = Driver(definition(), dispatch)

    def one(i: int) -> tuple[str, str]:
        report = driver.run({"fail_at": fail_at(i)})
        return report.state.run_id, report.status

    result = _closed_loop(one, n, c)
    loop.run_until_complete(store.close())
    result["rows"] = check_rows(work / "rows.sqlite", "rows", "run", result["outcomes"])
    return result


def run_inprocess(n: int, c: int, work: Path) -> dict[str, Any]:
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import TreeConfig, start_tree
    from sagaline.runtime.system import SIMPLE, start_system

    handle = start_system(SIMPLE, log_dir=work / "logs")
    try:
        tree = start_tree(
            handle, TreeConfig(data_dir=work / "data", apps=("peers.app:app",), hosts=1, synchronous="NORMAL")
        )
        client = SagaClient(handle, tree.sagas)
        # In-process, the actors run only inside a call: keep c runs in flight from this thread.
        in_flight: deque[tuple[int, str, float]] = deque()
        latencies, outcomes = [], {}

        def settle() -> None:
            _i, cid, began = in_flight.popleft()
            outcomes[cid] = client.wait(cid, timeout=120).status
            latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        for i in range(n):
            started = time.perf_counter()
            in_flight.append((i, client.start("peers", {"fail_at": fail_at(i)}).correlation_id, started))
            if len(in_flight) >= c:
                settle()
        while in_flight:
            settle()
        result = {"seconds": time.perf_counter() - began, "latencies": latencies, "outcomes": outcomes}
    finally:
        handle.shutdown()
    result["rows"] = check_rows(work / "data" / "rows.sqlite", "rows", "run", result["outcomes"])
    return result


def _run_daemon(n: int, c: int, work: Path, isolation: str | None, synchronous: str = "NORMAL") -> dict[str, Any]:
    from sagaline.client import Client
    from sagaline.testing.daemon import DaemonProcess

    config: dict[str, Any] = {
        "apps": ["peers.app:app"],
        "admin": {"workers": max(16, c)},
        "storage": {"synchronous": synchronous},
    }
    if isolation:
        config["runs"] = {"isolation": isolation}
    daemon = DaemonProcess(work / "daemon", config=config).start()
    try:
        with Client(daemon.data_dir) as client:
            for _i in range(20):  # warm up: imports, connections
                client.start("peers", {"fail_at": 0}, wait=True, timeout=60)

            def one(i: int) -> tuple[str, str]:
                started = client.start("peers", {"fail_at": fail_at(i)}, wait=True, timeout=120)
                return started.correlation_id, started.outcome.status

            before = daemon_cpu(daemon)
            result = _closed_loop(one, n, c)
            after = daemon_cpu(daemon)
            result["daemon_cpu_s"] = sum(after.values()) - sum(before.values())
            labels = process_labels(client, daemon)
            result["daemon_cpu_by_process"] = {
                labels.get(pid, str(pid)): after[pid] - before.get(pid, 0.0) for pid in after
            }
    finally:
        daemon.stop()
    outcomes = result["outcomes"]
    result["rows"] = check_rows(daemon.data_dir / "rows.sqlite", "rows", "run", outcomes)
    return result


def daemon_cpu(daemon: Any) -> dict[int, float]:
    """CPU seconds each of the daemon's processes has used so far, by pid."""
    import os

    from sagaline.runtime.procs import pids_with_tag

    used = {}
    for pid in pids_with_tag(daemon.info.tag) | {daemon.process.pid}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return used


def process_labels(client: Any, daemon: Any) -> dict[int, str]:
    """pid -> the daemon's name for that process (its supervision-tree path; the daemon; admin workers)."""
    from sagaline.messages.admin import AdminTree

    labels = {daemon.process.pid: "daemon"}

    def walk(node: dict, path: str) -> None:
        here = f"{path}/{node['id']}" if path else node["id"]
        if node.get("pid"):
            labels.setdefault(node["pid"], here)
        for child in node.get("children") or ():
            walk(child, here)

    answer = client.request(AdminTree())
    if hasattr(answer, "data"):
        walk(answer.data.get("tree") or {}, "")
    return labels


RUNNERS: dict[str, Callable[[int, int, Path], dict[str, Any]]] = {
    "floor": run_floor,
    "dbos": run_dbos,
    "driver": run_driver,
    "inprocess": run_inprocess,
    "daemon": lambda n, c, work: _run_daemon(n, c, work, None),
    "daemon_process": lambda n, c, work: _run_daemon(n, c, work, "process"),
    "daemon_full": lambda n, c, work: _run_daemon(n, c, work, None, "FULL"),
}


def measure(name: str, n: int, c: int) -> dict[str, Any]:
    """One measurement in a fresh temporary directory."""
    with tempfile.TemporaryDirectory(prefix=f"sagaline-peers-{name}-") as tmp:
        return RUNNERS[name](n, c, Path(tmp))
