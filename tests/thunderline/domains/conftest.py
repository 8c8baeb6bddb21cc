"""Fixtures for the Thunderline domain services (gate, block, link) beside the runtime's own."""

from __future__ import annotations

import pytest

from tests.domains.conftest import FakeClock, Run, _service, clock, flow, run, saga  # noqa: F401  fixtures
from thunderline.domains.block import BlockService
from thunderline.domains.gate import GateService
from thunderline.domains.link import LinkService
from thunderline.storage.block_store import BlockStore
from thunderline.storage.gate_store import GateStore
from thunderline.storage.link_store import LinkStore

__all__ = ["FakeClock", "Run"]


@pytest.fixture
def gate(run, tmp_path, clock):
    store, service = _service(run, GateStore, tmp_path / "gate.db", lambda s: GateService(s, clock))
    yield service
    run(store.close())


@pytest.fixture
def block(run, tmp_path, clock):
    store, service = _service(run, BlockStore, tmp_path / "block.db", lambda s: BlockService(s, clock))
    yield service
    run(store.close())


@pytest.fixture
def link(run, tmp_path, clock):
    store, service = _service(run, LinkStore, tmp_path / "link.db", lambda s: LinkService(s, clock))
    yield service
    run(store.close())
