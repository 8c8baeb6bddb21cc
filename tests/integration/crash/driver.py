"""Crash-test driver: one life of the daemon-like process, run in a subprocess and SIGKILLed.

``python -m tests.integration.crash.driver --data D --state S --life N --mode run|settle
[--storage-url URL] [--lease-s SECONDS] [--no-faults]``

It starts a multiprocTCPBase actor system and the root tree (the journal and
stores as SQLite files in ``D``, or in the PostgreSQL database ``URL``; fault rules below) on the data
directory ``D`` (recovering whatever an
earlier life left unfinished) and writes ``S/life-N.json`` (its pid, the
admin's pid, the system tag) as soon as the system is up, then
``S/ready-N`` once the tree is up. Then:

* ``run``: start UserProvisioning runs forever, a few dozen a second. Each
  correlation id is appended to ``S/started.log`` *before* its start is sent
  and to ``S/accepted.log`` once the start was acknowledged (durable). The
  test SIGKILLs this process and the system at a random moment.
* ``settle``: await the outcome of every id in ``started.log``, write
  ``S/outcomes.json`` (id -> status, failed compensations; ``absent`` for a
  run that never reached the journal), shut the system down, exit 0.

Fault rules (a share of runs, chosen by a hash of the correlation id, so a
run meets the same fate in every life): ProvisionVault fails for 25% of runs
(they roll back); for the first 5% of those LeaveCommunity also keeps failing
(retryable, retried with backoff, then the run ends ``stuck``); the first two
CreateUser of every gate life fail retryably (retry timers across kills).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

FAULTS = {
    "block": [{"command": "ProvisionVault", "ratio": 0.25, "code": "vault_quota_exceeded"}],
    "link": [{"command": "LeaveCommunity", "ratio": 0.05, "retryable": True, "code": "link_busy"}],
    "gate": [{"command": "CreateUser", "retryable": True, "times": 2, "code": "gate_busy"}],
}
SAGA = "user_provisioning"


def _append(path: Path, line: str) -> None:
    with open(path, "a") as f:  # the page cache keeps it across a SIGKILL of this process
        f.write(line + "\n")


def _start(args: argparse.Namespace):
    from sagaline.daemon.tree import start_tree
    from sagaline.runtime import start_system
    from thunderline.testing import tree_config

    state = Path(args.state)
    handle = start_system("multiprocTCPBase", log_dir=state / f"logs-{args.life}")
    info = {"driver_pid": os.getpid(), "admin_pid": handle.admin_pid, "tag": handle.tag}
    (state / f"life-{args.life}.json").write_text(json.dumps(info))
    tree = start_tree(
        handle,
        tree_config(
            Path(args.data),
            storage_url=args.storage_url,
            lease_s=args.lease_s,
            faults={} if args.no_faults else FAULTS,
            hosts=2,
            domain_config={"flow": {"mode": "raise"}},
        ),
        timeout=60,
    )
    (state / f"ready-{args.life}").write_text("ready\n")
    return handle, tree


def _stream(client, state: Path, rng: random.Random) -> None:
    from sagaline.messages.ids import uuid7

    while True:
        cid = uuid7()
        _append(state / "started.log", cid)
        client.start(SAGA, {"email": f"{cid}@example.com"}, correlation_id=cid, timeout=30)
        _append(state / "accepted.log", cid)
        time.sleep(rng.uniform(0.005, 0.04))


def _settle(client, state: Path) -> None:
    from sagaline.client import SagaRefusedError

    started = (state / "started.log").read_text().split() if (state / "started.log").exists() else []
    outcomes = {}
    for cid in dict.fromkeys(started):
        try:
            out = client.wait(cid, timeout=120)
            outcomes[cid] = {"status": out.status, "failed_compensations": out.failed_compensations}
        except SagaRefusedError as exc:
            outcomes[cid] = {"status": "absent" if exc.code == "unknown_run" else f"refused:{exc.code}"}
    (state / "outcomes.json").write_text(json.dumps(outcomes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crash-driver")
    parser.add_argument("--data", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--life", type=int, required=True)
    parser.add_argument("--mode", choices=("run", "settle"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage-url", default=None, help="a PostgreSQL database (default: SQLite files in --data)")
    parser.add_argument(
        "--lease-s", type=float, default=None, help="hold the partitions by leases (TreeConfig.lease_s)"
    )
    parser.add_argument("--no-faults", action="store_true", help="run without the fault rules below")
    args = parser.parse_args(argv)
    from sagaline.client import SagaClient

    handle, tree = _start(args)
    client = SagaClient(handle, tree.sagas)
    if args.mode == "run":
        _stream(client, Path(args.state), random.Random(args.seed))
        return 1  # unreachable: the test kills this process
    _settle(client, Path(args.state))
    handle.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
