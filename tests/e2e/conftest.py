"""End-to-end fixtures: a real daemon (``sagaline run``) in a subprocess, driven by the real CLI.

A module shares one daemon (starting one takes seconds); each is stopped with
SIGTERM at the end of its module and must exit 0 leaving no process behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sagaline.testing.daemon import CliRunner, DaemonProcess
from tests.support import tree

pytestmark = pytest.mark.multiproc

#: Flow raises on events that break the taxonomy (tests want to see those).
BASE_CONFIG = {"domains": {"flow": {"mode": "raise"}}}


def started_daemon(directory: Path, config: dict | None = None) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(directory, {**BASE_CONFIG, **(config or {})})
    daemon.start()
    try:
        yield daemon
    finally:
        result = daemon.stop()
        assert (result.exit_code, sorted(result.leftovers)) == (0, []), daemon.stderr()[-3000:]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[DaemonProcess]:
    yield from started_daemon(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def cli(daemon: DaemonProcess) -> CliRunner:
    return CliRunner(daemon)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """:func:`tests.support.tree.wait_until` with the longer patience a daemon needs."""
    return tree.wait_until(condition, timeout, interval)
