"""The daemon: config -> actor system -> root tree -> serve -> stop, in that order.

Start (:meth:`Daemon.start`):

0. load the apps (``config.apps`` and the ``sagaline.apps`` entry points):
   a bad app stops the start here (:class:`~sagaline.apps.AppError`, exit 2),
   before anything runs; set umask 077 (every file the daemon and its actors
   create is 0600) and make sure the data directory is private: created
   0700, refused (:class:`~sagaline.runtime.private.PrivacyError`) if
   another user owns it or group/others can enter it;
1. claim the data directory (``daemon.lock``; a second daemon is refused);
2. check the admin port: if anything already accepts connections there,
   refuse (:class:`PortInUse`) -- joining a system this daemon did not start
   would run stale code (thespian-notes.md); ``admin_port = 0`` picks a
   free port;
3. export the actors' environment (``SAGALINE_DATA_DIR``, the
   ``SAGALINE_TELEMETRY_*`` variables) -- actor processes read it
   (:mod:`sagaline.daemon.composition` makes it, the facts and the tree's config);
4. load the installation secret (``secret.key``, created 0600 at the first
   start) and start the actor system through the clean launcher with it:
   every frame authenticated, every listener bound to ``bind_address``
   (:func:`sagaline.runtime.start_system`); only this process holds its
   control token (:mod:`sagaline.runtime.guards`);
5. create the admin door (:mod:`sagaline.admin.door`) first: from
   now on a client that arrives is answered ``starting``, and no client can
   create a door or any other top-level actor;
6. start the registry and the root supervisor, with its configured restart
   intensity, and the admin endpoint (a pool of admin workers) as its last
   child (:func:`sagaline.daemon.tree.start_tree`);
7. open the door (:class:`~sagaline.messages.admin.AdminDoorInit`, once,
   with the token); write ``daemon.json``: from now on the CLI finds it;
8. with ``[web] enabled``, start the web console as a child process, a
   client like any other (:mod:`sagaline.web.process`).

Serve (:meth:`Daemon.serve`): every
:data:`~sagaline.daemon.liveness.WATCH_EVERY_S` touch the heartbeat file
and check the top-level processes (:mod:`sagaline.daemon.liveness`); when
one is gone, stop in a hurry and exit :data:`EXIT_UNHEALTHY` (or restart
in place, with ``supervision.on_give_up = "restart"``).

Stop (:meth:`Daemon.stop`, on SIGTERM/SIGINT): stop the web console; remove ``daemon.json``; ask
the root supervisor to stop (it stops its children in reverse start order:
admin endpoint, saga supervisor, domains, flow) and wait for the tree's
processes to end; shut the actor system down (registry, door, Thespian's
admin and logger); SIGKILL and report whatever is still alive; release the
data directory. A second signal skips the waiting. In a hurry (a watched
process died) the actor system is SIGKILLed at once: what is left of the
tree cannot be stopped in order, and the journal makes a kill safe.

Exit status of :func:`sagaline.daemon.process.run_daemon`: 0 stopped cleanly; 1 failed to start,
or processes had to be killed on stop; 2 bad configuration; 3 refused
(port in use, data directory held); 70 a watched process died or the root
supervisor gave up (restart the daemon; the journal recovers every run).

Errors::

    SagalineError
    +-- DaemonError           the daemon cannot start (exit_code says how to exit)
        +-- PortInUse         something already listens on the admin port (exit 3)
    (DataDirBusy from sagaline.runtime.pidfile: exit 3; PrivacyError, SecretError: exit 2)
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sagaline
from sagaline.admin.door import AdminDoor
from sagaline.daemon import liveness
from sagaline.daemon.composition import ADMIN_ENDPOINT_CLASS, actor_environment, daemon_facts, tree_config
from sagaline.daemon.config import DaemonConfig, daemon_apps, is_loopback
from sagaline.daemon.member import share_domains, unshare_domains
from sagaline.daemon.signals import StopRequest
from sagaline.errors import SagalineError
from sagaline.messages.admin import ADMIN_DOOR_NAME, AdminDoorInit, AdminDoorReady, AdminTree
from sagaline.messages.supervision import Stop
from sagaline.runtime.pidfile import DaemonInfo, DataDirLock, pid_alive, remove_info, write_info
from sagaline.runtime.private import PRIVATE_UMASK, ensure_private_dir
from sagaline.supervisors.spec import class_path

__all__ = [
    "Daemon",
    "DaemonError",
    "PortInUse",
    "StopReport",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_CONFIG",
    "EXIT_REFUSED",
    "EXIT_UNHEALTHY",
    "ADMIN_ENDPOINT_CLASS",
    "ADMIN_DOOR_CLASS",
    "HEARTBEAT_FILE",
    "UNHEALTHY",
]

_log = logging.getLogger("sagaline.daemon")
#: 70 is sysexits' EX_SOFTWARE: the daemon cannot go on; a process manager should start it again.
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_REFUSED, EXIT_UNHEALTHY = 0, 1, 2, 3, 70
ADMIN_DOOR_CLASS = class_path(AdminDoor)
#: The file the daemon's watch loop touches every tick (health reads its age).
HEARTBEAT_FILE = "heartbeat"
#: Seconds allowed for Thespian's own shutdown once the tree is gone.
SYSTEM_SHUTDOWN_S = 10.0
#: The reason :meth:`Daemon.serve` returns when a watched process is gone.
UNHEALTHY = "unhealthy"


class DaemonError(SagalineError):
    """The daemon could not start; nothing of it is left running.

    Attributes:
        exit_code: The status ``sagaline run`` exits with.
    """

    exit_code = EXIT_FAILED


class PortInUse(DaemonError):
    """Something already accepts connections on the admin port.

    It may be a stale actor system: the daemon never joins a system it did
    not start. Stop that process, or choose another ``--admin-port``.
    """

    exit_code = EXIT_REFUSED


@dataclass
class StopReport:
    """How a stop went."""

    reason: str
    seconds: float = 0.0
    tree_leftovers: set[int] = field(default_factory=set)
    killed: set[int] = field(default_factory=set)

    @property
    def clean(self) -> bool:
        """True when every process ended by itself."""
        return not self.tree_leftovers and not self.killed


class Daemon:
    """One daemon: :meth:`start`, :meth:`serve`, :meth:`stop`.

    Args:
        config: The validated configuration (``data_dir`` is resolved here).
    """

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config.model_copy(update={"data_dir": Path(config.data_dir).resolve()})
        self.data_dir: Path = self.config.data_dir
        self.lock = DataDirLock(self.data_dir)
        self.handle: Any = None
        self.tree: Any = None
        self.door: Any = None
        self.info: DaemonInfo | None = None
        self.apps: Any = None
        self._umask: int | None = None
        self.heartbeat = self.data_dir / HEARTBEAT_FILE
        self.watch: dict[str, int | None] = {}
        self.gone: liveness.Gone | None = None
        self.console: Any = None
        self.mirror: Any = None

    @property
    def multiprocess(self) -> bool:
        return self.config.base == "multiprocTCPBase"

    # ----- start ------------------------------------------------------------------------------

    def start(self) -> DaemonInfo:
        """Start everything; return what ``daemon.json`` now says.

        Raises:
            AppError: an app does not load (nothing was started).
            DataDirBusy, PortInUse, DaemonError: refused or failed (nothing left running).
            SystemStartError, ActorStartFailed, AskTimeout: from the runtime (nothing left running).
        """
        began = time.monotonic()
        self.apps = daemon_apps(self.config)
        _log.info(
            "apps: %s (sagas: %s)",
            ", ".join(a.name for a in self.apps.apps) or "none",
            ", ".join(self.apps.sagas) or "none",
        )
        self._umask = os.umask(PRIVATE_UMASK)
        try:
            ensure_private_dir(self.data_dir)
            self.lock.acquire()
        except BaseException:
            self._restore_umask()
            raise
        try:
            self._start_all()
        except BaseException:
            self._abort()
            raise
        info = self.info
        if info is None:  # _start_all publishes it last
            raise RuntimeError("the daemon started without publishing daemon.json")
        _log.info(
            "ready in %.2f s: admin %s:%s, %d actor processes, data %s",
            time.monotonic() - began,
            self.config.bind_address,
            info.admin_port,
            len(self.handle.pids()),
            self.data_dir,
        )
        return info

    def _start_all(self) -> None:
        from sagaline.daemon.cluster import thespian_capabilities
        from sagaline.daemon.member import daemon_secret, member_name, start_mirror
        from sagaline.daemon.tree import start_tree
        from sagaline.runtime import start_system

        config = self.config
        if not is_loopback(config.bind_address):
            _log.warning(
                "binding %s (allow_remote): the admin port and every actor port are reachable from that "
                "network; frames are authenticated but not encrypted, so anyone on it can read and replay "
                "them, and a holder of the secret can run code in this daemon (SECURITY.md)",
                config.bind_address,
            )
        port = self._admin_port() if self.multiprocess else None
        os.environ.update(actor_environment(config, self.data_dir))
        self.handle = start_system(
            config.base,
            log_dir=self.data_dir / "logs",
            admin_port=port,
            bind_address=config.bind_address,
            log_level=config.actor_log_level,
            start_timeout=config.start_timeout_s,
            secret=(secret := daemon_secret(config, self.data_dir)),
            capabilities=thespian_capabilities(config.cluster, member_name(config, port)),
            allowed_classes=self._app_message_classes(),
            convention_period_s=config.cluster.heartbeat_s,
        )
        _log.info("actor system %s started (admin pid %s, port %s)", config.base, self.handle.admin_pid, port)
        self.door = self.handle.create_actor(ADMIN_DOOR_CLASS, global_name=ADMIN_DOOR_NAME)  # says "starting"
        facts = daemon_facts(config, self.data_dir, self.apps, port)
        self.heartbeat.touch()
        watch = {"daemon": os.getpid(), "admin": self.handle.admin_pid, "logger": self.handle.logger_pid}
        tree = tree_config(config, self.data_dir, self.apps, facts, watch if self.multiprocess else {}, self.heartbeat)
        self.tree = start_tree(self.handle, tree, timeout=config.start_timeout_s)
        self.mirror = start_mirror(self.handle, self.tree.registry, config, secret, member_name(config, port))
        door_pid = self._open_door()
        self.watch = {
            "admin": self.handle.admin_pid,
            "logger": self.handle.logger_pid,
            **self.tree.pids,
            "door": door_pid,
        }
        _log.info("watching %s", ", ".join(f"{name} pid {pid}" for name, pid in self.watch.items() if pid))
        self.info = DaemonInfo(
            pid=os.getpid(),
            admin_port=port,
            bind_address=config.bind_address,
            base=config.base,
            data_dir=str(self.data_dir),
            started_at=facts["started_at"],
            tag=self.handle.tag,
            version=sagaline.__version__,
        )
        write_info(self.data_dir, self.info)
        if config.web.enabled and port is not None:
            from sagaline.web.process import ConsoleChild

            self.console = ConsoleChild(config.web, self.data_dir, port, config.bind_address, self.handle.tag)
            self.console.start()

    def _app_message_classes(self) -> tuple:
        """Classes the loaded apps declare as messages, for the transport's allow-list (every
        ``sagaline.messages.base`` message is allowed already)."""
        return tuple(self.apps.message_classes())

    def _admin_port(self) -> int:
        from sagaline.runtime.system import free_port

        address, port = self.config.bind_address, self.config.admin_port
        if port == 0:
            return free_port(address)
        if _accepts(address, port):
            raise PortInUse(
                f"something already listens on {address}:{port} (a stale actor system?); the "
                "daemon never joins an actor system it did not start, since that one runs old "
                "code. Stop it, or choose another --admin-port (0 picks a free one)"
            )
        return port

    def _open_door(self) -> int | None:
        """Tell the door where the registry is (once, with the control token); return its pid."""
        from sagaline.runtime import AskTimeout
        from sagaline.runtime.guards import TOKEN_VARIABLE

        init = AdminDoorInit(registry=self.tree.registry, token=os.environ.get(TOKEN_VARIABLE, ""))
        try:
            ready = self.handle.ask(self.door, init, self.config.start_timeout_s)
        except AskTimeout as exc:
            raise DaemonError(f"the admin door did not answer its init: {exc}") from None
        if not isinstance(ready, AdminDoorReady):
            raise DaemonError(f"the admin door refused its init: {getattr(ready, 'message', ready)}")
        if not ready.endpoint_found:
            raise DaemonError("the admin endpoint did not register; see data_dir/logs/actors.log")
        return ready.pid or None

    def _abort(self) -> None:
        self._stop_console()
        if self.handle is not None:
            killed = self.handle.shutdown(timeout=SYSTEM_SHUTDOWN_S)
            if killed:
                _log.warning("killed %d process(es) of a failed start", len(killed))
            self.handle = None
        remove_info(self.data_dir, os.getpid())
        self.lock.release()
        self._restore_umask()

    def _restore_umask(self) -> None:
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None

    # ----- serve ------------------------------------------------------------------------------

    def serve(self, stop: StopRequest, tick_s: float = liveness.WATCH_EVERY_S) -> str:
        """Serve until ``stop`` is requested (return the signal's name) or a watched
        process is gone (return :data:`UNHEALTHY`; :attr:`gone` says which)."""
        while not stop.wait(0.0 if not self.multiprocess else tick_s):
            if not self.multiprocess:
                self._pump(tick_s)
                continue
            self._beat()
            share_domains(self.mirror)
            if self.console is not None:
                self.console.check(time.monotonic())
            self.gone = liveness.first_gone(self.watch, pid_alive)
            if self.gone is not None:
                supervision = self.config.supervision
                _log.error("%s", liveness.why(self.gone, supervision.root_max_restarts, supervision.root_max_seconds))
                return UNHEALTHY
        _log.info("stop requested (%s)", stop.signal_name)
        return stop.signal_name or "request"

    def _beat(self) -> None:
        try:
            os.utime(self.heartbeat)
        except OSError:
            self.heartbeat.touch()

    def _pump(self, seconds: float) -> None:
        """simpleSystemBase runs actors (and fires their timers) only inside calls into it."""
        with self.handle._lock:
            self.handle.asys.listen(seconds)

    # ----- stop -------------------------------------------------------------------------------

    def stop(self, stop: StopRequest | None = None, reason: str = "request") -> StopReport:
        """Stop the tree in order, then the actor system (in a hurry after :data:`UNHEALTHY`:
        SIGKILL the actor system at once); never raises."""
        began, report = time.monotonic(), StopReport(reason)
        self._stop_console()
        remove_info(self.data_dir, os.getpid())
        if self.handle is not None and reason == UNHEALTHY:
            report.killed = self._kill_system()
        elif self.handle is not None:
            unshare_domains(self.mirror)
            self.mirror = None
            try:
                report.tree_leftovers = self._stop_tree(stop)
            except Exception:
                _log.exception("stopping the tree failed; shutting the system down")
            report.killed = self.handle.shutdown(timeout=SYSTEM_SHUTDOWN_S)
            self.handle = None
        self.lock.release()
        self._restore_umask()
        report.seconds = time.monotonic() - began
        level = logging.INFO if report.clean else logging.WARNING
        _log.log(
            level,
            "stopped in %.2f s (%s); tree processes left after the timeout: %d; killed: %d",
            report.seconds,
            reason,
            len(report.tree_leftovers),
            len(report.killed),
        )
        return report

    def _stop_console(self) -> None:
        if self.console is not None:
            console, self.console = self.console, None
            code = console.stop()
            _log.info("web console stopped (status %s)", code)

    def _kill_system(self) -> set[int]:
        from sagaline.runtime.procs import kill_all

        killed = kill_all(self.handle.tag) if self.handle.tag else set()
        self.handle.close()
        self.handle = None
        return killed

    def _stop_tree(self, stop: StopRequest | None) -> set[int]:
        if self.tree is None:
            return set()
        pids = self._tree_pids() if self.multiprocess else set()
        self.handle.tell(self.tree.root, Stop(reason="shutdown"))
        deadline = time.monotonic() + self.config.shutdown_timeout_s
        while pids and time.monotonic() < deadline and not (stop is not None and stop.force):
            pids = {pid for pid in pids if pid_alive(pid)}
            time.sleep(0.02)
        return pids

    def _tree_pids(self) -> set[int]:
        """Pids of the root supervisor and everything under it (from the admin endpoint's tree walk)."""
        from sagaline.daemon.tree import tree_pids
        from sagaline.messages.admin import AdminResult

        try:
            answer = self.handle.ask(self.door, AdminTree(), 5.0)
        except Exception:
            _log.warning("could not list the tree's processes; stopping without waiting for them")
            return set()
        if not isinstance(answer, AdminResult):
            return set()
        return tree_pids(answer.data["tree"])


def _accepts(address: str, port: int) -> bool:
    """True when something accepts TCP connections on ``address:port``."""
    host = "127.0.0.1" if address == "0.0.0.0" else address
    try:
        socket.create_connection((host, port), timeout=1.0).close()
        return True
    except OSError:
        return False
