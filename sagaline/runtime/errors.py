"""Errors of the actor runtime (starting, joining, asking, stopping)::

    SagalineError
    +-- ActorRuntimeError
        +-- SystemStartError     the launcher failed or was not ready in time
        +-- NoSystemListening    join_system found nothing on the admin port
        +-- SystemNotOwned       shutdown() on a handle that only joined
        +-- AskTimeout           no reply within the timeout (retryable)

Raised by :mod:`sagaline.runtime.system`. Start errors carry the tail of the
launcher log; the caller fixes the cause (port taken, import error) and
starts again.
"""

from __future__ import annotations

from sagaline.errors import SagalineError

__all__ = ["ActorRuntimeError", "SystemStartError", "NoSystemListening", "SystemNotOwned", "AskTimeout"]


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
