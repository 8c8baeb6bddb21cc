"""Patches to Thespian 4.0.1 that make a multiprocess actor system safe to run.

Applied by :func:`apply_patches` before an actor system starts (the launcher
applies them, so the admin and every actor process inherit them through
``fork``; a process that only joins a system applies the bind patch and the
transport too, since its own endpoint listens as well):

* **Authenticated, bounded transport** (given a ``secret``): every frame
  sealed with HMAC-SHA256 and checked before it is unpickled, unpickling
  restricted to an allow-list, idle and surplus connections closed; see
  :mod:`sagaline.runtime.transport`.

* **Bind only the configured address.** Thespian binds every TCP listener
  (the admin port, each actor's port) to ``''``, all interfaces, whatever
  ``THESPIAN_BASE_IPADDR`` says, and each listener unpickles what it
  receives. :func:`_bound_init` wraps ``IPActorAddress.__init__`` so an
  address with no explicit host uses the configured one, and a listener
  binds that host instead of ``''``.

* **No orphan actors.** When an actor's process is SIGKILLed, Thespian
  leaves its children running under init. Every actor process started
  through ``multiprocCommon.startChild`` first asks the kernel to SIGKILL
  it when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), then
  checks its parent is still the process that forked it (closing the race
  where the parent died before the ``prctl``), and exits at once if not.
  It then imports its actor's module (:func:`import_actor_module`) before
  its transport listens.
  Never applied to the admin (it double-forks: its first parent exits at
  once) nor to the logger; both are started by other functions.

* **Quiet self-sends.** When an actor sends a message to itself, Thespian's
  TCP transport queues it and then "wakes" its own select loop by opening a
  TCP connection to its own port (``interrupt_wait``): socket, connect,
  accept, shutdown, close, for every self-send. While the actor is handling
  a message on the loop's thread the loop is not waiting, so the wake-up is
  pointless; measured on a domain actor answering a saga host (one
  self-sent ``Pump`` per command), it was one new connection per message
  (435 connects and 435 accepts for 435 commands under ``strace``).
  :func:`dispatching` marks that time; the patched ``interrupt_wait`` then
  does nothing for a send. A signal handler's call (SIGCHLD: a child died;
  SIGTERM) still connects: Thespian reads the flags it sets only when it
  accepts that connection, so skipping it left a killed child unnoticed
  until some other connection arrived.

* **Lazy message descriptions.** Thespian logs every message an actor
  receives and every transmit at DEBUG level, and builds the description
  first (``thesplog('ACTOR got %s', envelope.identify(), level=DEBUG)``):
  ``identify()`` renders the whole message with ``str()``, a pydantic
  model's repr, even though DEBUG is off. For a saga host sending command
  batches that was 10 % of its busy time (py-spy). Patched,
  ``ReceiveEnvelope.identify`` and ``TransmitIntent.identify`` return a
  :class:`_Described` that renders only when a log line is written.

* **Timers in a heap (simpleSystemBase).** The in-process base keeps
  pending wakeups in a list that it partitions, with a functional fold, on
  every message it delivers: with a few thousand timers pending (a saga run
  arms a deadline per step, and Thespian timers cannot be cancelled, so
  they stay until they expire) that scan dominated every profile
  (1.5 M predicate calls for 100 runs). :func:`heap_wakeups` keeps them in
  a heap ordered by expiry: adding and popping cost O(log n). Applied by
  ``start_system`` for the in-process base.

* **No exit lost when two children die together.** When a child that ended
  itself tells its parent so, Thespian's ``_childExited`` prunes *every*
  dead child process from its list, reaping them, but synthesises
  ``ChildActorExited`` only on the SIGCHLD path, which later finds nothing
  left to report. So a child SIGKILLed just before a sibling's own exit
  notice was handled vanished without a word: its supervisor kept it as
  running forever (seen here in about 1 run in 3 of a test that crashes
  one worker and kills another at once). :func:`_patch_child_exits` makes
  the pruning report each dead child it reaps, as the SIGCHLD path
  would have; a repeat is dropped by the base actor
  (:mod:`sagaline.actors.child_exits`).

* **A convention heartbeat of seconds, not minutes.** Thespian's admin
  re-registers with its convention leader every
  ``CONVENTION_REREGISTRATION_PERIOD`` (7 min 22 s) and the leader declares
  a member gone after ``CONVENTION_REGISTRATION_MISS_MAX`` (3) missed ones,
  so a SIGKILLed member stayed listed ~22 min. Both are module globals of
  ``thespian.system.admin.convention``, read at each use;
  :func:`convention_period` sets the period (its environment variable takes
  only whole ``M:S``, and is read once at import), and
  ``CONVENTION_RESTART_PERIOD`` (3 min 22 s) with it: the admin's loop
  (``ConventioneerAdmin.run``) sleeps a fresh restart period while it does
  not know its leader yet (``convention_inattention_delay``: an unexpired
  ``ExpirationTimer`` is falsy there), which is the case right after a
  member's first registration; with only the period shortened, every
  member was declared lost 3 periods after it joined. The launcher applies it
  before it creates the system, so the admin it forks runs with it; no
  other process runs convention code (actors ask their admin).

Every patch is idempotent and process-wide.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["apply_patches", "bound_address", "heap_wakeups", "dispatching", "convention_period"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_state: dict[str, object] = {
    "bind": None,
    "orphans": False,
    "heap": False,
    "quiet": False,
    "lazy": False,
    "exits": False,
}
_handling = [0]  # > 0 while this process's actor handles a message on the transport loop's thread
# An actor forks its children while it handles a message: a child starts with nothing handled.
os.register_at_fork(after_in_child=lambda: _handling.__setitem__(0, 0))


def bound_address() -> str | None:
    """Return the host every listener binds, or None when unpatched."""
    return _state["bind"]  # type: ignore[return-value]


def apply_patches(bind_address: str = "127.0.0.1", *, orphan_guard: bool = True, secret: bytes | None = None) -> None:
    """Patch Thespian in this process (and in every process it forks later).

    Args:
        bind_address: The one host every Thespian listener binds, and the
            host of every locally made address (loopback by default).
            ``"0.0.0.0"`` or ``""`` leaves Thespian's bind-all behaviour.
        orphan_guard: Also make each actor process die with its parent.
        secret: The installation secret: install the authenticated transport
            with it (:func:`sagaline.runtime.transport.install_transport`).

    Raises:
        ValueError: A different bind address was already applied here, or the secret is too short.
        TransportPatchError: Thespian is not the pinned version.
    """
    if secret is not None:
        from sagaline.runtime.transport import install_transport

        install_transport(secret)
    if bind_address in ("", "0.0.0.0"):
        bind_address = None  # type: ignore[assignment]
    if _state["bind"] is not None and bind_address is not None and _state["bind"] != bind_address:
        raise ValueError(f"Thespian already bound to {_state['bind']!r}, not {bind_address!r}")
    if bind_address is not None and _state["bind"] is None:
        _patch_bind(bind_address)
    if orphan_guard and not _state["orphans"]:
        _patch_start_child()
    if not _state["quiet"]:
        _patch_quiet_self_sends()
    if not _state["lazy"]:
        _patch_lazy_descriptions()
    if not _state["exits"]:
        _patch_child_exits()


def convention_period(seconds: float) -> None:
    """Make the admin this process starts re-register with its convention leader every ``seconds``
    (a member), and declare a member gone after 3 such periods without one (a leader).

    Raises:
        ValueError: ``seconds`` is not positive.
    """
    from datetime import timedelta

    from thespian.system.admin import convention

    if not seconds > 0:
        raise ValueError(f"a convention heartbeat is a positive number of seconds, not {seconds}")
    convention.CONVENTION_REREGISTRATION_PERIOD = timedelta(seconds=seconds)
    # The restart period too: the admin's loop sleeps a whole restart period (3 min 22 s) whenever it does
    # not yet know its leader (right after its first registration), so a member re-registered only minutes
    # later and was declared lost 3 short periods after joining (measured: every member, 2-3 s after it).
    convention.CONVENTION_RESTART_PERIOD = timedelta(seconds=seconds)


@contextmanager
def dispatching() -> Iterator[None]:
    """Mark the handling of one message (the base actor wraps its handlers in it)."""
    _handling[0] += 1
    try:
        yield
    finally:
        _handling[0] -= 1


def _patch_quiet_self_sends() -> None:
    from thespian.system.transport import TCPTransport as tcp

    original = tcp.TCPTransport.interrupt_wait

    @functools.wraps(original)
    def interrupt_wait(self, signal_shutdown=False, check_children=False):
        if (
            _handling[0]
            and not (signal_shutdown or check_children)
            and threading.current_thread() is threading.main_thread()
        ):
            return None  # a send to itself: the loop looks at its queue when the handler returns
        # A signal (SIGCHLD, SIGTERM) sets a flag that the loop reads only when the wake-up
        # connection is accepted, so a signal handler's wake-up always connects.
        return original(self, signal_shutdown, check_children)

    tcp.TCPTransport.interrupt_wait = interrupt_wait
    _state["quiet"] = True


def _patch_child_exits() -> None:
    from thespian.actors import ChildActorExited
    from thespian.system import multiprocCommon
    from thespian.system.addressManager import CannotPickleAddress
    from thespian.system.transport import TransmitIntent
    from thespian.system.utilis import partition

    replicator = multiprocCommon.MultiProcReplicator

    def _childExited(self, childAddr):
        children = getattr(self, "_child_procs", [])
        self._child_procs, dead = partition(replicator._checkChildLiveness, children)
        # Every dead child is reported, the one whose exit is being handled too: its address may be a
        # reused port of a new incarnation that died as well, and a true repeat is dropped downstream.
        for each in dead:
            address = getattr(each, "childRealAddr", each.childAddr)
            try:
                self.transport.scheduleTransmit(
                    None, TransmitIntent(self.transport.myAddress, ChildActorExited(address))
                )
            except CannotPickleAddress:  # as Thespian's own SIGCHLD path: nothing to address it by
                pass

    replicator._childExited = _childExited
    _state["exits"] = True


class _Described:
    """A message's description, rendered only when formatted (what ``identify()`` returns when patched)."""

    __slots__ = ("_of", "_render")

    def __init__(self, render, of) -> None:
        self._render, self._of = render, of

    def __str__(self) -> str:
        return self._render(self._of)

    __repr__ = __str__


def _patch_lazy_descriptions() -> None:
    from thespian.system.transport import ReceiveEnvelope, TransmitIntent

    for cls in (ReceiveEnvelope, TransmitIntent):
        render = cls.identify
        cls.identify = functools.wraps(render)(lambda self, _render=render: _Described(_render, self))
        if cls is ReceiveEnvelope:  # its __str__ returns identify() itself, which must stay a str
            cls.__str__ = lambda self, _render=render: _render(self)
    _state["lazy"] = True


def _patch_bind(bind_address: str) -> None:
    from thespian.system.transport import IPBase

    original = IPBase.IPActorAddress.__init__

    @functools.wraps(original)
    def _bound_init(self, af, socktype, proto, baseaddr, port, external=False):
        if not baseaddr:
            baseaddr = bind_address
        original(self, af, socktype, proto, baseaddr, port, external)
        if self.bindname[0] in ("", "0.0.0.0"):
            self.bindname = (bind_address,) + tuple(self.bindname[1:])

    IPBase.IPActorAddress.__init__ = _bound_init
    IPBase.thisSystem.add_local_addr(bind_address)
    _state["bind"] = bind_address


def _patch_start_child() -> None:
    from thespian.system import multiprocCommon

    original = multiprocCommon.startChild

    @functools.wraps(original)
    def _guarded_start_child(*args, **kwargs):
        die_with_parent()
        import_actor_module(args[0] if args else kwargs.get("childClass"))
        return original(*args, **kwargs)

    multiprocCommon.startChild = _guarded_start_child
    _state["orphans"] = True


def import_actor_module(actor_class: object) -> None:
    """Import the module of ``actor_class`` (a dotted name) before the child's transport exists.

    Thespian imports it a moment later anyway; importing it first registers
    the message classes the actor's module defines or imports, so a message
    that reaches the new process before its actor is built is not refused by
    the transport's allow-list (:mod:`sagaline.runtime.allowlist`). Any
    import error is left for Thespian to report, as before.
    """
    if isinstance(actor_class, str) and "." in actor_class:
        try:
            importlib.import_module(actor_class.rpartition(".")[0])
        except Exception:
            pass


def die_with_parent() -> None:
    """In a freshly forked actor process: SIGKILL me when my parent dies.

    Exits the process at once (``os._exit(0)``) when the parent already
    died between the fork and this call. A no-op where ``prctl`` is
    unavailable (not Linux).
    """
    parent = multiprocessing.parent_process()
    expected = parent.pid if parent is not None else None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if expected is not None and os.getppid() != expected:
        os._exit(0)


def heap_wakeups() -> None:
    """Replace simpleSystemBase's list of pending wakeups by a heap (see the module docstring)."""
    if _state["heap"]:
        return
    import heapq
    import itertools

    from thespian.system import simpleSystemBase
    from thespian.system.timing import ExpirationTimer

    manager = simpleSystemBase.WakeupManager
    order = itertools.count()

    def _heap(self) -> list:
        heap = self.__dict__.get("_wakeup_heap")
        if heap is None:
            heap = self.__dict__["_wakeup_heap"] = []
        return heap

    def _pop_expired_wakeups(self, ct):
        heap, expired = _heap(self), []
        while heap and heap[0][0] <= ct:
            expired.append(heapq.heappop(heap)[2])
        return expired

    def _next_wakeup(self):
        heap = _heap(self)
        return heap[0][2][1] if heap else None

    def _add_wakeup(self, from_actor, time_period, payload):
        timer = ExpirationTimer(time_period)
        heapq.heappush(_heap(self), (timer._time_to_quit, next(order), (from_actor, timer, payload)))

    def add_wakeups_to_status(self, statusmsg):
        statusmsg.addWakeups([(entry[0], entry[1]) for _, _, entry in _heap(self)])
        return statusmsg

    manager._pop_expired_wakeups = _pop_expired_wakeups
    manager._next_wakeup = _next_wakeup
    manager._add_wakeup = _add_wakeup
    manager.add_wakeups_to_status = add_wakeups_to_status
    _state["heap"] = True
