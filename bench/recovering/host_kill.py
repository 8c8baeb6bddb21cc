"""The recovery benchmark's host kill: runs held at the gate, saga host 0 SIGKILLed, the time until they are back.

A daemon (:class:`~sagaline.testing.daemon.DaemonProcess`, ``hosts`` saga
hosts) runs the ``recovering`` app. ``n`` runs of each partition are
started (with correlation ids chosen by partition) and held at the gate;
host 0's process is SIGKILLed; the clock runs from the kill until the gate
has seen every run of partition 0 send its pass again (rebuilt from the
journal by the host's successor). Then: the other partitions re-sent
nothing and their hosts kept their pids; the killed pid is gone and the
daemon has as many processes as before; the gate opens, every run completes,
and the journal holds exactly one passing result per run.
``HOST_KILL_TIMEOUT_S`` (default 300) bounds the wait: past it the result
says ``recovered: false`` instead of hanging.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["host_kill", "ids_by_partition"]

#: Seconds the host-kill phase waits for the runs to come back before it reports a failure.
HOST_KILL_TIMEOUT_S = float(os.environ.get("HOST_KILL_TIMEOUT_S", 300))


def ids_by_partition(n: int, partitions: int) -> list[list[str]]:
    """``n`` fresh correlation ids in each partition."""
    from sagaline.messages.ids import uuid7
    from sagaline.saga.placement import partition_of

    ids: list[list[str]] = [[] for _ in range(partitions)]
    while min(len(p) for p in ids) < n:
        cid = uuid7()
        part = ids[partition_of(cid, partitions)]
        if len(part) < n:
            part.append(cid)
    return ids


def _hosts_of(client) -> dict[str, int]:
    """Saga host child id -> pid, from the daemon's tree."""
    from sagaline.messages.admin import AdminTree

    tree = client.request(AdminTree()).data["tree"]
    sagas = next(node for node in tree["children"] if node["id"] == "sagas")
    return {node["id"]: node["pid"] for node in sagas["children"]}


def _gate(client, command: str, **args: Any) -> dict:
    from sagaline.messages.admin import AdminAppCommand

    answer = client.request(AdminAppCommand(command=command, args=args))
    if not hasattr(answer, "data"):
        raise RuntimeError(f"the gate's {command} failed: {answer!r}")
    return answer.data["reply"]


def _pass_results(journal: Path, ids: list[str]) -> dict:
    """From the journal: statuses of ``ids``, and how many runs recorded other than one passing result."""
    from sagaline.messages.codec import unpack_value

    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        status = dict(conn.execute("SELECT correlation_id, status FROM runs").fetchall())
        passes: Counter[str] = Counter()
        for cid, blob in conn.execute("SELECT correlation_id, event FROM run_events"):
            event = unpack_value(blob)
            if (event.get("e"), event.get("step"), (event.get("outcome") or {}).get("t")) == (
                "result",
                "pass_gate",
                "ok",
            ):
                passes[cid] += 1
    finally:
        conn.close()
    return {
        "journal_statuses": dict(Counter(status.get(cid, "missing") for cid in ids)),
        "runs_not_passed_exactly_once": sum(1 for cid in ids if passes[cid] != 1),
    }


def host_kill(work: Path, n: int, hosts: int) -> dict:
    """Hold ``n`` runs per partition at the gate, SIGKILL host 0, time until its runs are back at the gate."""
    from sagaline.client import Client
    from sagaline.runtime.pidfile import pid_alive
    from sagaline.testing.daemon import DaemonProcess

    ids = ids_by_partition(n, hosts)
    everyone = [cid for part in ids for cid in part]
    config = {"apps": ["recovering.app:app"], "runs": {"hosts": hosts}, "admin": {"workers": 16}}
    daemon = DaemonProcess(work / f"host-kill-{n}", config=config).start()
    try:
        with Client(daemon.data_dir) as client:
            began = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda cid: client.start("held", correlation_id=cid), everyone))
            while _gate(client, "count_waiting")["count"] < len(everyone):
                time.sleep(0.05)
            hold_s = time.perf_counter() - began
            before, pids_before = _hosts_of(client), daemon.pids()
            victim = before["host:0"]
            killed_at = time.perf_counter()
            os.kill(victim, signal.SIGKILL)
            seen = _wait_back(client, n, hosts, killed_at)
            recovery_s = seen.pop("seconds")
            after, pids_after = _hosts_of(client), daemon.pids()
            opened = _gate(client, "open_gate")
            with ThreadPoolExecutor(16) as pool:
                statuses = Counter(pool.map(lambda cid: client.wait(cid, timeout=600).status, everyone))
            final = _gate(client, "count_waiting", partitions=hosts)
    finally:
        stop = daemon.stop()
    others = [f"host:{i}" for i in range(1, hosts)]
    return {
        "runs_per_partition": n,
        "hosts": hosts,
        "held": len(everyone),
        "hold_seconds": round(hold_s, 2),
        "recovered": seen["resent_by_partition"][0] == n,
        "recovery_seconds": None if recovery_s is None else round(recovery_s, 3),
        "recovery_runs_per_s": None if not recovery_s else round(n / recovery_s, 1),
        "gate_at_recovery": seen,
        "killed_pid_alive": pid_alive(victim),
        "host0_restarted": after.get("host:0") not in (None, victim),
        "other_hosts_kept_pid": all(after.get(h) == before[h] for h in others),
        "other_partitions_resent": sum(final["resent_by_partition"][1:]),
        "processes_before": len(pids_before),
        "processes_after": len(pids_after),
        "killed_pid_in_daemon_after": victim in pids_after,
        "released_at_open": opened["released"],
        "late_passes": final["late"],
        "statuses": dict(statuses),
        **_pass_results(daemon.data_dir / "journal.sqlite", everyone),
        "daemon_exit_code": stop.exit_code,
        "daemon_leftovers": len(stop.leftovers),
    }


def _wait_back(client, n: int, hosts: int, since: float) -> dict:
    """Poll the gate until every run of partition 0 re-sent its pass; ``seconds`` is None on timeout."""
    while True:
        seen = _gate(client, "count_waiting", partitions=hosts)
        took = time.perf_counter() - since
        if seen["resent_by_partition"][0] >= n:
            return {**seen, "seconds": took}
        if took > HOST_KILL_TIMEOUT_S:
            return {**seen, "seconds": None}
        time.sleep(0.01)
