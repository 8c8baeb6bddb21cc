"""Fixtures for the Thunderline domain services (gate, block, link) beside the runtime's own,
each on both storage backends (``store_location``: SQLite files, a PostgreSQL database)."""

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
def gate(run, store_location, clock):
    store, service = _service(run, GateStore, store_location("gate"), lambda s: GateService(s, clock))
    yield service
    run(store.close())


@pytest.fixture
def block(run, store_location, clock):
    store, service = _service(run, BlockStore, store_location("block"), lambda s: BlockService(s, clock))
    yield service
    run(store.close())


@pytest.fixture
def link(run, store_location, clock):
    store, service = _service(run, LinkStore, store_location("link"), lambda s: LinkService(s, clock))
    yield service
    run(store.close())
