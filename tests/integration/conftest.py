"""Whole-tree fixtures: a running root tree on an actor system, and its databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagaline.client import SagaClient
from sagaline.daemon.tree import Tree, start_tree
from thunderline.testing import tree_config


class Databases:
    """Read-only views of the domains' SQLite files (WAL lets us read beside the actors)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def rows(self, domain: str, sql: str, *params: Any) -> list[tuple]:
        path = self.data_dir / f"{domain}.sqlite"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def count(self, domain: str, table: str, where: str = "1=1", *params: Any) -> int:
        return self.rows(domain, f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)[0][0]

    def live_tokens(self) -> int:
        return self.count("gate", "tokens", "revoked_at IS NULL")

    def effects(self) -> dict[str, int]:
        """Rows that a rolled-back run must not leave behind."""
        return {"users": self.count("gate", "users"), "live_tokens": self.live_tokens(),
                "vaults": self.count("block", "vaults"), "memberships": self.count("link", "memberships")}


class Running:
    """A started tree with a client and its databases."""

    def __init__(self, handle: Any, tree: Tree, data_dir: Path) -> None:
        self.handle, self.tree = handle, tree
        self.client = SagaClient(handle, tree.sagas)
        self.db = Databases(data_dir)


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
        return Running(actor_system, tree, data_dir)

    return make
