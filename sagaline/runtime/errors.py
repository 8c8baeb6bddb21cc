"""Errors of the actor runtime (starting, joining, asking, stopping)::

    SagalineError
    +-- ActorRuntimeError
        +-- SystemStartError     the launcher failed or was not ready in time
        +-- NoSystemListening    join_system found nothing on the admin port
        +-- NotTheDaemon         something listens there but fails the identity check
        +-- SecretError          the installation secret is missing, unreadable or unsafe
        +-- TransportPatchError  Thespian is not the version the transport patch was written for
        +-- SystemNotOwned       shutdown() on a handle that only joined
        +-- AskTimeout           no reply within the timeout (retryable)

Raised by :mod:`sagaline.runtime.system`. Start errors carry the tail of the
launcher log; the caller fixes the cause (port taken, import error) and
starts again.
"""

from __future__ import annotations

from sagaline.errors import SagalineError

__all__ = [
    "ActorRuntimeError",
    "SystemStartError",
    "NoSystemListening",
    "NotTheDaemon",
    "SecretError",
    "TransportPatchError",
    "SystemNotOwned",
    "AskTimeout",
]


class ActorRuntimeError(SagalineError):
    """Base of the errors raised by :mod:`sagaline.runtime`."""


class SystemStartError(ActorRuntimeError):
    """The actor system could not be started; the message quotes the launcher log.

    Raised by ``start_system``. Nothing of the failed system is left running
    (its processes were killed by tag before this was raised).
    """


class NoSystemListening(ActorRuntimeError):
    """``join_system`` found no admin listening on the given port.

    Joining anyway would silently start a new, empty, persistent system, so
    nothing was joined. Start the daemon first, or fix the port.
    """


class NotTheDaemon(ActorRuntimeError):
    """Something accepts connections on the admin port but did not prove that
    it knows the installation secret (raised by ``join_system`` and
    :func:`sagaline.runtime.transport.verify_listener`).

    It may be another program squatting the port while the daemon is down, a
    daemon of another installation (another data directory, another
    secret), or a daemon older than the authenticated transport. Nothing was
    sent to it and nothing it sent was unpickled. Check the port and the
    secret file (``SECURITY.md``).
    """


class SecretError(ActorRuntimeError):
    """The installation secret could not be used: missing, unreadable, too
    short, not a regular file, or (for the daemon) readable by others.

    Raised by :mod:`sagaline.runtime.secret`. The message names the file and
    what to do (start the daemon once to create it; ``chmod 600`` it).
    """


class TransportPatchError(ActorRuntimeError):
    """Thespian's transport source differs from the pinned ``thespian==4.0.1``,
    so the authenticated transport cannot be applied; nothing was started
    (running without it would unpickle whatever reaches a port)."""


class SystemNotOwned(ActorRuntimeError):
    """``shutdown()`` was called on a handle made by ``join_system``.

    A process that joined a system must never stop it (it belongs to the
    daemon). Call ``close()`` to let go of the handle instead.
    """


class AskTimeout(ActorRuntimeError):
    """No reply arrived within the timeout of ``ActorSystemHandle.ask``.

    The target may be dead, slow, or may not answer that message. Safe to
    retry (a late reply is not mixed into the next ask: each ask uses its
    own endpoint).
    """

    retryable = True
