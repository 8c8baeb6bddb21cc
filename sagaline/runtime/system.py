"""Start, join and stop actor systems; the handle every caller uses.

* :func:`start_system` ``("simpleSystemBase")`` runs the system inside the
  calling process (fast unit tests; ``logDefs=False`` there keeps the root
  logger alone).
* :func:`start_system` ``("multiprocTCPBase")`` starts the system through
  :mod:`sagaline.runtime.launcher` in a clean subprocess (no descriptor of
  the caller leaks into the actors), on a free admin port bound to
  ``bind_address`` only, then joins it from the caller.
* :func:`join_system` joins a running multiprocess system from another
  process (the CLI), after checking that whoever listens on the admin port
  proves it knows the installation secret (a hello frame answered with an
  HMAC proof; nothing else is sent first, nothing is unpickled). Joining an
  empty port would silently start a new system; joining a squatter would
  hand it our frames. A join never starts a system, even when the admin
  vanishes between that check and the join (:mod:`sagaline.runtime.guards`).

Every multiprocess system runs the authenticated transport
(:mod:`sagaline.runtime.transport`): the secret goes to the launcher on its
stdin (never in argv or the environment), and the calling process installs
it before joining. ``start_system`` without a secret reuses the one this
process already installed, or makes a random one (a test's private system).

:class:`ActorSystemHandle` wraps the joined ``ActorSystem``. Its
:meth:`~ActorSystemHandle.ask` uses a private endpoint per call and always a
timeout: an ``ActorSystem`` endpoint is not thread-safe, and a late reply to
a timed-out ask on a shared endpoint is returned by the next ask.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sagaline.runtime import guards
from sagaline.runtime.allowlist import allow_classes
from sagaline.runtime.endpoints import EndpointPool
from sagaline.runtime.errors import AskTimeout, SecretError, SystemNotOwned, SystemStartError
from sagaline.runtime.identity import verify_listener
from sagaline.runtime.launcher import READY_FILE
from sagaline.runtime.patches import apply_patches, heap_wakeups
from sagaline.runtime.procs import TAG_VARIABLE, kill_all, pids_with_tag, wait_gone
from sagaline.runtime.transport import installed_secret

__all__ = ["ActorSystemHandle", "start_system", "join_system", "free_port", "SIMPLE", "MULTIPROC"]

SIMPLE = "simpleSystemBase"
MULTIPROC = "multiprocTCPBase"
#: Default seconds for an ask; Thespian's own default waits forever.
DEFAULT_ASK_TIMEOUT = 5.0
#: How the launcher is run (the interpreter is this process's); a benchmark swaps in its own.
LAUNCHER_ARGV = ["-m", "sagaline.runtime.launcher"]


def free_port(bind_address: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``bind_address`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((bind_address, 0))
        return probe.getsockname()[1]


class ActorSystemHandle:
    """A joined actor system: ask/tell from outside, process accounting, shutdown.

    Attributes:
        asys: The joined Thespian ``ActorSystem`` (use it for ``createActor``).
        base: The system base name.
        admin_port: The admin's TCP port (None in-process).
        admin_pid: The admin's OS pid (None in-process or when joined).
        logger_pid: The OS pid of Thespian's logger process (None in-process or when joined).
        log_dir: Directory holding ``actors.log``, ``thespian.log``, ``launcher.log``.
        tag: The environment marker of this system's processes (None in-process).
        owned: True when this handle started the system and may shut it down.
    """

    def __init__(
        self,
        asys: Any,
        base: str,
        *,
        admin_port: int | None = None,
        admin_pid: int | None = None,
        log_dir: Path | None = None,
        tag: str | None = None,
        owned: bool = True,
        logger_pid: int | None = None,
    ) -> None:
        self.asys = asys
        self.base = base
        self.admin_port = admin_port
        self.admin_pid = admin_pid
        self.logger_pid = logger_pid
        self.log_dir = log_dir
        self.tag = tag
        self.owned = owned
        self._lock = threading.RLock()
        self._endpoints: EndpointPool | None = None

    @property
    def multiprocess(self) -> bool:
        """True when actors run in their own OS processes."""
        return self.base != SIMPLE

    def ask(self, address: Any, message: Any, timeout: float = DEFAULT_ASK_TIMEOUT) -> Any:
        """Send ``message`` to ``address`` and return the first reply.

        In-process (simpleSystemBase) the actors run inside this call, under
        a lock: that base's private endpoints only work while another thread
        drives the system, and its timeouts do not interrupt a busy actor.

        Raises:
            AskTimeout: No reply within ``timeout`` seconds, or the message
                could not be delivered (the message says which, and how long
                it really waited).
        """
        began = time.monotonic()
        if not self.multiprocess:
            with self._lock:
                reply = self.asys.ask(address, message, timeout)
        else:
            with self.asys.private() as endpoint:
                reply = endpoint.ask(address, message, timeout)
        if reply is None:
            raise AskTimeout(_no_reply(type(message).__name__, timeout, time.monotonic() - began))
        return reply

    def request(self, address: Any, message: Any, timeout: float = DEFAULT_ASK_TIMEOUT) -> Any:
        """Send ``message`` to ``address`` and return its one answer, or None when none came in time.

        For protocols that answer every request exactly once (the admin
        protocol): multiprocess, the ask runs on a pooled endpoint that is
        lent again after an answer, so answers reuse connections (see
        :mod:`sagaline.runtime.endpoints`). In-process it is :meth:`ask`
        without the exception.
        """
        if not self.multiprocess:
            with self._lock:
                return self.asys.ask(address, message, timeout)
        with self._lock:
            if self._endpoints is None:
                self._endpoints = EndpointPool(self.asys)
            endpoints = self._endpoints
        return endpoints.ask(address, message, timeout)

    def tell(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` without waiting for anything."""
        if not self.multiprocess:
            with self._lock:
                self.asys.tell(address, message)
            return
        with self.asys.private() as endpoint:
            endpoint.tell(address, message)

    def create_actor(self, actor_class: Any, global_name: str | None = None) -> Any:
        """Create a top-level actor (its parent is the admin); return its address."""
        with self._lock:
            return self.asys.createActor(actor_class, globalName=global_name)

    def pids(self) -> set[int]:
        """Return the pids of this system's live processes (empty in-process)."""
        return pids_with_tag(self.tag) if self.tag else set()

    def shutdown(self, timeout: float = 10.0) -> set[int]:
        """Stop the system; then SIGKILL whatever of it still runs.

        Args:
            timeout: Seconds to wait for the processes to end by themselves.

        Returns:
            The pids that had to be killed (empty after a clean shutdown).

        Raises:
            SystemNotOwned: This handle only joined the system.
        """
        if not self.owned:
            raise SystemNotOwned("a joined system is never shut down by the joiner")
        self._close_endpoints()
        if self.asys is not None:
            if not self.multiprocess:
                self._stop_in_process_actors()
            asys, self.asys = self.asys, None
            asys.shutdown()
        if not self.tag:
            return set()
        wait_gone(self.tag, timeout)
        return kill_all(self.tag)

    def _stop_in_process_actors(self) -> None:
        """Send every live top-level actor ``ActorExitRequest``, newest first.

        simpleSystemBase's ``shutdown`` only forgets its actors: none is told
        to exit, so no ``on_terminate`` runs and every store an actor opened
        stays open (measured: 170 aiosqlite connections, each holding a
        non-daemon thread, left by one test run). Thespian passes the request
        on to each actor's children. Reads Thespian 4.0.1's private registry
        of actors; on any surprise it logs and leaves the old behaviour.
        """
        from thespian.actors import ActorExitRequest

        try:
            base = self.asys._systemBase
            system = base.system.systemAddress
            internal = set(base._internalAddresses)
            top = [
                ref.address
                for key, ref in list(base.actorRegistry.items())
                if ref is not None and key not in internal and ref.instance is not None and ref.parent == system
            ]
            with self._lock:
                for address in reversed(top):
                    self.asys.tell(address, ActorExitRequest())
        except Exception:
            logging.getLogger("sagaline.runtime").exception("stopping the in-process actors failed")

    def close(self) -> None:
        """Let go of the handle without stopping the system (a joined handle also
        closes its endpoint's sockets at once, instead of whenever it is collected)."""
        asys, self.asys = self.asys, None
        self._close_endpoints()
        if asys is not None and not self.owned and self.multiprocess:
            try:
                asys._systemBase.transport.close()
            except Exception:  # best effort: the endpoint is dropped either way
                logging.getLogger("sagaline.runtime").debug("closing a joined endpoint failed", exc_info=True)

    def _close_endpoints(self) -> None:
        with self._lock:
            endpoints, self._endpoints = self._endpoints, None
        if endpoints is not None:
            endpoints.close()


def _no_reply(what: str, timeout: float, waited: float) -> str:
    """Why an ask came back empty, with the time it really took (an undeliverable
    message returns at once, not after the timeout)."""
    if waited < timeout * 0.9:
        return f"no reply to {what}: the message could not be delivered (gave up after {waited:.3f} s of {timeout:g} s)"
    return f"no reply to {what} within {timeout:g} s (waited {waited:.2f} s)"


def start_system(
    base: str = MULTIPROC,
    *,
    log_dir: str | os.PathLike,
    admin_port: int | None = None,
    bind_address: str = "127.0.0.1",
    log_level: str = "WARNING",
    capabilities: dict | None = None,
    start_timeout: float = 30.0,
    secret: bytes | None = None,
    allowed_classes: Iterable[type | str] = (),
    convention_period_s: float | None = None,
) -> ActorSystemHandle:
    """Start a fresh actor system and return an owning handle.

    Args:
        base: ``"simpleSystemBase"`` or ``"multiprocTCPBase"``.
        log_dir: Existing directory for logs and the launcher's ready file.
        admin_port: Admin TCP port; a free one when None (multiprocess only).
        bind_address: The only host Thespian listeners bind (multiprocess).
        log_level: Level of the actors' log file.
        capabilities: Extra Thespian capabilities.
        start_timeout: Seconds allowed for the launcher.
        secret: The installation secret every frame is sealed with
            (multiprocess); None reuses this process's, or makes one.
        allowed_classes: More classes the transport may unpickle, in every
            process of the system (the message classes loaded apps declare):
            classes or ``"module:QualName"`` strings.
        convention_period_s: Seconds between the admin's re-registrations with its convention
            leader (multiprocess; :func:`sagaline.runtime.patches.convention_period`); None: Thespian's
            7 min 22 s.

    Raises:
        SystemStartError: The multiprocess system did not come up.
        TransportPatchError: Thespian is not the pinned version.
        ValueError: Unknown base.
    """
    log_dir = Path(log_dir)
    if base == SIMPLE:
        from thespian.actors import ActorSystem

        heap_wakeups()
        return ActorSystemHandle(
            ActorSystem(SIMPLE, dict(capabilities or {}), logDefs=False, transientUnique=True), SIMPLE, log_dir=log_dir
        )
    if base != MULTIPROC:
        raise ValueError(f"unsupported system base {base!r} (use {SIMPLE} or {MULTIPROC})")
    port = admin_port or free_port(bind_address)
    tag = str(uuid.uuid4())
    secret = secret or installed_secret() or secrets.token_bytes(32)
    allowed = [_class_path(cls) for cls in allowed_classes]
    allow_classes(allowed)
    apply_patches(bind_address, orphan_guard=False, secret=secret)
    guards.ensure_token()  # before the launch: the admin and every actor inherit it
    ready = _launch(
        port,
        log_dir,
        bind_address,
        tag,
        log_level,
        capabilities or {},
        start_timeout,
        secret,
        allowed,
        convention_period_s,
    )
    try:
        asys = _join(port, bind_address, secret)
    except Exception as exc:
        kill_all(tag)
        raise SystemStartError(f"started on port {port} but could not join: {exc}") from exc
    return ActorSystemHandle(
        asys,
        MULTIPROC,
        admin_port=port,
        admin_pid=int(ready["admin_pid"]),
        log_dir=log_dir,
        tag=tag,
        logger_pid=ready.get("logger_pid"),
    )


def join_system(
    admin_port: int, *, bind_address: str = "127.0.0.1", probe_timeout: float = 2.0, secret: bytes | None = None
) -> ActorSystemHandle:
    """Join the multiprocess system whose admin listens on ``admin_port``.

    Args:
        admin_port: The admin's port.
        bind_address: Its host (also the host this process's endpoint binds).
        probe_timeout: Seconds for the identity check.
        secret: The installation secret (:func:`sagaline.runtime.load_secret`);
            None uses the one this process installed.

    Returns:
        A handle with ``owned=False``: it never shuts the system down.

    Raises:
        NoSystemListening: Nothing accepts a TCP connection on the port.
        NotTheDaemon: Something listens but does not prove it knows the secret.
        SecretError: No secret given and none installed.
    """
    secret = secret or installed_secret()
    if secret is None:
        raise SecretError("joining an actor system needs the installation secret (sagaline.runtime.load_secret)")
    verify_listener(bind_address, admin_port, secret, probe_timeout)
    return ActorSystemHandle(_join(admin_port, bind_address, secret), MULTIPROC, admin_port=admin_port, owned=False)


def _join(port: int, bind_address: str, secret: bytes) -> Any:
    apply_patches(bind_address, orphan_guard=False, secret=secret)
    guards.attach_tokens()
    guards.never_start_admin()
    from thespian.actors import ActorSystem

    return ActorSystem(MULTIPROC, {"Admin Port": port}, transientUnique=True)


def _class_path(cls: type | str) -> str:
    return cls if isinstance(cls, str) else f"{cls.__module__}:{cls.__qualname__}"


def _launch(
    port: int,
    log_dir: Path,
    bind_address: str,
    tag: str,
    log_level: str,
    capabilities: dict,
    timeout: float,
    secret: bytes,
    allowed: list[str],
    convention_period_s: float | None = None,
) -> dict:
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / READY_FILE).unlink(missing_ok=True)
    command = [
        sys.executable,
        *LAUNCHER_ARGV,
        "--port",
        str(port),
        "--log-dir",
        str(log_dir),
        "--bind",
        bind_address,
        "--tag",
        tag,
        "--log-level",
        log_level,
        "--capabilities",
        json.dumps(capabilities),
        "--allow",
        json.dumps(allowed),
    ]
    if convention_period_s is not None:
        command += ["--convention-period", repr(float(convention_period_s))]
    with open(log_dir / "launcher.log", "ab") as log:
        launcher = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            close_fds=True,
            start_new_session=True,
            env=_child_environment(tag),
        )
    try:
        # The secret travels on the launcher's stdin: never in argv (ps) or the environment (inherited).
        launcher.communicate(secret.hex().encode(), timeout=timeout)
        status = launcher.returncode
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        status = None
    if status != 0:
        kill_all(tag)
        raise SystemStartError(
            f"launcher {'timed out' if status is None else f'exited {status}'} "
            f"on port {port}: {_tail(log_dir / 'launcher.log')}"
        )
    return json.loads((log_dir / READY_FILE).read_text())


def _child_environment(tag: str) -> dict[str, str]:
    """The caller's environment plus the system tag and the caller's import
    path (so actor classes the caller can import, test support modules
    included, import in actors too).

    The tag must be in the environment the launcher is *executed* with:
    ``/proc/<pid>/environ`` shows that initial block, not later changes to
    ``os.environ``.
    """
    env = dict(os.environ)
    env[TAG_VARIABLE] = tag
    paths = [os.path.abspath(p or os.curdir) for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if os.path.isdir(p)))
    return env


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no launcher log)"
