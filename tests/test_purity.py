"""The pure layers import nothing impure (no Thespian, aiosqlite, OpenTelemetry): the runtime's and the
Thunderline app's (its messages, event taxonomy and saga definitions)."""

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
ROOT = REPO / "sagaline"
PURE = [
    "messages",
    "saga",
    "events",
    "sagas",
    "supervisors/spec.py",
    "supervisors/strategy.py",
    "supervisors/api.py",
    "apps/model.py",
    "admin/conversations.py",
    "admin/conversation_asks.py",
    "admin/conversation_runs.py",
    "admin/conversation_reads.py",
    "admin/requests.py",
    "daemon/liveness.py",
    "client/results.py",
    "web/settings.py",
    "web/redact.py",
    "web/views.py",
    "web/gantt.py",
    "web/graph.py",
    "web/forms.py",
    "web/guard.py",
    "storage/location.py",
    "storage/dialect.py",
    "../thunderline/messages",
    "../thunderline/sagas",
    "../thunderline/events.py",
]
IMPURE = (
    "thespian",
    "aiosqlite",
    "opentelemetry",
    "sqlite3",
    "asyncio",
    "socket",
    "subprocess",
    "starlette",
    "uvicorn",
    "jinja2",
    "psycopg",
)


def _modules(entry: str):
    path = (ROOT / entry).resolve()
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
    bad = [(f.relative_to(REPO), name) for f in files for name in _imports(f) if name.split(".")[0] in IMPURE]
    assert bad == []


@pytest.mark.parametrize("entry", PURE)
def test_pure_packages_import_only_pure_sagaline_layers(entry):
    allowed = (
        "sagaline.messages",
        "sagaline.saga",
        "sagaline.sagas",
        "sagaline.events",
        "sagaline.errors",
        "sagaline.supervisors.spec",
        "sagaline.supervisors.strategy",
        "sagaline.supervisors.api",
        "sagaline.apps.model",
        "thunderline.messages",
        "thunderline.sagas",
        "thunderline.events",
        # the console's pure views use each other and the CLI's pure input conversion
        "sagaline.web.settings",
        "sagaline.web.redact",
        "sagaline.client.inputs",
        # the admin conversations are split over sibling modules, all of them pure
        "sagaline.admin.conversation_",
    )
    bad = [
        (f.relative_to(REPO), name)
        for f in _modules(entry)
        for name in _imports(f)
        if name.startswith(("sagaline", "thunderline")) and not name.startswith(allowed)
    ]
    assert bad == []
