"""Helpers of the crash tests: lives of a system on one data directory, killing them, checking.

A *life* is one multiprocTCPBase actor system with the root tree on a data
directory; a crash test starts lives one after another on the same
directory and SIGKILLs them. Every process of a test (drivers, launchers,
admins, loggers, actors) carries the environment marker ``SAGALINE_CRASH_RUN``
(set before anything is started, inherited by every fork), so
:func:`sweep` finds and kills them all, even ones a killed driver never
reported, and :func:`kill_groups` kills whole process groups first.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.runtime import procs, start_system
from tests.integration.conftest import Databases, read_rows
from thunderline.testing import tree_config

MARKER = "SAGALINE_CRASH_RUN"
SAGA = "user_provisioning"
TERMINAL = ("completed", "failed", "stuck")


def marked_pids(value: str) -> set[int]:
    """Live (non-zombie) processes whose environment holds ``MARKER=value``."""
    return procs.pids_with_tag(value, MARKER)


def kill_groups(*pids: int | None) -> None:
    """SIGKILL the process group of each pid (the driver's; the admin's, made by ``setsid``)."""
    for pid in pids:
        if not pid:
            continue
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def sweep(value: str, timeout: float = 10.0) -> set[int]:
    """SIGKILL every marked process until none is left; return the pids killed."""
    killed = procs.kill_all(value, timeout, MARKER)
    if marked_pids(value):
        raise RuntimeError(f"processes marked {value} survive SIGKILL")
    return killed


@contextmanager
def crash_marker() -> Iterator[str]:
    """Mark every process started inside (through the environment); kill them all at the end."""
    value, before = str(uuid.uuid4()), os.environ.get(MARKER)
    os.environ[MARKER] = value
    try:
        yield value
    finally:
        if before is None:
            os.environ.pop(MARKER, None)
        else:
            os.environ[MARKER] = before
        sweep(value)


class Life:
    """One actor system + tree on ``data_dir`` (in this process)."""

    def __init__(self, data_dir: Path, log_dir: Path, **config: Any) -> None:
        config.setdefault("domain_config", {"flow": {"mode": "raise"}})
        self.handle = start_system("multiprocTCPBase", log_dir=log_dir)
        try:
            self.tree = start_tree(self.handle, tree_config(data_dir, **config))
        except BaseException:
            self.kill()
            raise
        self.client = SagaClient(self.handle, self.tree.sagas)

    def ask(self, message: Any, timeout: float = 10.0) -> Any:
        return self.handle.ask(self.tree.sagas, message, timeout)

    def kill(self) -> None:
        """SIGKILL the whole system (its process group), wait until every process is gone."""
        kill_groups(self.handle.admin_pid)
        from sagaline.runtime.procs import kill_all, wait_gone

        kill_all(self.handle.tag)
        if wait_gone(self.handle.tag, 10.0):
            raise RuntimeError("a killed system left processes behind")
        self.handle.close()

    def stop(self) -> None:
        """Shut the system down cleanly."""
        self.handle.shutdown()


class JournalView:
    """Read-only view of the journal (``journal.sqlite``, or its PostgreSQL schema) beside the hosts."""

    def __init__(self, data_dir: Path, storage_url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.storage_url = storage_url

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        return read_rows(self.storage_url, self.data_dir, "journal", sql, params)

    def statuses(self) -> dict[str, str]:
        return dict(self.rows("SELECT correlation_id, status FROM runs"))

    def events(self, cid: str) -> list[str]:
        """``step:kind:outcome`` of a run's result events, in order."""
        from sagaline.messages.codec import unpack_value

        found = []
        for (blob,) in self.rows("SELECT event FROM run_events WHERE correlation_id = ? ORDER BY seq", cid):
            e = unpack_value(blob)
            if e.get("e") == "result":
                found.append(f"{e['step']}:{e['kind']}:{e['outcome']['t']}")
        return found


def effect_counts(db: Databases, cid: str) -> dict[str, int]:
    """Rows of run ``cid`` in each effect table (live tokens only)."""
    return {
        "users": db.count("gate", "users", "correlation_id = ?", cid),
        "live_tokens": db.count("gate", "tokens", "correlation_id = ? AND revoked_at IS NULL", cid),
        "vaults": db.count("block", "vaults", "correlation_id = ?", cid),
        "memberships": db.count("link", "memberships", "correlation_id = ?", cid),
    }


def keys_applied_more_than_once(db: Databases) -> dict[str, list]:
    """Effect rows per idempotency key above one, per table (exactly-once means empty)."""
    tables = {
        "gate": ("users", "tokens", "outbox"),
        "block": ("vaults",),
        "link": ("memberships",),
        "flow": ("events",),
    }
    found = {}
    for domain, names in tables.items():
        for table in names:
            rows = db.rows(
                domain,
                f"SELECT created_by_key, COUNT(*) FROM {table} "
                "WHERE created_by_key IS NOT NULL GROUP BY created_by_key HAVING COUNT(*) > 1",
            )
            if rows:
                found[table] = rows
    ledger = {d: db.rows(d, "SELECT key, COUNT(*) FROM idempotency GROUP BY key HAVING COUNT(*) > 1") for d in tables}
    found.update({f"{d}.idempotency": r for d, r in ledger.items() if r})
    return found


def orphans(db: Databases, stuck: set[str]) -> dict[str, list]:
    """Users without vault or membership; vaults or memberships without user (stuck runs excepted)."""
    users = {r[0] for r in db.rows("gate", "SELECT id FROM users")}
    vaults = {r[0]: r[1] for r in db.rows("block", "SELECT user_id, correlation_id FROM vaults")}
    members = {r[0]: r[1] for r in db.rows("link", "SELECT user_id, correlation_id FROM memberships")}
    return {
        k: v
        for k, v in {
            "user_without_vault": sorted(users - vaults.keys()),
            "user_without_membership": sorted(users - members.keys()),
            "vault_without_user": sorted(u for u, c in vaults.items() if u not in users and c not in stuck),
            "membership_without_user": sorted(u for u, c in members.items() if u not in users and c not in stuck),
        }.items()
        if v
    }


@contextmanager
def simple_life(data_dir: Path, log_dir: Path, **config: Any) -> Iterator[Any]:
    """A tree on a fresh in-process (simpleSystemBase) system over ``data_dir``; stopped on exit.

    Stopping an in-process system runs no actor's last words: what the
    journal has not committed is lost, as in a crash of the process.
    """
    from tests.integration.conftest import Running

    config.setdefault("domain_config", {"flow": {"mode": "raise"}})
    handle = start_system("simpleSystemBase", log_dir=log_dir)
    try:
        yield Running(handle, start_tree(handle, tree_config(data_dir, **config)), data_dir, config.get("storage_url"))
    finally:
        handle.shutdown()


def drive(t: Any) -> bool:
    """One cheap round trip: in-process systems only run while someone asks."""
    from sagaline.messages.registry import Lookup

    t.handle.ask(t.tree.registry, Lookup(key="drive"), 10)
    return True


def seed_journal(location: Path | str, writes: list) -> None:
    """Write journal records directly (a journal left by an earlier life, or a damaged one)."""
    from sagaline.storage.journal_sqlite import SqliteJournal

    store = SqliteJournal.open(location)
    try:
        store.write(writes, now=1.0)
    finally:
        store.close()
