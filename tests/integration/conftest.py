"""Whole-tree fixtures: a running root tree on an actor system, and its databases (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagaline.client import SagaClient
from sagaline.daemon.tree import Tree, start_tree
from sagaline.storage.backend import open_store_file
from sagaline.storage.location import store_location
from thunderline.testing import tree_config


def read_rows(storage_url: str | None, data_dir: Path, store: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query on store ``store`` (a read-only SQLite open, or the store's PostgreSQL schema)."""
    if storage_url is None:
        path = Path(data_dir) / f"{store}.sqlite"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    file = open_store_file(store_location(storage_url, data_dir, store))
    try:
        return [tuple(row) for row in file.fetchall(sql, params)]
    finally:
        file.close()


class Databases:
    """Read-only views of the domains' databases beside the actors (SQLite's WAL, or PostgreSQL)."""

    def __init__(self, data_dir: Path, storage_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.storage_url = storage_url

    def rows(self, domain: str, sql: str, *params: Any) -> list[tuple]:
        return read_rows(self.storage_url, self.data_dir, domain, sql, params)

    def count(self, domain: str, table: str, where: str = "1=1", *params: Any) -> int:
        return self.rows(domain, f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)[0][0]

    def live_tokens(self) -> int:
        return self.count("gate", "tokens", "revoked_at IS NULL")

    def effects(self) -> dict[str, int]:
        """Rows that a rolled-back run must not leave behind."""
        return {
            "users": self.count("gate", "users"),
            "live_tokens": self.live_tokens(),
            "vaults": self.count("block", "vaults"),
            "memberships": self.count("link", "memberships"),
        }


class Running:
    """A started tree with a client and its databases."""

    def __init__(self, handle: Any, tree: Tree, data_dir: Path, storage_url: str | None = None) -> None:
        self.handle, self.tree = handle, tree
        self.client = SagaClient(handle, tree.sagas)
        self.db = Databases(data_dir, storage_url)


@pytest.fixture(params=["hosted", "process"])
def isolation(request) -> str:
    """How runs are placed: many per saga host, or each in its own single-run host (a process)."""
    return request.param


@pytest.fixture
def make_tree(actor_system, tmp_path, isolation) -> Callable[..., Running]:
    """Start the root tree on the test's actor system (both bases), with options, both isolations."""
    counter = {"n": 0}

    def make(**options: Any) -> Running:
        counter["n"] += 1
        data_dir = tmp_path / f"data{counter['n']}"
        options.setdefault("domain_config", {"flow": {"mode": "raise"}})
        options.setdefault("isolation", isolation)
        tree = start_tree(actor_system, tree_config(data_dir, **options))
        return Running(actor_system, tree, data_dir, options.get("storage_url"))

    return make
