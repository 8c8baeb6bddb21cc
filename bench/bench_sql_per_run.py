"""Benchmark: SQL statements and CPU per saga run, by store, on the peers workload (issue 12).

The workload is ``bench/bench_peers.py``'s (a 7-step saga, one row per step,
every tenth run refused at step 5 and steps 4..1 undone; WAL, synchronous
NORMAL), run by the in-process actor tree (simpleSystemBase, one saga host)
and by the pure ``Driver``, at concurrency 16. Per runner, three passes in
one fresh process:

1. **count**: every ``sqlite3`` connection the stores open gets a
   ``set_trace_callback`` (SQLite calls it once per statement it *executes*:
   an ``executemany`` of five rows counts five, ``BEGIN`` and ``COMMIT``
   count one each), keyed by the store's file (``journal``, ``rows``, ...)
   and by the statement's verb and table. Python-side calls into the
   ``sqlite3`` module (``execute`` / ``executemany``, each one round through
   the driver) are counted too, with the thread CPU time spent inside each
   (per statement shape; ``thread_time`` costs about 0.5 us a call here,
   so these figures are a little high). The hooks are installed by this
   script only, by wrapping :class:`sagaline.storage.sqlite.SqliteFile`'s
   constructor and its ``execute`` / ``executemany``: nothing of it is in the
   production path. ``--pragma NAME=VALUE`` sets a PRAGMA on every connection
   the stores open (to try a setting without changing the code).
2. **time**: the same runs without the hook: sagas/s and this process's CPU
   (user + system, all threads) per run.
3. **profile** (``--profile``): the time pass under ``cProfile``; the top
   functions by own time.

``--before DIR`` measures a second copy of the code (e.g. ``git worktree
add DIR <commit>``) the same way, alternating with this one round by round
in fresh processes (``DIR`` first on ``PYTHONPATH``, so its ``sagaline``
is the one imported; its own ``bench/peers`` app too), so both sides see
the same machine load. The figures per side are medians over the rounds.
Give ``--after DIR2`` too (a copy made the same way) for a fair pair: an
A/A run of one commit, one side the working tree (the editable install)
and one a copy on ``PYTHONPATH``, measured the working tree's in-process
runs 3-8 % faster in 4 of 4 rounds.

Usage: ``python bench/bench_sql_per_run.py [--runs N] [--rounds R] [--only inprocess,driver]
[--before DIR] [--profile [--profile-dump PREFIX]] [--pragma P]``. The last line is one JSON object.
The driver's profile shows only its main thread (the runs are in 16 worker threads).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUNNERS = ("inprocess", "driver")
CONCURRENCY = 16
_SHAPE = re.compile(
    r"^\s*(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|SELECT\b.*?\bFROM|\w+)\s*(\w*)", re.IGNORECASE | re.DOTALL
)


def shape(sql: str) -> str:
    """A statement's verb and table (``INSERT INTO rows``, ``SELECT idempotency``, ``BEGIN``, ...)."""
    found = _SHAPE.match(sql)
    if found is None:
        return sql[:30]
    verb = found.group(1).upper()
    verb = "SELECT" if verb.startswith("SELECT") else " ".join(verb.split())
    return f"{verb} {found.group(2)}".strip()


class Counting:
    """Counts the statements SQLite executes, and the Python calls into ``sqlite3``, per store file."""

    def __init__(self) -> None:
        self.statements: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[tuple[str, str]] = Counter()
        self.round_trips: Counter[str] = Counter()
        self.on = False

    def install(self, pragmas: list[str] = ()) -> None:
        from sagaline.storage import sqlite as module

        counting, original_init = self, module.SqliteFile.__init__
        original_execute, original_many = module.SqliteFile.execute, module.SqliteFile.executemany

        def init(file: Any, conn: sqlite3.Connection, path: str) -> None:
            original_init(file, conn, path)
            for pragma in pragmas:  # exploring a setting without changing the code (--pragma)
                conn.execute(f"PRAGMA {pragma}")
            store = Path(path).stem
            conn.set_trace_callback(lambda sql: counting.on and counting.statements.update([(store, shape(sql))]))

        def timed(call: Any, file: Any, sql: str, params: Any) -> Any:
            if not counting.on:
                return call(file, sql, params)
            store = Path(file.path).stem
            counting.calls[store] += 1
            began = time.thread_time()
            try:
                return call(file, sql, params)
            finally:
                counting.seconds[(store, shape(sql))] += time.thread_time() - began

        def execute(file: Any, sql: str, params: Any = ()) -> Any:
            return timed(original_execute, file, sql, params)

        def executemany(file: Any, sql: str, rows: Any) -> Any:
            return timed(original_many, file, sql, rows)

        module.SqliteFile.__init__ = init  # type: ignore[method-assign]
        module.SqliteFile.execute = execute  # type: ignore[method-assign]
        module.SqliteFile.executemany = executemany  # type: ignore[method-assign]
        self._install_pg()

    def _install_pg(self) -> None:
        """On PostgreSQL every call is one round trip: count calls, and statements (an executemany's rows)."""
        try:
            from sagaline.storage import postgres
        except ImportError:
            return
        counting, cls = self, postgres.PgFile
        original_execute, original_many, original_control = cls.execute, cls.executemany, cls.control

        piped: set[int] = set()  # files inside a pipeline: their calls share its one round trip

        def timed(call: Any, file: Any, sql: str, args: tuple, statements: int) -> Any:
            if not counting.on:
                return call(file, sql, *args)
            key = (file.schema, shape(sql))
            counting.calls[file.schema] += 1
            counting.statements[key] += statements
            if id(file) not in piped:
                counting.round_trips[file.schema] += 1
            began = time.thread_time()
            try:
                return call(file, sql, *args)
            finally:
                counting.seconds[key] += time.thread_time() - began

        def execute(file: Any, sql: str, params: Any = ()) -> Any:
            return timed(original_execute, file, sql, (params,), 1)

        def executemany(file: Any, sql: str, rows: Any) -> Any:
            rows = list(rows)
            return timed(original_many, file, sql, (rows,), len(rows))

        def control(file: Any, command: str) -> None:
            timed(original_control, file, command, (), 1)

        cls.execute = execute  # type: ignore[method-assign]
        cls.executemany = executemany  # type: ignore[method-assign]
        cls.control = control  # type: ignore[method-assign]
        if hasattr(cls, "pipeline"):  # the copies before it had none
            original_pipeline = cls.pipeline

            @contextmanager
            def pipeline(file: Any) -> Iterator[None]:
                if counting.on:
                    counting.round_trips[file.schema] += 1
                piped.add(id(file))
                try:
                    with original_pipeline(file):
                        yield
                finally:
                    piped.discard(id(file))

            cls.pipeline = pipeline  # type: ignore[method-assign]


# ----- the two runners, in this process ------------------------------------------------------------


def inprocess(work: Path, passes: list[tuple[str, int]], hooks: dict[str, Any]) -> dict[str, dict]:
    """Run the peers workload on the in-process tree, once per pass (same tree, fresh run ids)."""
    from peers.runners import fail_at

    from sagaline.client import SagaClient
    from sagaline.daemon.tree import TreeConfig, start_tree
    from sagaline.runtime.system import SIMPLE, start_system

    handle = start_system(SIMPLE, log_dir=work / "logs")
    results = {}
    try:
        tree = start_tree(
            handle,
            TreeConfig(
                data_dir=work / "data",
                apps=("peers.app:app",),
                hosts=1,
                synchronous="NORMAL",
                storage_url=hooks.get("url"),
            ),
        )
        client = SagaClient(handle, tree.sagas)

        def loop(n: int) -> dict[str, int]:
            in_flight: list[str] = []
            statuses: Counter[str] = Counter()
            for i in range(n):
                in_flight.append(client.start("peers", {"fail_at": fail_at(i)}).correlation_id)
                if len(in_flight) >= CONCURRENCY:
                    statuses[client.wait(in_flight.pop(0), timeout=120).status] += 1
            for cid in in_flight:
                statuses[client.wait(cid, timeout=120).status] += 1
            return dict(statuses)

        loop(20)  # warm up
        for name, n in passes:
            results[name] = _timed(name, n, loop, hooks)
    finally:
        handle.shutdown()
    return results


def driver(work: Path, passes: list[tuple[str, int]], hooks: dict[str, Any]) -> dict[str, dict]:
    """Run the peers workload on the pure ``Driver`` (no actors), 16 threads, one SQLite writer."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from peers.rows import RowsService, RowsStore
    from peers.runners import fail_at
    from peers.saga import definition

    from sagaline.saga import Driver
    from sagaline.storage.location import store_location
    from sagaline.storage.sqlite import SqliteOptions

    loop, lock = asyncio.new_event_loop(), threading.Lock()
    location = store_location(hooks.get("url"), work, "rows")
    store = loop.run_until_complete(RowsStore.open(location, SqliteOptions(synchronous="NORMAL")))
    service = RowsService(store)

    def dispatch(target: str, command: Any) -> Any:
        with lock:
            return loop.run_until_complete(service.handle(command))

    saga = Driver(definition(), dispatch)

    def run(n: int) -> dict[str, int]:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            return dict(Counter(pool.map(lambda i: saga.run({"fail_at": fail_at(i)}).status, range(n))))

    try:
        run(20)
        return {name: _timed(name, n, run, hooks) for name, n in passes}
    finally:
        loop.run_until_complete(store.close())


def _timed(name: str, n: int, loop: Any, hooks: dict[str, Any]) -> dict[str, Any]:
    counting: Counting = hooks["counting"]
    counting.on = name == "count"
    profile = cProfile.Profile() if name == "profile" else None
    cpu0, began = os.times(), time.perf_counter()
    if profile is not None:
        profile.enable()
    statuses = loop(n)
    if profile is not None:
        profile.disable()
    wall, cpu1 = time.perf_counter() - began, os.times()
    counting.on = False
    out: dict[str, Any] = {
        "runs": n,
        "statuses": statuses,
        "sagas_per_s": round(n / wall, 1),
        "cpu_ms_per_run": round(1000 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / n, 3),
    }
    if profile is not None:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(30)
        out["profile_top"] = text.getvalue()
        if hooks.get("dump"):
            profile.dump_stats(hooks["dump"])
    return out


def one(
    runner: str, runs: int, profile: bool, dump: str | None = None, pragmas: list[str] = (), url: str | None = None
) -> dict[str, Any]:
    """Child process: count, time (and profile) one runner on the code first on the import path."""
    sys.path.insert(0, str(Path.cwd() / "bench"))  # the measured copy's own peers app
    counting = Counting()
    counting.install(pragmas)
    passes = [("count", min(runs, 200)), ("time", runs)] + ([("profile", runs)] if profile else [])
    with tempfile.TemporaryDirectory(prefix=f"sql-per-run-{runner}-") as tmp:
        measure = inprocess if runner == "inprocess" else driver
        results = measure(Path(tmp), passes, {"counting": counting, "dump": dump, "url": url})
    counted = results["count"]["runs"]
    by_store: Counter[str] = Counter()
    for (store, _), count in counting.statements.items():
        by_store[store] += count
    import sagaline

    return {
        "runner": runner,
        "code": str(Path(sagaline.__file__).resolve().parent.parent),
        "statements_per_run": round(sum(by_store.values()) / counted, 2),
        "statements_per_run_by_store": {k: round(v / counted, 2) for k, v in by_store.most_common()},
        "statements_per_run_by_shape": {
            f"{s}: {k}": round(v / counted, 2) for (s, k), v in counting.statements.most_common()
        },
        "sqlite3_calls_per_run_by_store": {k: round(v / counted, 2) for k, v in counting.calls.most_common()},
        "pg_round_trips_per_run_by_store": {k: round(v / counted, 2) for k, v in counting.round_trips.most_common()},
        "sqlite3_us_per_run_by_shape": {
            f"{s}: {k}": round(1e6 * v / counted, 1) for (s, k), v in counting.seconds.most_common()
        },
        "count_pass": results["count"],
        "time_pass": results["time"],
        "profile_pass": results.get("profile"),
    }


def _child(
    code: Path | None, runner: str, runs: int, profile: bool, dump: str | None, pragmas: list[str], server: Any = None
) -> dict[str, Any]:
    env = dict(os.environ)
    script = Path(__file__).resolve()
    if code is not None:
        env["PYTHONPATH"] = str(code)
    args = [sys.executable, str(script), "--one", runner, "--runs", str(runs)] + (["--profile"] if profile else [])
    if profile and dump:
        args += ["--profile-dump", dump]
    for pragma in pragmas:
        args += ["--pragma", pragma]
    url = server.create_database() if server is not None else None
    if url is not None:
        args += ["--storage-url", url]
    try:
        return _run_child(args, code, env, runner)
    finally:
        if url is not None:
            server.drop_database(url)


def _run_child(args: list[str], code: Path | None, env: dict[str, str], runner: str) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out:  # a file, not a pipe: nothing an actor system inherits can hold it
        done = subprocess.run(
            args,
            cwd=code or HERE.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
        out.seek(0)
        text = out.read().decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{runner} on {code or 'this copy'} failed:\n{text[-3000:]}")
    return json.loads(text.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default=",".join(RUNNERS))
    parser.add_argument("--before", type=Path, help="another copy of the code, measured alternately")
    parser.add_argument("--after", type=Path, help="measure this copy instead of the one the script is in")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-dump", help="with --profile: save each child's pstats as PREFIX-side-runner-round")
    parser.add_argument(
        "--pragma",
        action="append",
        default=[],
        help="set this PRAGMA on every connection the stores open (exploring a setting)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="every store in PostgreSQL (a throwaway server, as the tests' postgres_url fixture)",
    )
    parser.add_argument("--storage-url", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.runs, args.profile, args.profile_dump, args.pragma, args.storage_url)))
        return
    after = args.after.resolve() if args.after else None
    sides = {"after": after} if args.before is None else {"before": args.before.resolve(), "after": after}
    rows: dict[tuple[str, str], list[dict]] = {}
    server = _postgres() if args.postgres else None
    try:
        _rounds(args, sides, rows, server)
    finally:
        if server is not None:
            server.stop()
    _report(args, rows)


def _postgres() -> Any:
    from sagaline.testing import postgres

    bin_dir = postgres.find_bin_dir()
    if bin_dir is None:
        raise SystemExit("--postgres: no PostgreSQL server binaries (apt-get install postgresql-15)")
    return postgres.PostgresServer(bin_dir).start()


def _rounds(args: Any, sides: dict[str, Path | None], rows: dict[tuple[str, str], list[dict]], server: Any) -> None:
    for rnd in range(args.rounds):
        order = list(sides.items()) if rnd % 2 == 0 else list(reversed(sides.items()))
        for runner in args.only.split(","):
            for side, code in order:
                dump = f"{args.profile_dump}-{side}-{runner}-{rnd + 1}" if args.profile_dump else None
                row = _child(code, runner, args.runs, args.profile, dump, args.pragma, server)
                rows.setdefault((side, runner), []).append(row)
                print(
                    f"round {rnd + 1} {side:6} {runner:9} {row['statements_per_run']:6.1f} statements/run  "
                    f"{row['time_pass']['cpu_ms_per_run']:6.3f} ms CPU/run  {row['time_pass']['sagas_per_s']:7.1f} "
                    f"sagas/s  ({row['code']})",
                    flush=True,
                )


def _report(args: Any, rows: dict[tuple[str, str], list[dict]]) -> None:
    summary = {}
    for (side, runner), got in rows.items():
        last = got[-1]
        summary[f"{side}:{runner}"] = {
            "statements_per_run": last["statements_per_run"],
            "statements_per_run_by_store": last["statements_per_run_by_store"],
            "statements_per_run_by_shape": last["statements_per_run_by_shape"],
            "sqlite3_calls_per_run_by_store": last["sqlite3_calls_per_run_by_store"],
            "sqlite3_us_per_run_by_shape": last["sqlite3_us_per_run_by_shape"],
            "pg_round_trips_per_run_by_store": last["pg_round_trips_per_run_by_store"],
            "cpu_ms_per_run_median": round(statistics.median(r["time_pass"]["cpu_ms_per_run"] for r in got), 3),
            "cpu_ms_per_run_all": [r["time_pass"]["cpu_ms_per_run"] for r in got],
            "sagas_per_s_median": round(statistics.median(r["time_pass"]["sagas_per_s"] for r in got), 1),
            "sagas_per_s_all": [r["time_pass"]["sagas_per_s"] for r in got],
            "statuses": last["time_pass"]["statuses"],
        }
        for title, figures in (
            ("by store", last["statements_per_run_by_store"]),
            ("by statement", last["statements_per_run_by_shape"]),
            ("sqlite3 calls by store", last["sqlite3_calls_per_run_by_store"]),
            ("PostgreSQL round trips by store", last["pg_round_trips_per_run_by_store"]),
            ("(CPU us inside sqlite3, count pass) by statement", last["sqlite3_us_per_run_by_shape"]),
        ):
            print(f"{side} {runner} per run {title}: {figures}")
        if last.get("profile_pass"):
            print(f"{side} {runner} profile (last round):\n{last['profile_pass']['profile_top']}")
    print(
        json.dumps(
            {
                "bench": "sql_per_run",
                "backend": "postgres" if args.postgres else "sqlite",
                "runs": args.runs,
                "rounds": args.rounds,
                "concurrency": CONCURRENCY,
                "load_before": os.getloadavg(),
                "results": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
