"""The sagaline pytest plugin (registered through the ``pytest11`` entry point).

Fixtures:

* ``actor_system`` -- parametrised over ``simpleSystemBase`` and
  ``multiprocTCPBase`` (the latter marked ``multiproc``): a fresh actor
  system in a temporary directory, on a free port, yielded as an
  :class:`~sagaline.runtime.ActorSystemHandle`. A test using it runs once
  per base. On teardown the system is shut down, and the test **fails** if
  any process of that system was still alive a few seconds later (those
  processes are SIGKILLed first, so nothing leaks into later tests).
* ``simple_actor_system`` / ``multiproc_actor_system`` -- one base only.
* ``fake_clock`` -- a :class:`~sagaline.testing.clock.FakeClock` for pure policies.
* ``sagaline_daemon_factory`` -- ``start(config=None, flags=None, env=None)``
  starts a real daemon (``sagaline run``) in a subprocess on a free admin
  port with a temporary data directory, waits until it serves and returns
  its :class:`~sagaline.testing.daemon.DaemonProcess`. On teardown every
  daemon it started and the test did not stop itself gets SIGTERM; the test
  **fails** if one did not exit 0 or left a process of its actor system
  (those are SIGKILLed first).
* ``sagaline_daemon`` -- one such daemon with the embedded defaults.
* ``postgres_server`` -- (session) a :class:`~sagaline.testing.postgres.PostgresServer`
  started from the machine's ``initdb``/``pg_ctl`` on a free loopback port,
  stopped and removed after the session; the test is skipped with the reason
  when no PostgreSQL binaries exist (failed instead when
  ``SAGALINE_REQUIRE_POSTGRES=1``).
* ``postgres_url`` -- a fresh, empty database on that server, dropped after the test.
* ``storage_url`` -- parametrised over ``sqlite`` (None: SQLite files) and
  ``postgres`` (a ``postgres_url``): what ``storage.url`` / ``TreeConfig.storage_url`` take.
* ``store_location`` -- ``store_location("gate")``: that store's location on the
  test's backend (a file in ``tmp_path``, or a schema of ``postgres_url``);
  ``store_location.url`` is the ``storage_url``.
* ``sagaline_cli`` -- a :class:`~sagaline.testing.daemon.CliRunner` bound to
  ``sagaline_daemon``: ``sagaline_cli("sagas", "list")`` runs the real CLI
  in a subprocess and returns exit code, stdout and stderr;
  ``sagaline_cli.json(...)`` parses ``--json`` output; ``sagaline_cli.shell(
  "health", "tree")`` scripts the interactive shell.

Actor processes never inherit the test runner's stdout/stderr or other
descriptors: multiprocess systems are started through
:mod:`sagaline.runtime.launcher`. Actor classes a test uses must live in an
importable module (never in the test module itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from sagaline.runtime.system import MULTIPROC, SIMPLE, ActorSystemHandle, start_system
from sagaline.storage.location import store_location as _location
from sagaline.testing import postgres
from sagaline.testing.clock import FakeClock
from sagaline.testing.daemon import CliRunner, DaemonProcess

__all__ = [
    "actor_system",
    "simple_actor_system",
    "multiproc_actor_system",
    "fake_clock",
    "running_system",
    "sagaline_daemon_factory",
    "sagaline_daemon",
    "sagaline_cli",
    "postgres_server",
    "postgres_url",
    "storage_url",
    "store_location",
    "BACKENDS",
]

#: The storage backends a ``storage_url`` test runs on.
BACKENDS = ("sqlite", "postgres")

#: Seconds the processes of a stopped system get to end before they count as leaked.
LEAK_GRACE_S = 5.0


def running_system(base: str, log_dir) -> Iterator[ActorSystemHandle]:
    """Start a system on ``base`` in ``log_dir``; after the ``yield``, stop it and
    fail the current test if any of its processes had to be killed."""
    handle = start_system(base, log_dir=log_dir)
    try:
        yield handle
    finally:
        leaked = handle.shutdown(timeout=LEAK_GRACE_S)
        if leaked:
            pytest.fail(
                f"{base} system left {len(leaked)} process(es) running after shutdown "
                f"(killed: {sorted(leaked)}; logs in {log_dir})",
                pytrace=False,
            )


@pytest.fixture(params=[SIMPLE, pytest.param(MULTIPROC, marks=pytest.mark.multiproc)])
def actor_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ActorSystemHandle]:
    """A fresh actor system on each base in turn; fails the test on leftover processes."""
    yield from running_system(request.param, tmp_path_factory.mktemp("actors"))


@pytest.fixture
def simple_actor_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActorSystemHandle]:
    """A fresh in-process (simpleSystemBase) actor system."""
    yield from running_system(SIMPLE, tmp_path_factory.mktemp("actors"))


@pytest.fixture
def multiproc_actor_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActorSystemHandle]:
    """A fresh multiprocTCPBase actor system; fails the test on leftover processes."""
    yield from running_system(MULTIPROC, tmp_path_factory.mktemp("actors"))


@pytest.fixture
def fake_clock() -> FakeClock:
    """A hand-advanced monotonic clock starting at 1000.0."""
    return FakeClock()


@pytest.fixture
def sagaline_daemon_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., DaemonProcess]]:
    """``start(config=None, flags=None, env=None) -> DaemonProcess``: real daemons, stopped and checked on teardown."""
    started: list[DaemonProcess] = []

    def start(
        config: Mapping[str, Any] | None = None, flags: list[str] | None = None, env: Mapping[str, str] | None = None
    ) -> DaemonProcess:
        daemon = DaemonProcess(tmp_path_factory.mktemp("daemon"), config, flags, env)
        started.append(daemon)
        return daemon.start()

    try:
        yield start
    finally:
        problems = []
        for daemon in started:
            if daemon.result is not None:
                continue  # the test stopped it and judged how
            result = daemon.stop()
            if result.leftovers or result.exit_code != 0:
                problems.append(
                    f"daemon in {daemon.directory} exited {result.exit_code}, left "
                    f"{sorted(result.leftovers)} (killed); log: {daemon.stderr()[-1500:]}"
                )
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def sagaline_daemon(sagaline_daemon_factory: Callable[..., DaemonProcess]) -> DaemonProcess:
    """A running daemon with the embedded defaults (free admin port, temporary data directory)."""
    return sagaline_daemon_factory()


@pytest.fixture
def sagaline_cli(sagaline_daemon: DaemonProcess) -> CliRunner:
    """Runs the real ``sagaline`` CLI against ``sagaline_daemon``."""
    return CliRunner(sagaline_daemon)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """A PostgreSQL server for the session (see :mod:`sagaline.testing.postgres`); skipped without binaries."""
    bin_dir = postgres.find_bin_dir()
    if bin_dir is None:
        reason = (
            "no PostgreSQL server binaries (initdb, pg_ctl) on this machine: install postgresql-15 "
            f"(or point {postgres.BIN_ENV} at them)"
        )
        if postgres.required():
            pytest.fail(f"{reason}; {postgres.REQUIRE_ENV}=1 demands them", pytrace=False)
        pytest.skip(reason)
    server = postgres.PostgresServer(bin_dir)
    try:
        server.start()
    except postgres.PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: postgres.PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped (its clients cut off) after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite files) or a fresh PostgreSQL database's URL: each test runs on both."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


class StoreLocations:
    """``locations(name)``: where store ``name`` lives on the test's backend."""

    def __init__(self, url: str | None, directory: Any) -> None:
        self.url = url
        """The ``storage_url`` (None: SQLite)."""
        self.directory = directory
        """Where SQLite files go."""

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgres``."""
        return "sqlite" if self.url is None else "postgres"

    def __call__(self, name: str) -> str:
        return _location(self.url, self.directory, name)


@pytest.fixture
def store_location(storage_url: str | None, tmp_path: Any) -> StoreLocations:
    """Store locations on each backend in turn (a SQLite file in ``tmp_path``, or a schema of a fresh database)."""
    return StoreLocations(storage_url, tmp_path)
