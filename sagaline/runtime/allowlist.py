"""The restricted unpickler: only classes on the allow-list can be built.

An authenticated frame still comes from a process holding the secret, which
may be compromised; unpickling it with :func:`pickle.loads` would let it call
any importable function (``os.system``). :func:`restricted_loads` resolves
every class reference in a pickle through :meth:`AllowList.find`, which
answers from a dict and otherwise accepts only:

1. the Thespian classes that travel between an admin, its logger, actors and
   clients (:data:`THESPIAN_CLASSES`: addresses, system messages, admin
   requests; not ``ValidateSource``, which loads code, nor ``LoggerFileDup``,
   which makes the logger append to any file);
2. the few standard-library pieces message fields need (:data:`STDLIB_CLASSES`:
   datetime, UUID, Decimal, paths, ``logging.LogRecord`` for actor logs,
   the socket enums inside addresses, ordinary exception classes), and the
   sagaline models messages carry (:data:`SAGALINE_CLASSES`: ``ChildSpec``, a process run's launch);
3. every class defined in the ``sagaline.messages`` package, and in the two message
   modules that sit above it (:data:`MESSAGE_MODULES`: the event bus's messages, which carry
   events, and the supervisor API's, which carry child specs);
4. every class registered as a message (:func:`sagaline.messages.base.message_types`,
   looked up when first seen, so classes registered later, the saga hosts'
   batches and apps' messages, need nothing more);
5. what :func:`allow_classes` added (the message classes loaded apps declare;
   the daemon passes them to the launcher so every actor process has them).

A reference to anything else raises :class:`~sagaline.runtime.frames.PayloadRefused`
naming the class; the frame is dropped (its sender, who holds the secret,
gets Thespian's error ACK). A class of a module the receiving process never
imported is refused too, even if it would register itself as a message
there: actor processes import their own module before they listen
(:func:`sagaline.runtime.patches.import_actor_module`), so this only hits
messages sent to a process that has no business with them. Nothing outside :data:`MESSAGE_MODULES`
is imported to answer a lookup: an unknown module is refused, not loaded.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from collections.abc import Iterable
from typing import Any

from sagaline.runtime.frames import PayloadRefused

__all__ = [
    "AllowList",
    "ALLOWED",
    "allow_classes",
    "restricted_loads",
    "class_name",
    "THESPIAN_CLASSES",
    "STDLIB_CLASSES",
    "SAGALINE_CLASSES",
    "MESSAGE_PACKAGE",
    "MESSAGE_MODULES",
]

#: Every class in this package may travel (pure pydantic models, enums).
MESSAGE_PACKAGE = "sagaline.messages"
#: The message package and the message modules layered above it: all their own classes may travel.
MESSAGE_MODULES = (MESSAGE_PACKAGE, "sagaline.events.flow", "sagaline.supervisors.api")

#: Thespian classes seen on the wire (admin, logger, actors, clients), by module.
THESPIAN_CLASSES: dict[str, tuple[str, ...]] = {
    "thespian.actors": (
        "ActorAddress",
        "ActorExitRequest",
        "ChildActorExited",
        "PoisonMessage",
        "WakeupMessage",
        "DeadEnvelope",
        "WatchMessage",
        "ActorSystemConventionUpdate",
        "ActorSystemMessage",
    ),
    "thespian.system.transport.IPBase": (
        "IPActorAddress",
        "TCPv4ActorAddress",
        "TCPv6ActorAddress",
        "UDPv4ActorAddress",
        "RoutedTCPv4ActorAddress",
        "TXOnlyAdminTCPv4ActorAddress",
    ),
    "thespian.system.transport.TCPTransport": ("RoutedTCPv4ActorAddress", "TXOnlyAdminTCPv4ActorAddress"),
    "thespian.system.transport": ("ForwardMessage",),
    "thespian.system.addressManager": ("ActorLocalAddress",),
    "thespian.system.messages.admin": (
        "QueryExists",
        "QueryAck",
        "PendingActor",
        "PendingActorResponse",
        "HandleDeadLetters",
        "CapabilityUpdate",
        "NewCapabilities",
        "SystemShutdown",
        "SystemShutdownCompleted",
        "NotifyOnSourceAvailability",  # an admin creating an actor on a convention member (NAS trainers)
    ),
    "thespian.system.messages.multiproc": ("ChildMayHaveDied", "EndpointConnected", "LoggerConnected"),
    # a member daemon's admin joins the leader's convention (sagaline.daemon.cluster)
    "thespian.system.messages.convention": (
        "ConventionRegister",
        "ConventionDeRegister",
        "ConventionInvite",
        "NotifyOnSystemRegistration",
    ),
    "thespian.system.messages.logcontrol": ("SetLogging",),
    "thespian.system.messages.status": (
        "Thespian_StatusReq",
        "Thespian_SystemStatus",
        "Thespian_ActorStatus",
    ),
    "thespian.system.logdirector": ("LoggerExitRequest", "LogAggregator"),
}

#: sagaline classes outside ``sagaline.messages`` that messages carry.
SAGALINE_CLASSES: dict[str, tuple[str, ...]] = {
    "sagaline.supervisors.spec": ("ChildSpec",),  # in StartChild / supervision init messages
    # A process run's launch, in its single-run host's InitActor args (and an operator's action in it).
    "sagaline.hosts.host_args": ("NewRun", "Rebuild", "Successor"),
    "sagaline.hosts.saga_run": ("Operation",),
}

#: Standard-library classes message fields and Thespian's own messages use.
STDLIB_CLASSES: dict[str, tuple[str, ...]] = {
    "builtins": (
        "set",
        "frozenset",  # only older pickle protocols name them; protocol 4 has opcodes
        "Exception",
        "ValueError",
        "TypeError",
        "KeyError",
        "RuntimeError",
        "LookupError",
        "ArithmeticError",
        "ZeroDivisionError",
        "AttributeError",
        "IndexError",
        "OSError",
        "TimeoutError",
        "NotImplementedError",
        "AssertionError",
    ),
    "datetime": ("datetime", "date", "time", "timedelta", "timezone"),
    "uuid": ("UUID", "SafeUUID"),
    "decimal": ("Decimal",),
    "fractions": ("Fraction",),
    "pathlib": ("Path", "PosixPath", "PurePath", "PurePosixPath"),
    "collections": ("OrderedDict", "deque"),
    "logging": ("LogRecord",),
    "socket": ("AddressFamily", "SocketKind"),  # inside every Thespian TCP address
}


def class_name(module: str, name: str) -> str:
    """``module.name`` as one dotted string (for messages and logs)."""
    return f"{module}.{name}"


def _lookup(module: str, name: str) -> Any:
    target: Any = sys.modules[module] if module in sys.modules else importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


class AllowList:
    """Which classes a pickle may name; resolved lookups are cached in a dict.

    Args:
        static: module -> class names allowed by name (imported on first use).
        packages: packages whose own classes are all allowed.
    """

    def __init__(self, static: dict[str, tuple[str, ...]], packages: tuple[str, ...] = MESSAGE_MODULES) -> None:
        self._static = {(module, name) for module, names in static.items() for name in names}
        self._packages = packages
        self._resolved: dict[tuple[str, str], Any] = {}

    def find(self, module: str, name: str) -> Any:
        """Return the class ``module.name`` if it is allowed.

        Raises:
            PayloadRefused: it is not on the allow-list (or does not exist).
        """
        try:
            return self._resolved[(module, name)]
        except KeyError:
            pass
        found = self._resolve(module, name)
        if found is None:
            raise PayloadRefused(f"class {class_name(module, name)} is not on the transport's allow-list")
        self._resolved[(module, name)] = found
        return found

    def allow(self, classes: Iterable[type | str]) -> None:
        """Allow more classes: class objects, or ``"module:QualName"`` / ``"module.Name"`` strings.

        Raises:
            ValueError: a string names nothing importable, or not a class.
        """
        for item in classes:
            cls = _class_from(item)
            self._resolved[(cls.__module__, cls.__qualname__)] = cls

    def _resolve(self, module: str, name: str) -> Any:
        if (module, name) in self._static:
            return self._import(module, name)
        if any(module == package or module.startswith(package + ".") for package in self._packages):
            found = self._import(module, name)
            return found if isinstance(found, type) and found.__module__ == module else None
        return _registered(module, name)

    @staticmethod
    def _import(module: str, name: str) -> Any:
        try:
            return _lookup(module, name)
        except Exception:
            return None


def _registered(module: str, name: str) -> Any:
    """The registered message class ``module.name``, if one is (imported lazily: messages import pydantic)."""
    base = sys.modules.get("sagaline.messages.base")
    if base is None:
        return None
    for cls in base.message_types().values():
        if cls.__module__ == module and cls.__qualname__ == name:
            return cls
    return None


def _class_from(item: type | str) -> type:
    if isinstance(item, type):
        return item
    module, sep, name = item.partition(":")
    if not sep:
        module, _, name = item.rpartition(".")
    try:
        found = _lookup(module, name)
    except Exception as exc:
        raise ValueError(f"cannot allow {item!r}: {exc}") from None
    if not isinstance(found, type):
        raise ValueError(f"cannot allow {item!r}: not a class")
    return found


#: The process-wide allow-list the transport uses.
ALLOWED = AllowList({**THESPIAN_CLASSES, **STDLIB_CLASSES, **SAGALINE_CLASSES})


def allow_classes(classes: Iterable[type | str]) -> None:
    """Add classes to this process's allow-list (and to every process forked from it later).

    The daemon calls this with the message classes its loaded apps declare,
    before the actor system starts (it also hands them to the launcher).
    """
    ALLOWED.allow(classes)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return ALLOWED.find(module, name)


def restricted_loads(payload: bytes) -> Any:
    """Unpickle ``payload``, building only allowed classes.

    Raises:
        PayloadRefused: a class reference is not allowed, or the pickle is malformed.
    """
    try:
        return _Unpickler(io.BytesIO(payload)).load()
    except PayloadRefused:
        raise
    except Exception as exc:
        raise PayloadRefused(f"payload does not unpickle: {type(exc).__name__}: {exc}") from None
