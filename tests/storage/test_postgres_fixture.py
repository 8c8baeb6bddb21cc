"""The test PostgreSQL server: found from Debian's package, run unprivileged, always stopped and removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg

from sagaline.testing import postgres
from sagaline.testing.postgres import PostgresServer, find_bin_dir


def _family(postmaster: int) -> set[int]:
    """The postmaster and its children (the server's processes)."""
    found = {postmaster}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                found.add(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_a_server_serves_on_loopback_as_an_unprivileged_user_and_leaves_nothing_when_stopped(postgres_server):
    bin_dir = find_bin_dir()
    server = PostgresServer(bin_dir).start()
    root = server.root
    try:
        with psycopg.connect(server.create_database()) as conn:
            user = conn.execute("SELECT current_setting('listen_addresses')").fetchone()[0]
        owner = root.stat().st_uid
        assert user == "127.0.0.1"
        assert (owner == 0) == (os.geteuid() != 0)  # root's server runs as postgres or nobody, never root
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        # the backend that served the closed connection may still be exiting: count only the living
        running = {pid for pid in _family(postmaster) if _alive(pid)}
        assert postmaster in running and len(running) > 1
    finally:
        server.stop()
    assert not root.exists()
    # pg_ctl returns once the postmaster is gone; a child may take a moment longer to be reaped
    deadline = time.monotonic() + 5.0
    while {pid for pid in running if _alive(pid)} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {pid for pid in running if _alive(pid)} == set()


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_without_binaries_the_server_is_unavailable_and_required_turns_the_skip_into_a_failure(monkeypatch):
    monkeypatch.setenv(postgres.REQUIRE_ENV, "1")
    assert postgres.required()
    monkeypatch.setenv(postgres.REQUIRE_ENV, "0")
    assert not postgres.required()
    monkeypatch.setenv(postgres.BIN_ENV, "/nonexistent")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(postgres, "_debian_bin_dirs", lambda: [])
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    assert find_bin_dir() is None
