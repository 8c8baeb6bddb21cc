"""The pure layers import nothing impure (no Thespian, aiosqlite, OpenTelemetry)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "sagaline"
PURE = ["messages", "saga", "events", "sagas", "supervisors/spec.py", "supervisors/strategy.py",
        "daemon/conversations.py", "daemon/requests.py", "daemon/liveness.py", "client/results.py"]
IMPURE = ("thespian", "aiosqlite", "opentelemetry", "sqlite3", "asyncio", "socket", "subprocess")


def _modules(entry: str):
    path = ROOT / entry
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("entry", PURE)
def test_pure_packages_import_nothing_impure(entry):
    files = _modules(entry)
    if not files:
        pytest.skip(f"{entry} not written yet")
    bad = [(f.relative_to(ROOT), name) for f in files for name in _imports(f)
           if name.split(".")[0] in IMPURE]
    assert bad == []


@pytest.mark.parametrize("entry", PURE)
def test_pure_packages_import_only_pure_sagaline_layers(entry):
    allowed = ("sagaline.messages", "sagaline.saga", "sagaline.sagas", "sagaline.events", "sagaline.errors",
               "sagaline.supervisors.spec", "sagaline.supervisors.strategy")
    bad = [(f.relative_to(ROOT), name) for f in _modules(entry) for name in _imports(f)
           if name.startswith("sagaline") and not name.startswith(allowed)]
    assert bad == []
