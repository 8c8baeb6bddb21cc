"""Benchmark: UserProvisioning sagas/s through the daemon, on SQLite and on PostgreSQL, side by side.

The single-machine figures of the two storage backends, measured in one
run: the real daemon (``sagaline run``, multiprocTCPBase, saga hosts one
per core, the Thunderline app) is started for each measurement in a fresh
process, once with its stores as SQLite files (WAL, synchronous NORMAL),
once with ``--storage-url`` on a PostgreSQL server this benchmark starts
from the machine's binaries (:mod:`sagaline.testing.postgres`: loopback,
a fresh database per measurement, ``synchronous_commit = off`` as sagaline's
NORMAL maps it; the throwaway server also runs with ``fsync = off``, which
spares it the checkpoints' fsyncs that SQLite's NORMAL still does).
``sagaline.Client`` keeps ``C`` runs in flight (closed
loop, threads); rounds alternate the backends and the figures are medians
(the machine is shared and noisy). Every run must complete and leave
exactly one user, vault and membership (counted in the database). CPU per
run is counted for the daemon's processes and for the database server's.

``members1`` and ``members2`` (PostgreSQL): a convention of a leader
running the domains (``saga_host = false``) and one member holding both
saga-host partitions, or two members holding one each (``cores = 1``,
``runs.lease_s = 5``); the closed loop's threads alternate between two
clients, one per member (with one member, both on it), so a start for the
other member's partition is forwarded by the host it reaches. On one
machine the members share its cores: this measures what the convention
costs, not what a second machine would add.

``nas1`` and ``nas2`` (PostgreSQL): trials/min of one CerebrosNAS run
(``--trials`` architectures, 2 epochs on digits) on a convention of a
leader declaring ``trainer = false`` (it runs the bridge, every domain and
the saga hosts) and one or two members declaring ``trainer`` (no domain, no
saga host): the bridge places each trainer on the least loaded member
(:mod:`thunderline.domains.trainer_places`). The bridge's ``max_parallel``
is 2 in both, so two members run one trainer each where one member runs
two: on one 2-core machine this too measures what spreading costs, not
what a second machine adds. Trials/min = trials / (start -> completed) of
the run, after one warm-up run.

PostgreSQL is skipped with a line when no server binaries exist. The last
line is one JSON object.

Usage: ``python bench/bench_scale.py [--runs N] [--rounds R] [--c C] [--trials T]
[--only sqlite,postgres,members1,members2,nas1,nas2]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BACKENDS = ["sqlite", "postgres", "members1", "members2", "nas1", "nas2"]
#: The NAS benchmark's search space: 8 architectures, each a short trial.
NAS_SPACE = {
    "hidden_layers": [1],
    "widths": [4, 6, 8, 10, 12, 14, 16, 18],
    "activations": ["relu"],
    "learning_rates": [0.01],
    "batch_sizes": [128],
    "epochs": 2,
}
#: Saga-host partitions of a convention (each member of members2 takes one).
PARTITIONS = 2
SAGA = "user_provisioning"


def one(backend: str, n: int, c: int, url: str | None, postmaster: int | None) -> None:
    """Child process: one measurement on a fresh daemon, printed as a JSON line."""
    from sagaline.client import Client
    from sagaline.testing.daemon import DaemonProcess

    if backend.startswith("members"):
        return _one_convention(backend, int(backend[-1]), n, c, url, postmaster)
    if backend.startswith("nas"):
        return _one_nas(backend, int(backend[-1]), n, url)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        flags = ["--storage-url", url] if url else []
        config = {"admin": {"workers": max(16, c)}, "storage": {"synchronous": "NORMAL"}}  # both backends alike
        daemon = DaemonProcess(Path(work) / "daemon", config=config, flags=flags).start()
        try:
            with Client(daemon.data_dir) as client:
                for i in range(20):  # warm up: imports, connections
                    client.start(SAGA, {"email": f"warm{i}@example.com"}, wait=True, timeout=60)
                before = _cpu(daemon, postmaster)
                result = _closed_loop(client, n, c)
                after = _cpu(daemon, postmaster)
            result["effects"] = _effects(daemon.data_dir, url)
        finally:
            daemon.stop()
    _report(backend, c, n, result, daemon_cpu_s=after[0] - before[0], db_cpu_s=after[1] - before[1])


def _one_convention(backend: str, members: int, n: int, c: int, url: str | None, postmaster: int | None) -> None:
    """Child process: one measurement on a fresh convention (a leader and ``members`` members)."""
    from sagaline.client import Client
    from sagaline.testing.daemon import DaemonProcess

    base = {
        "admin": {"workers": max(16, c)},
        "storage": {"synchronous": "NORMAL", "url": url},
        "runs": {"hosts": PARTITIONS, "lease_s": 5.0},
    }
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        leader = DaemonProcess(Path(work) / "leader", {**base, "cluster": {"capabilities": {"saga_host": False}}})
        daemons = [leader.start()]
        try:
            share = {"cores": PARTITIONS // members} if members > 1 else {}  # one member: all partitions
            for i in range(members):
                daemons.append(
                    DaemonProcess(
                        Path(work) / f"m{i}",
                        {
                            **base,
                            "security": {"secret_file": str(leader.data_dir / "secret.key")},
                            "cluster": {
                                "join": f"127.0.0.1:{leader.admin_port}",
                                "settle_s": 600.0,
                                "capabilities": {"saga_host": True, **share},
                            },
                        },
                    ).start()
                )
            clients = [Client(leader.data_dir, address=f"127.0.0.1:{d.admin_port}") for d in daemons[1:]]
            _wait_for_leases(url, PARTITIONS)
            for i in range(20):
                clients[i % len(clients)].start(SAGA, {"email": f"warm{i}@example.com"}, wait=True, timeout=60)
            before = [_cpu(d, postmaster) for d in daemons]
            result = _closed_loop(clients, n, c)
            after = [_cpu(d, postmaster) for d in daemons]
            for client in clients:
                client.close()
            result["effects"] = _effects(leader.data_dir, url)
        finally:
            for daemon in reversed(daemons):
                daemon.stop()
    _report(
        backend,
        c,
        n,
        result,
        daemon_cpu_s=sum(a[0] - b[0] for a, b in zip(after, before, strict=True)),
        db_cpu_s=after[0][1] - before[0][1],
    )


def _report(backend: str, c: int, n: int, result: dict[str, Any], daemon_cpu_s: float, db_cpu_s: float) -> None:
    """Print one measurement's JSON line: throughput, latency percentiles, outcomes, effects and CPU per run."""
    lat = sorted(result["latencies"])
    print(
        json.dumps(
            {
                "backend": backend,
                "c": c,
                "n": n,
                "sagas_per_s": n / result["seconds"],
                "p50_ms": 1000 * lat[len(lat) // 2],
                "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
                "statuses": {s: result["statuses"].count(s) for s in set(result["statuses"])},
                "effects": result["effects"],
                "daemon_cpu_ms_per_run": 1000 * daemon_cpu_s / n,
                "db_server_cpu_ms_per_run": 1000 * db_cpu_s / n,
            }
        )
    )


def _one_nas(backend: str, members: int, trials: int, url: str | None) -> None:
    """Child process: trials/min of one CerebrosNAS run on a leader without ``trainer`` and ``members``
    trainer members."""
    from sagaline.client import Client
    from sagaline.testing.daemon import DaemonProcess

    base = {"storage": {"synchronous": "NORMAL", "url": url}, "runs": {"hosts": PARTITIONS, "lease_s": 5.0}}
    inputs = {"dataset_id": "digits", "search_space": NAS_SPACE, "max_trials": trials}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        leader = DaemonProcess(
            Path(work) / "leader",
            {
                **base,
                "cluster": {"capabilities": {"trainer": False}},
                "domains": {"bridge": {"artifacts_dir": str(Path(work) / "artifacts"), "max_parallel": 2}},
            },
        )
        daemons = [leader.start()]
        try:
            for i in range(members):
                daemons.append(
                    DaemonProcess(
                        Path(work) / f"m{i}",
                        {
                            **base,
                            "security": {"secret_file": str(leader.data_dir / "secret.key")},
                            "cluster": {
                                "join": f"127.0.0.1:{leader.admin_port}",
                                "capabilities": {"trainer": True, "saga_host": False, "domains": []},
                            },
                        },
                    ).start()
                )
            with Client(leader.data_dir) as client:
                warm = client.start("cerebros_nas", {**inputs, "max_trials": 2}, wait=True, timeout=300)
                began = time.perf_counter()
                outcome = client.start("cerebros_nas", {**inputs, "seed": 7}, wait=True, timeout=900)
                seconds = time.perf_counter() - began
        finally:
            for daemon in reversed(daemons):
                daemon.stop()
    print(
        json.dumps(
            {
                "backend": backend,
                "n": trials,
                "seconds": seconds,
                "trials_per_min": 60 * trials / seconds,
                "statuses": {
                    "warm-up": warm.outcome and warm.outcome.status,
                    "measured": outcome.outcome and outcome.outcome.status,
                },
            }
        )
    )


def _wait_for_leases(url: str | None, count: int, timeout: float = 60.0) -> None:
    """Until every partition is held (the members took their shares)."""
    from sagaline.storage.backend import open_store_file
    from sagaline.storage.location import store_location

    deadline = time.monotonic() + timeout
    file = open_store_file(store_location(url, Path("."), "journal"))
    try:
        while file.fetchall("SELECT COUNT(*) FROM leases")[0][0] < count:
            if time.monotonic() > deadline:
                raise SystemExit("the members did not take every partition")
            time.sleep(0.1)
    finally:
        file.close()


def _cpu(daemon, postmaster: int | None) -> tuple[float, float]:
    """CPU seconds used so far by the daemon's processes, and by the PostgreSQL server's (0 without one)."""
    from sagaline.runtime.procs import pids_with_tag

    daemon_pids = pids_with_tag(daemon.info.tag) | {daemon.process.pid}
    server_pids = _family(postmaster) if postmaster else set()
    return sum(map(_cpu_of, daemon_pids)), sum(map(_cpu_of, server_pids))


def _family(parent: int) -> set[int]:
    """``parent`` and its children (the postmaster and its backends)."""
    found = {parent}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name))[1:2] == [str(parent)]:
            found.add(int(entry.name))
    return found


def _stat(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name: state, ppid, ... (empty when gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _cpu_of(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def _closed_loop(client, n: int, c: int) -> dict:
    """``c`` threads keep runs in flight; with a list of clients, run ``i`` goes through ``client[i % len]``."""
    latencies, statuses = [0.0] * n, [""] * n
    clients = client if isinstance(client, list) else [client]

    def timed(i: int) -> None:
        began = time.perf_counter()
        statuses[i] = (
            clients[i % len(clients)].start(SAGA, {"email": f"u{i}@example.com"}, wait=True, timeout=120).outcome.status
        )
        latencies[i] = time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(c) as pool:
        list(pool.map(timed, range(n)))
    return {"seconds": time.perf_counter() - began, "latencies": latencies, "statuses": statuses}


def _effects(data_dir: Path, url: str | None) -> dict[str, int]:
    """Rows per effect table beyond the warm-up's, counted in the database (each run: one of each)."""
    from sagaline.storage.backend import open_store_file
    from sagaline.storage.location import store_location

    counts = {}
    for store, table in (("gate", "users"), ("block", "vaults"), ("link", "memberships")):
        file = open_store_file(store_location(url, data_dir, store))
        try:
            counts[table] = file.fetchall(f"SELECT COUNT(*) FROM {table}")[0][0] - 20
        finally:
            file.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--c", type=int, default=16)
    parser.add_argument("--trials", type=int, default=8, help="trials of the NAS run (nas1, nas2)")
    parser.add_argument("--only", default="")
    parser.add_argument("--one", nargs=3, metavar=("BACKEND", "C", "N"))
    parser.add_argument("--url", default=None)
    parser.add_argument("--postmaster", type=int, default=None)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], n=int(args.one[2]), c=int(args.one[1]), url=args.url, postmaster=args.postmaster)
        return
    backends = [b for b in BACKENDS if not args.only or b in args.only.split(",")]
    server = _postgres() if set(backends) - {"sqlite"} else None
    if server is None:
        backends = [b for b in backends if b == "sqlite"]
    results: dict[str, list[dict]] = {}
    try:
        for rnd in range(args.rounds):
            for backend in backends if rnd % 2 == 0 else list(reversed(backends)):
                url = server.create_database() if backend != "sqlite" else None
                n = args.trials if backend.startswith("nas") else args.runs
                command = [sys.executable, __file__, "--one", backend, str(args.c), str(n)]
                if url:
                    command += ["--url", url, "--postmaster", str(_postmaster(server))]
                line = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=HERE.parent)
                if line.returncode != 0:
                    print(f"{backend}: FAILED\n{line.stderr[-3000:]}")
                    raise SystemExit(1)
                row = json.loads(line.stdout.strip().splitlines()[-1])
                _check(row)
                results.setdefault(backend, []).append(row)
                if backend.startswith("nas"):
                    print(
                        f"round {rnd + 1} {backend:9} {row['n']} trials in {row['seconds']:.1f} s: "
                        f"{row['trials_per_min']:.1f} trials/min",
                        flush=True,
                    )
                    continue
                print(
                    f"round {rnd + 1} {backend:9} c={args.c:<3} {row['sagas_per_s']:7.1f} sagas/s  "
                    f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  CPU/run: daemon "
                    f"{row['daemon_cpu_ms_per_run']:.2f} ms, "
                    f"database server {row['db_server_cpu_ms_per_run']:.2f} ms",
                    flush=True,
                )
    finally:
        if server is not None:
            server.stop()
    keys = ("sagas_per_s", "p50_ms", "p99_ms", "daemon_cpu_ms_per_run", "db_server_cpu_ms_per_run")
    summary = {
        b: {k: round(statistics.median(r[k] for r in rows), 2) for k in keys}
        for b, rows in results.items()
        if not b.startswith("nas")
    }
    for backend, row in summary.items():
        print(
            f"median {backend:9} c={args.c:<3} {row['sagas_per_s']:7.1f} sagas/s  p50 {row['p50_ms']:7.1f} ms  "
            f"p99 {row['p99_ms']:7.1f} ms  CPU/run: daemon {row['daemon_cpu_ms_per_run']:.2f} ms, "
            f"database server {row['db_server_cpu_ms_per_run']:.2f} ms"
        )
    if "sqlite" in summary and "postgres" in summary:
        ratio = summary["postgres"]["sagas_per_s"] / summary["sqlite"]["sagas_per_s"]
        summary["postgres"]["vs_sqlite"] = round(ratio, 2)
    nas = {
        b: {k: round(statistics.median(r[k] for r in rows), 2) for k in ("seconds", "trials_per_min")}
        for b, rows in results.items()
        if b.startswith("nas")
    }
    for backend, row in nas.items():
        print(f"median {backend:9} {args.trials} trials: {row['trials_per_min']:.1f} trials/min")
    print(
        json.dumps(
            {
                "bench": "scale",
                "saga": SAGA,
                "runs": args.runs,
                "rounds": args.rounds,
                "c": args.c,
                "results": {f"{b}@c{args.c}": row for b, row in summary.items()},
                "nas": {f"{b}@{args.trials}trials": row for b, row in nas.items()},
            }
        )
    )


def _postgres():
    from sagaline.testing.postgres import PostgresServer, PostgresUnavailable, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("postgres: skipped (no PostgreSQL server binaries; install postgresql-15)")
        return None
    try:
        return PostgresServer(bin_dir).start()
    except PostgresUnavailable as exc:
        print(f"postgres: skipped (the server did not start: {exc})")
        return None


def _postmaster(server) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def _check(row: dict) -> None:
    """Every run completed and left exactly one user, vault and membership (NAS: both runs completed)."""
    n = row["n"]
    if row["backend"].startswith("nas"):
        if set(row["statuses"].values()) != {"completed"}:
            raise SystemExit(f"{row['backend']}: wrong outcome {row['statuses']}")
        return
    if row["statuses"] != {"completed": n} or row["effects"] != {"users": n, "vaults": n, "memberships": n}:
        raise SystemExit(f"{row['backend']}: wrong outcome {row['statuses']} / effects {row['effects']}")


if __name__ == "__main__":
    main()
