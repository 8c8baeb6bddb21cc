"""Benchmark: which PostgreSQL driver for sagaline's stores, psycopg 3 or asyncpg, side by side.

sagaline's stores are called from an actor's thread, synchronously: a domain
actor handles one command, writes its effect and its idempotency row in one
short transaction, and answers. So the shape measured is that one:

- ``op``: one transaction of two INSERTs (the effect row and the ledger
  row) and a COMMIT, ``N`` times in a row on one connection.
- ``batch50``: one transaction inserting 50 rows (the journal's group commit
  at its largest), ``N / 50`` times.

Each driver is measured the way sagaline would have to call it:

- ``psycopg``: ``psycopg.connect`` (sync), one ``with conn.transaction()``
  per op; batches by ``executemany`` (pipelined by psycopg).
- ``asyncpg_sync``: asyncpg on an event loop owned by the calling thread,
  each op one ``loop.run_until_complete(...)``: what a synchronous actor
  pays to use an async driver.
- ``asyncpg_native``: the same ops awaited back to back inside one
  coroutine, asyncpg's best case (an actor cannot call it this way; shown
  as the upper bound of what switching the stores to asyncio would buy).

The server is a throwaway cluster started from the machine's binaries
(:mod:`sagaline.testing.postgres`; ``synchronous_commit = off`` as
sagaline's NORMAL sets it), on loopback. Rounds alternate the drivers and
figures are medians (the machine is shared and noisy). CPU is this
process's (the client side: what the daemon would spend). The last line is
one JSON object.

Usage: ``python bench/bench_pg_driver.py [--ops N] [--rounds R]``
(needs the ``postgres`` and ``bench`` extras: psycopg and asyncpg).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable

DRIVERS = ["psycopg", "asyncpg_sync", "asyncpg_native"]
SHAPES = ["op", "batch50"]
BATCH = 50
SCHEMA = """
DROP TABLE IF EXISTS effects; DROP TABLE IF EXISTS ledger;
CREATE TABLE effects (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE ledger (key TEXT PRIMARY KEY, reply TEXT NOT NULL);
"""


def _measure(run: Callable[[], int]) -> dict[str, float]:
    """Run ``run`` (which returns how many ops it did) and time it: wall and this process's CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    ops = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"ops_per_s": ops / wall, "cpu_us_per_op": 1e6 * cpu / ops}


def _psycopg(url: str, shape: str, n: int, base: int) -> dict[str, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(SCHEMA)

        def ops() -> int:
            if shape == "op":
                for i in range(base, base + n):
                    with conn.transaction():
                        conn.execute("INSERT INTO effects (id, body) VALUES (%s, %s)", (i, "user"))
                        conn.execute("INSERT INTO ledger (key, reply) VALUES (%s, %s)", (f"k{i}", "ok"))
                return n
            for start in range(base, base + n, BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO effects (id, body) VALUES (%s, %s)",
                        [(i, "row") for i in range(start, start + BATCH)],
                    )
            return n

        return _measure(ops)


async def _asyncpg_ops(conn, shape: str, i: int) -> None:
    if shape == "op":
        async with conn.transaction():
            await conn.execute("INSERT INTO effects (id, body) VALUES ($1, $2)", i, "user")
            await conn.execute("INSERT INTO ledger (key, reply) VALUES ($1, $2)", f"k{i}", "ok")
    else:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO effects (id, body) VALUES ($1, $2)", [(j, "row") for j in range(i, i + BATCH)]
            )


def _asyncpg(url: str, shape: str, n: int, base: int, native: bool) -> dict[str, float]:
    import asyncpg

    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(asyncpg.connect(url))
        loop.run_until_complete(conn.execute("SET synchronous_commit = off"))
        loop.run_until_complete(conn.execute(SCHEMA))
        starts = range(base, base + n) if shape == "op" else range(base, base + n, BATCH)

        async def all_ops() -> None:
            for i in starts:
                await _asyncpg_ops(conn, shape, i)

        def ops() -> int:
            if native:
                loop.run_until_complete(all_ops())
            else:
                for i in starts:
                    loop.run_until_complete(_asyncpg_ops(conn, shape, i))
            return n

        figures = _measure(ops)
        loop.run_until_complete(conn.close())
        return figures
    finally:
        loop.close()


def _one(driver: str, url: str, shape: str, n: int) -> dict[str, float]:
    if driver == "psycopg":
        return _psycopg(url, shape, n, 0)
    return _asyncpg(url, shape, n, 0, native=driver == "asyncpg_native")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="ops per measurement (a multiple of 50)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = max(BATCH, args.ops // BATCH * BATCH)
    from sagaline.testing.postgres import PostgresServer, PostgresUnavailable, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("skipped: no PostgreSQL server binaries on this machine (apt-get install postgresql-15)")
        print(json.dumps({"bench": "pg_driver", "skipped": "no PostgreSQL server binaries"}))
        return 0
    server = PostgresServer(bin_dir)
    try:
        server.start()
        url = server.create_database()
        samples: dict[str, list[dict[str, float]]] = {f"{d}@{s}": [] for d in DRIVERS for s in SHAPES}
        for r in range(args.rounds):
            order = DRIVERS if r % 2 == 0 else DRIVERS[::-1]
            for shape in SHAPES:
                for driver in order:
                    figures = _one(driver, url, shape, n)
                    samples[f"{driver}@{shape}"].append(figures)
                    print(
                        f"round {r + 1} {driver:15} {shape:8} {figures['ops_per_s']:9.0f} ops/s "
                        f"{figures['cpu_us_per_op']:7.1f} us CPU/op",
                        flush=True,
                    )
    except PostgresUnavailable as exc:
        print(f"skipped: {exc}")
        print(json.dumps({"bench": "pg_driver", "skipped": str(exc)}))
        return 0
    finally:
        server.stop()
    results = {}
    for key, runs in samples.items():
        results[key] = {
            field: round(statistics.median(run[field] for run in runs), 1) for field in ("ops_per_s", "cpu_us_per_op")
        }
    for shape in SHAPES:
        base = results[f"psycopg@{shape}"]["ops_per_s"]
        for driver in DRIVERS:
            entry = results[f"{driver}@{shape}"]
            entry["vs_psycopg"] = round(entry["ops_per_s"] / base, 2)
            print(
                f"median {driver:15} {shape:8} {entry['ops_per_s']:9.0f} ops/s "
                f"{entry['cpu_us_per_op']:7.1f} us CPU/op  vs psycopg {entry['vs_psycopg']}"
            )
    print(json.dumps({"bench": "pg_driver", "ops": n, "rounds": args.rounds, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
