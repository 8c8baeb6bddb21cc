"""The public surface of sagaline.events is pinned, and the package stays pure."""

import ast
import sys
from pathlib import Path

import sagaline.events

PACKAGE = Path(sagaline.events.__file__).parent
ALLOWED_SAGALINE = ("sagaline.messages", "sagaline.errors", "sagaline.events")


def test_the_public_names_are_exactly_these():
    assert sorted(sagaline.events.__all__) == [
        "Domain",
        "DropCounter",
        "Dropped",
        "Event",
        "EventError",
        "EventRejected",
        "FAMILIES",
        "KnownEvent",
        "Mode",
        "Payload",
        "Pipeline",
        "Priority",
        "Reliability",
        "Rule",
        "TAXONOMY_VERSION",
        "Validated",
        "Violation",
        "categories_by_domain",
        "check",
        "derive",
        "domains",
        "known_event",
        "known_events",
        "may_emit",
        "new_event",
        "parse_event",
        "register_domain",
        "register_event",
        "reliability_of",
        "select_pipeline",
        "validate",
    ]
    assert all(hasattr(sagaline.events, name) for name in sagaline.events.__all__)


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_the_package_imports_only_the_standard_library_pydantic_and_pure_sagaline():
    offending = [
        (path.name, module)
        for path in PACKAGE.glob("*.py")
        for module in _imports(path)
        if not (
            module.split(".")[0] in sys.stdlib_module_names
            or module.split(".")[0] == "pydantic"
            or module.startswith(ALLOWED_SAGALINE)
        )
    ]

    assert offending == []


def test_every_module_stays_under_four_hundred_lines():
    lengths = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}

    assert all(length < 400 for length in lengths.values()), lengths
