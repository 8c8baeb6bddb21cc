"""The base actor: OTP crash semantics on top of Thespian.

Thespian, when a handler raises, calls it again with a copy of the message,
then bounces a ``PoisonMessage`` to the sender and keeps the actor alive
with whatever state it had: side effects can run twice and no supervisor
hears of it. :class:`BaseActor` instead catches every exception from a
handler, reports the reason to its parent in an
:class:`~sagaline.messages.supervision.ExitNotice`, and exits; its
supervisor decides what happens next. A handler therefore runs at most once
per message.

Life of a base actor:

1. Thespian creates it with no arguments (do no actor operations in
   ``__init__``). Its first message is :class:`InitActor` (parent,
   registry, lineage, args). If the init names a registry key, the actor
   registers itself first and fails with ``already_started`` when the key is
   taken. Then :meth:`BaseActor.on_start` runs with ``args`` and the actor
   answers :class:`Started` (or :class:`InitFailed` and exits). Messages that
   arrive before that are held and handled after it.
2. Messages are dispatched by type to ``receive_<ClassName>(message,
   sender)`` methods, along the message's class hierarchy. A message with no
   handler is logged and answered with :class:`Unrecognized`.
3. It ends by :meth:`BaseActor.stop` (reason normal unless given), by a
   :class:`Stop` request (reason shutdown, after :meth:`on_stop_request`),
   by a crash (reason error with the exception's type and message), or by
   Thespian's ``ActorExitRequest`` (reason shutdown). In every case
   :meth:`on_terminate` runs once and the parent gets one ExitNotice first.
4. A parent combines a child's ExitNotice with Thespian's
   ``ChildActorExited`` (which has no reason, and may come twice for one
   exit; :mod:`sagaline.actors.child_exits` says which is a repeat, even
   when a new child got the dead one's port): no notice first means the
   process was killed (reason ``killed``). Each child exit is told to the registry
   (:class:`HolderExited`) and passed to :meth:`on_child_exit`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ChildActorExited,
    DeadEnvelope,
    PoisonMessage,
    WakeupMessage,
)

from sagaline.actors.child_exits import RecentExits
from sagaline.actors.timers import Tick, Timers
from sagaline.messages.registry import AlreadyRegistered, HolderExited, Register, Registered
from sagaline.messages.supervision import (
    ExitKind,
    ExitNotice,
    ExitReason,
    InitActor,
    InitFailed,
    Started,
    Stop,
    Term,
    Unrecognized,
)
from sagaline.runtime.addresses import register_address_codec
from sagaline.runtime.patches import dispatching
from sagaline.telemetry import setup as process_telemetry
from sagaline.telemetry.deferral import deferring

__all__ = ["BaseActor", "DEFER_START", "error_reason"]

register_address_codec()
_log = logging.getLogger("sagaline.actors")
#: Returned by ``on_start`` to answer Started later (``confirm_start``/``fail_start``).
DEFER_START = object()
#: Seconds an actor process told to exit may wait for its children before it ends itself.
_EXIT_GRACE_S = 2.0
_watchdog_armed = False


def error_reason(exc: BaseException) -> ExitReason:
    """The exit reason for an exception: kind error, its class name and message."""
    return ExitReason(kind="error", error_type=type(exc).__name__, detail=str(exc)[:2000])


class BaseActor(Actor):
    """Base of every sagaline actor. Subclasses override the ``on_*`` hooks
    and add ``receive_<MessageClass>`` handlers; they never override
    ``receiveMessage``.

    Attributes:
        parent: Address that gets this actor's ExitNotice (None: nobody).
        parent_pid: The OS pid of the process that started it (None: outside actors, or unknown).
        registry: Registry actor address handed down the tree, or None.
        lineage: Ancestors' addresses, root first.
        child_id: Id under its supervisor, or None.
        args: The ``args`` of its InitActor.
        timers: Named timers whose stale wakeups are ignored.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parent: Any = None
        self.parent_pid: int | None = None
        self.registry: Any = None
        self.lineage: tuple = ()
        self.child_id: str | None = None
        self.args: dict[str, Any] = {}
        self.timers = Timers(self.wakeupAfter)
        self._init: InitActor | None = None
        self._init_sender: Any = None
        self._running = False
        self._ready = False  # on_start has run: messages are no longer held
        self._exiting = False
        self._held: list[tuple[Any, Any]] = []
        self._notices: list[tuple[Any, ExitReason]] = []
        self._recent_exits = RecentExits()

    # ----- hooks for subclasses -------------------------------------------------

    def on_start(self, args: dict[str, Any]) -> Any:
        """Initialise from ``args``; raise to fail the start. May return DEFER_START."""

    def on_stop_request(self, reason: ExitReason) -> None:
        """A Stop arrived. Default: exit now with ``reason``; override to stop children first."""
        self.exit_with(reason)

    def on_terminate(self, reason: ExitReason) -> None:
        """Last words before exiting (flush, close). Runs once; exceptions are only logged."""

    def on_child_exit(self, address: Any, reason: ExitReason) -> None:
        """A child actor ended (already deduplicated, reason resolved)."""

    def on_timer(self, name: str, data: Any) -> None:
        """Timer ``name`` fired."""

    def on_dead_letter(self, envelope: DeadEnvelope) -> None:
        """A message could not be delivered (only if dead letters were requested)."""

    def after_message(self) -> None:
        """Called after each message this running actor handled (a saga host sends its batches here)."""

    def on_poison(self, poison: PoisonMessage) -> None:
        """A message this actor sent made its receiver fail twice (``poison.poisonMessage``
        is it; ``poison.details`` the traceback). Default: log it."""
        _log.warning("%s got a PoisonMessage for %r", type(self).__name__, poison.poisonMessage)

    # ----- actions ----------------------------------------------------------------

    def stop(self, reason: ExitKind = "normal", term: Term | None = None) -> None:
        """Exit with ``reason`` (normal | shutdown; ``term`` makes it ``{shutdown, term}``):
        notify the parent, then end."""
        self.exit_with(ExitReason(kind=reason, term=term))

    def exit_with(self, reason: ExitReason) -> None:
        """Run ``on_terminate``, send the parent an ExitNotice with ``reason``, and end."""
        if self._exiting:
            return
        self._exiting = True
        self._last_words(reason)
        self.send(self.myAddress, ActorExitRequest())

    def confirm_start(self) -> None:
        """Answer Started after an ``on_start`` that returned DEFER_START."""
        if self._exiting:
            return
        self._running = True
        self.send(self._init_sender, Started(child_id=self.child_id, pid=os.getpid()))
        held, self._held = self._held, []
        for message, sender in held:
            self.receiveMessage(message, sender)

    def fail_start(self, reason: ExitReason, holder: Any = None) -> None:
        """Answer InitFailed with ``reason`` and exit without an ExitNotice."""
        if self._exiting:
            return
        self.send(self._init_sender, InitFailed(child_id=self.child_id, reason=reason, holder=holder))
        self._exiting = True
        self.send(self.myAddress, ActorExitRequest())

    def child_init(self, args: dict[str, Any] | None = None, **fields: Any) -> InitActor:
        """The InitActor for a child of this actor (inherits registry and lineage)."""
        return InitActor(
            args=dict(args or {}),
            parent=self.myAddress,
            parent_pid=os.getpid(),
            registry=self.registry,
            lineage=self.lineage + (self.myAddress,),
            **fields,
        )

    # ----- Thespian entry point -------------------------------------------------

    def receiveMessage(self, message: Any, sender: Any) -> None:
        """Route one message; any exception ends the actor with reason error."""
        # dispatching: a send to itself meanwhile needs no wake-up of the transport loop;
        # deferring: spans that end meanwhile are written once, when the message is handled
        with dispatching(), deferring():
            try:
                self._route(message, sender)
                if self._running and not self._exiting:
                    self.after_message()
            except Exception as exc:  # every crash becomes an exit, never a redelivery
                self._crash(exc, message)

    def _route(self, message: Any, sender: Any) -> None:
        if isinstance(message, (Started, InitFailed)):
            self._recent_exits.heard_from(sender)  # a new incarnation, maybe at a reused port
        if isinstance(message, ActorExitRequest):
            self._on_exit_request()
        elif isinstance(message, ChildActorExited):
            self._on_child_actor_exited(message.childAddress)
        elif isinstance(message, ExitNotice):
            self._notices.append((sender, message.reason))
        elif self._exiting:
            return  # a dead actor's mailbox: dropped, as in OTP
        elif isinstance(message, WakeupMessage):
            self._on_wakeup(message.payload)
        elif isinstance(message, PoisonMessage):
            self.on_poison(message)
        elif isinstance(message, DeadEnvelope):
            self.on_dead_letter(message)
        elif isinstance(message, InitActor):
            self._on_init(message, sender)
        elif not self._ready:
            self._on_pre_start(message, sender)
        elif isinstance(message, Stop):
            self.on_stop_request(message.exit_reason())
        else:
            self._dispatch(message, sender)

    def deliver(self, message: Any, sender: Any) -> None:
        """Handle ``message`` as if ``sender`` had sent it (a request forwarded on someone's behalf)."""
        self._dispatch(message, sender)

    def _dispatch(self, message: Any, sender: Any) -> None:
        for klass in type(message).__mro__:
            handler = getattr(self, f"receive_{klass.__name__}", None)
            if handler is not None:
                handler(message, sender)
                return
        self.receive_unhandled(message, sender)

    def receive_unhandled(self, message: Any, sender: Any) -> None:
        """No handler for ``message``: log it and answer :class:`Unrecognized`."""
        _log.warning("%s has no handler for %s", type(self).__name__, type(message).__name__)
        if not isinstance(message, Unrecognized) and sender is not None:
            self.send(sender, Unrecognized(message_type=type(message).__name__, actor=type(self).__name__))

    # ----- start --------------------------------------------------------------------

    def _on_init(self, init: InitActor, sender: Any) -> None:
        if self._init is not None:
            self.receive_unhandled(init, sender)
            return
        self._init, self._init_sender = init, sender
        process_telemetry.actor_started(self)  # this process's OpenTelemetry, set up once, from the env
        self.parent, self.registry, self.lineage = init.parent, init.registry, tuple(init.lineage)
        self.parent_pid = init.parent_pid
        self.child_id, self.args = init.child_id, dict(init.args)
        if _orphaned(init.parent_pid):
            os._exit(0)  # our parent died before we could be linked to it
        if init.name is not None and init.registry is not None:
            # registry_value: declared on ActorArgs (every model has it), read here before any model is parsed
            self.send(
                init.registry,
                Register(
                    key=init.name,
                    holder=self.myAddress,
                    lineage=self.lineage,
                    replaces=init.replaces,
                    value=init.args.get("registry_value"),
                ),
            )
            return
        self._run_on_start()

    def _on_pre_start(self, message: Any, sender: Any) -> None:
        name = self._init.name if self._init is not None else None
        if isinstance(message, Registered) and name is not None and message.key == name:
            self._run_on_start()
        elif isinstance(message, AlreadyRegistered) and name is not None and message.key == name:
            self.fail_start(
                ExitReason(kind="error", error_type="already_started", detail=f"name {message.key!r} is taken"),
                holder=message.holder,
            )
        else:
            self._held.append((message, sender))

    def _run_on_start(self) -> None:
        self._ready = True
        try:
            outcome = self.on_start(self.args)
        except Exception as exc:
            _log.warning("%s failed to start: %r", type(self).__name__, exc)
            self.fail_start(error_reason(exc))
            return
        if outcome is not DEFER_START:
            self.confirm_start()

    # ----- exits ----------------------------------------------------------------------

    def _crash(self, exc: Exception, message: Any) -> None:
        _log.error("%s crashed on %s", type(self).__name__, type(message).__name__, exc_info=exc)
        if not self._running and not self._exiting and self._init is not None:
            self.fail_start(error_reason(exc))
            return
        self.exit_with(error_reason(exc))

    def _on_exit_request(self) -> None:
        if not self._exiting:  # asked from outside: the system or a parent is stopping us
            self._exiting = True
            self._last_words(ExitReason(kind="shutdown"))
        process_telemetry.actor_exiting(self)  # flush now: the process ends with os._exit
        _exit_after_grace()

    def _last_words(self, reason: ExitReason) -> None:
        try:
            self.on_terminate(reason)
        except Exception:
            _log.exception("%s.on_terminate raised", type(self).__name__)
        if self.parent is not None and self._init is not None:
            self.send(self.parent, ExitNotice(child_id=self.child_id, reason=reason))

    def _on_child_actor_exited(self, address: Any) -> None:
        if not self._recent_exits.first_notice(address, time.monotonic()):
            return  # Thespian's second notice of the same exit
        reason = self._take_notice(address)
        if self.registry is not None:
            self.send(self.registry, HolderExited(holder=address))
        self.on_child_exit(address, reason)

    def _take_notice(self, address: Any) -> ExitReason:
        for index, (sender, reason) in enumerate(self._notices):
            if sender == address:
                del self._notices[index]
                return reason
        return ExitReason(kind="killed")

    def _on_wakeup(self, payload: Any) -> None:
        tick: Tick | None = self.timers.fire(payload)
        if tick is not None:
            self.on_timer(tick.name, tick.data)


def _exit_after_grace() -> None:
    """In an actor process that Thespian is stopping: end it after a grace period.

    Thespian makes an exiting actor wait until every child has exited. A
    child still being created when the exit request arrives may never
    answer (measured: about one system shutdown in five right after start
    hung 10 s in the admin, then left the supervisor, the half-started child
    and the admin running). After :data:`_EXIT_GRACE_S` the process ends
    itself; PR_SET_PDEATHSIG then takes any remaining children with it,
    like OTP's shutdown timeout followed by a brutal kill. Never in the
    test runner's own process (in-process bases run actors there).
    """
    global _watchdog_armed
    if _watchdog_armed or multiprocessing.parent_process() is None:
        return
    _watchdog_armed = True

    def _end() -> None:
        time.sleep(_EXIT_GRACE_S)
        os._exit(0)

    threading.Thread(target=_end, name="sagaline-exit-grace", daemon=True).start()


def _orphaned(parent_pid: int | None) -> bool:
    """True when this process's parent is no longer ``parent_pid`` (it died)."""
    if parent_pid is None or parent_pid == os.getpid():
        return False  # unsupervised, or in-process (simpleSystemBase)
    return os.getppid() != parent_pid
