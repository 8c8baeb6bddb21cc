"""What :class:`sagaline.Client` raises, one class per thing a caller would do differently::

    SagalineError
    +-- ClientError                 anything the client raises on purpose
        +-- BadInput                the request is invalid (a field, a saga input, too large or
        |                           too deeply nested, an unknown saga): fix it; nothing was done
        +-- Refused                 the daemon understood and said no (a run in the wrong state,
        |   |                       too many runs, shutting down); ``reason`` says why
        |   +-- NotFound            no run with that correlation id
        +-- Busy                    every admin worker is answering another request (retryable)
        +-- Timeout                 no answer within the time given (retryable); ``waited_s``
        |   +-- OutcomeUnknown      a start whose outcome is not known, even after it was sent
        |                           again with the same correlation id: look it up by
        |                           ``correlation_id`` (``Client.get``, ``sagaline sagas show``)
        +-- DaemonUnreachable       no daemon there, or it went away (retryable once it runs)
        |   +-- DaemonStarting      it is still starting: try again in a moment (retryable)
        +-- DaemonFault             the daemon could not carry it out: a part of it is not
                                    running, or it failed inside (the message says which)

Every error has ``code`` (the daemon's :data:`~sagaline.messages.admin.AdminErrorCode`,
or a client-side one: ``unreachable``, ``no_answer``, ``outcome_unknown``, ``ambiguous``: a run id
prefix that several runs share, ``details["candidates"]`` naming them),
``details`` (the daemon's details) and ``retryable``. Raised by
:mod:`sagaline.client.sync` (and, the same, :mod:`sagaline.client.aio`);
:func:`error_for` maps a daemon's :class:`~sagaline.messages.admin.AdminError`.
"""

from __future__ import annotations

from typing import Any

from sagaline.errors import SagalineError
from sagaline.messages.admin import AdminError

__all__ = [
    "ClientError",
    "BadInput",
    "Refused",
    "NotFound",
    "Busy",
    "Timeout",
    "OutcomeUnknown",
    "DaemonUnreachable",
    "DaemonStarting",
    "DaemonFault",
    "error_for",
    "BAD_INPUT_REFUSALS",
]

#: The saga supervisor's refusal codes that mean "fix your request" (not "not now").
BAD_INPUT_REFUSALS = ("invalid_input", "unknown_saga", "invalid_correlation_id", "invalid_causation_id")


class ClientError(SagalineError):
    """Base of what :class:`sagaline.Client` raises.

    Attributes:
        code: The daemon's error code, or ``unreachable`` / ``no_answer`` / ``outcome_unknown``.
        details: More facts from the daemon (e.g. ``code``: the saga supervisor's own).
    """

    def __init__(self, message: str, code: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = dict(details or {})


class BadInput(ClientError):
    """The request was invalid and nothing was done. The message names the field or input.

    Raised for the daemon's ``malformed``, ``too_large``, ``unknown_request``,
    ``unsupported_version`` and ``invalid`` answers, and for a start the saga
    supervisor refused as ``invalid_input``, ``unknown_saga``,
    ``invalid_correlation_id`` or ``invalid_causation_id``. Fix it and send again.
    """

    @property
    def reason(self) -> str | None:
        """The saga supervisor's refusal code, when it refused."""
        return self.details.get("code")


class Refused(ClientError):
    """The daemon said no, and changed nothing: the run is not in a state that allows it
    (retry of a run that is not stuck, resume of a completed one), too many runs are in
    progress, or the daemon is stopping. ``reason`` is the refusal's own code."""

    @property
    def reason(self) -> str | None:
        """The saga supervisor's refusal code (``max_children``, ``running``...), when known."""
        return self.details.get("code")


class NotFound(Refused):
    """No run with that correlation id (never started here, or pruned after retention)."""


class Busy(ClientError):
    """Every admin worker was answering another request. Try again shortly, or raise the
    daemon's ``admin.workers``. Nothing was done."""

    retryable = True


class Timeout(ClientError):
    """No answer within the time given; the message says how long it really waited.

    For anything but a start the request may or may not have been carried out;
    reads are safe to send again.

    Attributes:
        waited_s: Seconds actually waited.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        code: str = "no_answer",
        details: dict[str, Any] | None = None,
        waited_s: float | None = None,
    ) -> None:
        super().__init__(message, code, details)
        self.waited_s = waited_s


class OutcomeUnknown(Timeout):
    """A start whose outcome is not known, even after sending it again with the same
    correlation id (or, with ``wait``, a run that did not end in time). The run may be
    running, finished, or never started: look it up by :attr:`correlation_id`.

    Attributes:
        correlation_id: The run's id (the client chose it before the first send).
    """

    def __init__(
        self, message: str, correlation_id: str, waited_s: float | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, "outcome_unknown", details, waited_s)
        self.correlation_id = correlation_id


class DaemonUnreachable(ClientError):
    """No sagaline daemon answers there: nothing listens, ``daemon.json`` is stale, the
    daemon has no admin port (in-process base), or it went away mid-call. Start one with
    ``sagaline run``. The client never starts an actor system itself."""

    retryable = True


class DaemonStarting(DaemonUnreachable):
    """The daemon is starting; its admin door is not open yet. Try again in a moment."""


class DaemonFault(ClientError):
    """The daemon could not carry the request out: the part of it the request needs is
    not running (``unavailable``: restarting?), does not support it (``unsupported``),
    or failed inside (``internal``). The message says which; the daemon keeps serving."""


_BY_CODE: dict[str, type[ClientError]] = {
    "malformed": BadInput,
    "too_large": BadInput,
    "unknown_request": BadInput,
    "unsupported_version": BadInput,
    "invalid": BadInput,
    "refused": Refused,
    "not_found": NotFound,
    "busy": Busy,
    "starting": DaemonStarting,
    "timeout": Timeout,
    "unavailable": DaemonFault,
    "unsupported": DaemonFault,
    "internal": DaemonFault,
}


def error_for(answer: AdminError) -> ClientError:
    """The exception for a daemon's error answer."""
    cls = _BY_CODE.get(answer.code, DaemonFault)
    if cls is Refused and answer.details.get("code") in BAD_INPUT_REFUSALS:
        cls = BadInput
    message = f"{answer.code}: {answer.message}"
    if cls is Timeout:
        return Timeout(message, answer.code, answer.details, answer.details.get("waited_s"))
    return cls(message, answer.code, answer.details)
