"""The Thunderline domains' public surface is small and pinned; its services and stores hold no Thespian."""

from __future__ import annotations

import ast
import pathlib

import thunderline.domains

ROOT = pathlib.Path(thunderline.domains.__file__).resolve().parents[1]
STORAGE = [
    ROOT / "storage" / f"{m}.py" for m in ("gate_store", "block_store", "link_store", "bolt_store", "crown_store")
]
DOMAINS = [ROOT / "domains" / f"{m}.py" for m in ("__init__", "gate", "block", "link", "mail", "bolt", "crown")]


def test_the_domains_package_exports_exactly_these_names():
    assert sorted(thunderline.domains.__all__) == [
        "BlockConfig",
        "BlockService",
        "GateConfig",
        "GateService",
        "LinkConfig",
        "LinkService",
        "MailSendError",
        "MailSender",
        "OutboxSender",
        "SmtpConfig",
        "SmtpSender",
    ]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_stores_and_services_never_import_thespian_and_services_never_aiosqlite():
    assert not [p for p in STORAGE + DOMAINS if any(n.startswith("thespian") for n in _imports(p))]
    assert not [p for p in DOMAINS if any(n.startswith("aiosqlite") for n in _imports(p))]


def test_every_module_stays_under_about_four_hundred_lines():
    every = [p for p in ROOT.rglob("*.py")]
    assert {p.name: n for p in every if (n := len(p.read_text().splitlines())) > 400} == {}
