"""A throwaway PostgreSQL server for tests: the machine's ``initdb``/``pg_ctl`` in a temporary directory.

:func:`find_bin_dir` looks for the server binaries: ``$SAGALINE_PG_BIN``,
then ``initdb`` on the PATH, then the files of Debian's ``postgresql-15``
package (``dpkg -L postgresql-15``: Debian keeps ``initdb`` off the PATH,
in ``/usr/lib/postgresql/15/bin``), then any ``/usr/lib/postgresql/*/bin``.

:class:`PostgresServer` runs a cluster on a free loopback port, with
``trust`` authentication for its own superuser (reachable from this machine
only), its socket in its own directory. The server refuses to run as root,
so when the tests do, it runs as the ``postgres`` user if one exists, else
``nobody``; its temporary directory (under ``/tmp``, reachable by that user)
is handed to it. :meth:`PostgresServer.stop` always ends the server
(``pg_ctl stop -m immediate``, then SIGKILL of the postmaster and of what is
left in its process group) and removes the directory: nothing leaks.

The pytest plugin's fixtures (``postgres_server``, ``postgres_url``,
``storage_url``, ``store_location``) are built on this: a test of a
backend-parametrised fixture is skipped with the reason when no binaries
exist, and fails instead when ``SAGALINE_REQUIRE_POSTGRES=1`` (CI, whose
``.ci/run`` installs the package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bin_dir", "REQUIRE_ENV", "BIN_ENV", "required"]

#: Set to 1 to turn "no PostgreSQL binaries" from a skip into a failure (CI).
REQUIRE_ENV = "SAGALINE_REQUIRE_POSTGRES"
#: A directory holding initdb and pg_ctl, searched first.
BIN_ENV = "SAGALINE_PG_BIN"
_DEBIAN_PACKAGE = "postgresql-15"
# pg_ctl -w waits for the server to accept connections; a cold initdb + start takes ~2 s here.
_START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or they would not start); the message says which."""


def required() -> bool:
    """True when the environment demands PostgreSQL tests run (``SAGALINE_REQUIRE_POSTGRES=1``)."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def find_bin_dir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``, or None when this machine has none."""
    candidates = [os.environ.get(BIN_ENV, "")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    candidates.extend(_debian_bin_dirs())
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    return None


def _debian_bin_dirs() -> list[str]:
    try:
        listing = subprocess.run(["dpkg", "-L", _DEBIAN_PACKAGE], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(Path(line).parent) for line in listing.stdout.splitlines() if line.endswith("/bin/initdb")]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root, then ``postgres`` or ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable(
        "running as root and neither a 'postgres' nor a 'nobody' user exists to run the "
        "server as (PostgreSQL refuses to run as root)"
    )


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; ``start()``, ``create_database()``, ``stop()``."""

    def __init__(self, bin_dir: Path, superuser: str = "sagaline") -> None:
        self.bin_dir = bin_dir
        self.superuser = superuser
        self.user = _server_user()
        self.port = 0
        self.root: Path | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """A libpq URL of ``database`` on this server."""
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        """initdb and start the server; on any failure everything is stopped and removed.

        Raises:
            PostgresUnavailable: initdb or the start failed (the message holds their output).
        """
        self.root = Path(tempfile.mkdtemp(prefix="sagaline-pg-"))
        try:
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._tool(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c max_connections=300 -c shared_buffers=32MB"
            )
            self._tool(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh database (a random name by default); return its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, disconnecting its clients (quietly: the cluster goes at the end anyway)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        try:
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass

    def stop(self) -> None:
        """Stop the server (immediately) and remove its directory. Idempotent; never raises."""
        if self.root is None:
            return
        root, self.root = self.root, None
        if (root / "data" / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-t", "20", "-D", str(root / "data"))
            except (PostgresUnavailable, OSError, subprocess.TimeoutExpired):
                pass
            _kill_postmaster(root / "data" / "postmaster.pid")
        shutil.rmtree(root, ignore_errors=True)

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        try:
            return (self.data_dir.parent / "server.log").read_text(errors="replace")
        except (OSError, AssertionError):
            return ""

    def _tool(self, tool: str, *args: str) -> None:
        result = self._run(tool, *args)
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()[-1500:]} {self.log()[-1500:]}"
            )

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        # start_new_session: a Ctrl-C of pytest does not reach the server before stop() does.
        return subprocess.run(
            [str(self.bin_dir / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT_S + 30,
            cwd="/",
            start_new_session=True,
            env={**os.environ, "LC_ALL": "C"},
        )


def _kill_postmaster(pidfile: Path) -> None:
    """SIGKILL the postmaster named in ``pidfile`` and its process group, if still alive."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for kill in (lambda: os.killpg(os.getpgid(pid), signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
