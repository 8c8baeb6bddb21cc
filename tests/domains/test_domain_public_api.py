"""The public surface of storage and domains is small and pinned; no Thespian inside."""

from __future__ import annotations

import ast
import pathlib

import sagaline.domains
import sagaline.storage

ROOT = pathlib.Path(sagaline.storage.__file__).resolve().parents[1]
STORAGE = [ROOT / "storage" / f"{m}.py" for m in ("__init__", "aio", "errors", "sqlite", "idempotency", "flow_store")]
DOMAINS = [ROOT / "domains" / f"{m}.py" for m in ("__init__", "flow", "faults")]


def test_the_storage_package_exports_exactly_these_names():
    assert sorted(sagaline.storage.__all__) == [
        "AsyncRunner",
        "Database",
        "SqliteOptions",
        "StorageCorrupt",
        "StorageError",
        "apply_once",
        "open_database",
    ]


def test_the_domains_package_exports_exactly_these_names():
    assert sorted(sagaline.domains.__all__) == ["FaultPlan", "FaultRule", "FlowConfig", "FlowService"]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_storage_and_domains_never_import_thespian_and_only_storage_imports_aiosqlite():
    assert not [p for p in STORAGE + DOMAINS if any(n.startswith("thespian") for n in _imports(p))]
    assert not [p for p in DOMAINS if any(n.startswith("aiosqlite") for n in _imports(p))]


def test_every_module_stays_under_about_four_hundred_lines():
    assert {p.name: n for p in STORAGE + DOMAINS if (n := len(p.read_text().splitlines())) > 400} == {}
