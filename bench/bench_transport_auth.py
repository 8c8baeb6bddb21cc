"""Benchmark: what the authenticated transport costs on the run path (issue 16).

Two sides, measured in one run, alternating (ABBA over the trials, each
trial a fresh child process with a fresh multiprocTCPBase system and root
tree, as ``bench_user_provisioning.py`` builds them):

* ``auth``: sagaline as shipped: every frame sealed with HMAC-SHA256 and
  checked before unpickling, the restricted unpickler, the bounded
  connections (:mod:`sagaline.runtime.transport`);
* ``plain``: Thespian 4.0.1 unpatched (the child makes
  ``install_transport`` a no-op in itself and in its launcher, which this
  script runs in place of ``sagaline.runtime.launcher``). The child checks
  which side it is on: only the ``auth`` admin answers an identity hello.

Each trial: ``RUNS`` UserProvisioning sagas kept 16 in flight through
``SagaClient``, after 20 warm-up runs. Reported: sagas/s per trial, the
median per side, the overhead ``1 - auth/plain`` of the medians (goal: under
10 %), and the median of auth/plain within each trial (the two sides of a
trial run back to back, so load changes of a shared machine hit both).
Also the cost per message on this machine's CPU, without actors: sealing
(pickle + HMAC) and opening (HMAC check + restricted unpickle) a typical
reply, against plain ``pickle.dumps`` / ``pickle.loads``.

Usage: ``python bench/bench_transport_auth.py [runs_per_trial] [trials]``
(defaults 200 and 4). The last line is one JSON object.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections import deque
from pathlib import Path

SAGA = "user_provisioning"
CONCURRENCY = 16


# ----- child: one side, one trial ------------------------------------------------------------------


def child(side: str, runs: int, out: Path, workdir: Path) -> None:
    from sagaline.client import SagaClient
    from sagaline.daemon.tree import start_tree
    from sagaline.runtime import NotTheDaemon, system, transport, verify_listener
    from thunderline.testing import tree_config

    if side == "plain":
        transport.install_transport = lambda *args, **kwargs: None
        system.LAUNCHER_ARGV = [__file__, "--plain-launcher"]
    handle = system.start_system(system.MULTIPROC, log_dir=workdir / "logs", secret=b"b" * 32)
    try:
        try:
            verify_listener("127.0.0.1", handle.admin_port, b"b" * 32)
            answered = True
        except NotTheDaemon:
            answered = False
        assert answered == (side == "auth"), f"the {side} side is not what it claims (hello answered: {answered})"
        tree = start_tree(handle, tree_config(workdir / "data"))
        client = SagaClient(handle, tree.sagas)
        closed_loop(client, 20, "warm")
        seconds, statuses = closed_loop(client, runs, "run")
    finally:
        leaked = handle.shutdown(timeout=10)
    out.write_text(
        json.dumps(
            {
                "side": side,
                "runs": runs,
                "seconds": round(seconds, 3),
                "sagas_per_s": round(runs / seconds, 2),
                "statuses": statuses,
                "leaked_processes": len(leaked),
            }
        )
    )


def closed_loop(client, runs: int, tag: str) -> tuple[float, dict]:
    in_flight: deque[str] = deque()
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(runs):
        in_flight.append(client.start(SAGA, {"email": f"{tag}-{i}@example.com"}).correlation_id)
        if len(in_flight) >= CONCURRENCY:
            _collect(client, in_flight.popleft(), statuses)
    while in_flight:
        _collect(client, in_flight.popleft(), statuses)
    return time.perf_counter() - started, statuses


def _collect(client, cid: str, statuses: dict) -> None:
    status = client.wait(cid, timeout=120).status
    statuses[status] = statuses.get(status, 0) + 1


def plain_launcher(argv: list[str]) -> None:
    """The launcher with the transport patch switched off (the ``plain`` side only)."""
    from sagaline.runtime import launcher, transport

    transport.install_transport = lambda *args, **kwargs: None
    status = launcher.main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


# ----- per message, no actors --------------------------------------------------------------------


def per_message_us() -> dict:
    from thespian.actors import ActorAddress
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    from sagaline.messages.base import Headers
    from sagaline.messages.ids import uuid7
    from sagaline.runtime.allowlist import restricted_loads
    from sagaline.runtime.frames import FrameKey
    from thunderline.messages.gate import TokenIssued

    sender = ActorAddress(TCPv4ActorAddress("127.0.0.1", 40000, external=True))
    reply = TokenIssued(
        headers=Headers(
            correlation_id=uuid7(), idempotency_key=uuid7(), traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
        ),
        token="t" * 43,
        email="ada@example.com",
        expires_at=dt.datetime.now(dt.UTC),
    )
    value, key = (sender, reply), FrameKey(b"k" * 32)
    payload = pickle.dumps(value)
    sealed = key.seal(payload)
    body = sealed[sealed.index(b">") + 1 :]
    cases = {
        "plain_send": lambda: pickle.dumps(value),
        "auth_send": lambda: key.seal(pickle.dumps(value)),
        "plain_receive": lambda: pickle.loads(payload),
        "auth_receive": lambda: restricted_loads(key.open(body)),
        "hmac_check_only": lambda: key.open(body),
        "restricted_unpickle_only": lambda: restricted_loads(payload),
    }
    number = 20000
    timings = {
        name: round(min(timeit.repeat(case, number=number, repeat=5)) / number * 1e6, 2) for name, case in cases.items()
    }
    timings["frame_bytes"] = len(sealed)
    timings["added_per_message_us"] = round(
        timings["auth_send"] - timings["plain_send"] + timings["auth_receive"] - timings["plain_receive"], 2
    )
    return timings


# ----- driver -------------------------------------------------------------------------------------


def trial(side: str, runs: int, tmp: Path, number: int) -> dict:
    workdir = tmp / f"{number:02d}-{side}"
    workdir.mkdir()
    out = workdir / "result.json"
    with open(workdir / "child.log", "wb") as log:  # never a pipe: actor processes could inherit it
        done = subprocess.run(
            [sys.executable, __file__, "--child", side, str(runs), str(out), str(workdir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            timeout=900,
        )
    if done.returncode != 0:
        raise SystemExit(f"{side} trial failed: {(workdir / 'child.log').read_text()[-3000:]}")
    return json.loads(out.read_text())


def main(runs: int, trials: int) -> None:
    micro = per_message_us()
    print("per message (us): " + ", ".join(f"{k} {v}" for k, v in micro.items()))
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sagaline-bench-auth-") as tmp:
        for number in range(trials):
            order = ("plain", "auth") if number % 2 == 0 else ("auth", "plain")
            for side in order:
                result = trial(side, runs, Path(tmp), number)
                results.append(result)
                print(
                    f"trial {number + 1} {side:5}  {result['sagas_per_s']:>7} sagas/s  "
                    f"({result['runs']} runs in {result['seconds']} s, {result['statuses']})"
                )
    median = {
        side: round(statistics.median(r["sagas_per_s"] for r in results if r["side"] == side), 2)
        for side in ("plain", "auth")
    }
    overhead = 1 - median["auth"] / median["plain"]
    # Each trial runs both sides back to back, so their ratio suffers less from the machine's load changes.
    paired = round(
        statistics.median(
            results[i + (r["side"] == "plain")]["sagas_per_s"] / results[i + (r["side"] == "auth")]["sagas_per_s"]
            for i, r in enumerate(results)
            if i % 2 == 0
        ),
        3,
    )
    print(
        f"median: plain {median['plain']} sagas/s, auth {median['auth']} sagas/s, "
        f"overhead {overhead * 100:.1f} % (goal < 10 %); median auth/plain within a trial {paired}"
    )
    print(
        json.dumps(
            {
                "bench": "transport_auth",
                "base": "multiprocTCPBase",
                "concurrency": CONCURRENCY,
                "runs_per_trial": runs,
                "trials": trials,
                "results": results,
                "median_sagas_per_s": median,
                "overhead": round(overhead, 4),
                "median_paired_auth_over_plain": paired,
                "goal_overhead_below": 0.10,
                "per_message_us": micro,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--plain-launcher"]:
        plain_launcher(sys.argv[2:])
    elif sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 4)
