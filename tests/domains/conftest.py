"""Fixtures for domain-service tests: a loop runner, a fake clock, a saga run's headers, the bus.

The bus is judged with the taxonomy the shipped sagas use (the runtime's flow
and the Thunderline app's, registered by loading the app).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sagaline.apps import load_apps
from sagaline.domains.flow import FlowConfig, FlowService
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.storage.aio import AsyncRunner
from sagaline.storage.flow_store import FlowStore
from thunderline.app import SPEC

load_apps([SPEC], entry_points=False)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2025, 10, 27, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Run:
    """A saga run's headers: one correlation id, keys named by step."""

    def __init__(self) -> None:
        self.correlation_id = uuid7()

    def key(self, step: str) -> str:
        return f"{self.correlation_id}:{step}"

    def headers(self, step: str) -> Headers:
        return Headers(correlation_id=self.correlation_id, idempotency_key=self.key(step))


@pytest.fixture
def run():
    runner = AsyncRunner(name="test-domains")
    yield lambda coro, timeout=10: runner.run(coro, timeout)
    runner.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def saga():
    return Run()


def _service(run, store_cls, path, make):
    store = run(store_cls.open(path))
    service = make(store)
    run(service.start())
    return store, service


@pytest.fixture
def flow(run, store_location, clock):
    store, service = _service(
        run, FlowStore, store_location("flow"), lambda s: FlowService(s, clock, FlowConfig(mode="drop"))
    )
    yield service
    run(store.close())
