"""Fixtures for storage tests: a private loop runner and tmp_path databases."""

from __future__ import annotations

import pytest

from sagaline.storage.aio import AsyncRunner


@pytest.fixture
def runner():
    """An AsyncRunner closed after the test."""
    r = AsyncRunner(name="test-aio")
    yield r
    r.close()


@pytest.fixture
def run(runner):
    """Run a coroutine on the test's runner, with a generous timeout."""
    return lambda coro, timeout=10: runner.run(coro, timeout)
