"""Talking to runs from outside the actor system (tests, benchmarks, the CLI).

:class:`SagaClient` wraps the saga supervisor's message API in calls. Every
call is one ``ask`` with a timeout on a handle from :mod:`sagaline.runtime`.

Errors::

    SagalineError
    +-- SagaRefusedError    the supervisor refused (``code`` and message say why)
    (AskTimeout from sagaline.runtime when no answer came in time)
"""

from __future__ import annotations

from typing import Any

from sagaline.errors import SagalineError
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    CancelRun,
    RunOutcome,
    RunSnapshot,
    RunStatus,
    SagaAccepted,
    SagaRefused,
    StartSaga,
)

__all__ = ["SagaClient", "SagaRefusedError"]


class SagaRefusedError(SagalineError):
    """The saga supervisor refused a request; nothing was started or changed.

    Attributes:
        code: the refusal's stable code (``invalid_input``, ``unknown_saga``, ...).
    """

    def __init__(self, refused: SagaRefused) -> None:
        super().__init__(f"{refused.code}: {refused.message}")
        self.code = refused.code


class SagaClient:
    """Start, await, cancel and inspect runs.

    Args:
        handle: an actor-system handle (``ask(address, message, timeout)``).
        sagas: the saga supervisor's address.
    """

    def __init__(self, handle: Any, sagas: Any) -> None:
        self.handle = handle
        self.sagas = sagas

    def _ask(self, message: Any, timeout: float) -> Any:
        reply = self.handle.ask(self.sagas, message, timeout)
        if isinstance(reply, SagaRefused):
            raise SagaRefusedError(reply)
        return reply

    def start(
        self,
        saga: str,
        inputs: dict[str, Any],
        correlation_id: str | None = None,
        causation_id: str | None = None,
        timeout: float = 10.0,
    ) -> SagaAccepted:
        """Start a run (or find the existing one with that correlation id)."""
        return self._ask(
            StartSaga(saga=saga, inputs=inputs, correlation_id=correlation_id, causation_id=causation_id), timeout
        )

    def run(
        self,
        saga: str,
        inputs: dict[str, Any],
        correlation_id: str | None = None,
        causation_id: str | None = None,
        timeout: float = 60.0,
    ) -> RunOutcome:
        """Start a run and wait for its outcome."""
        return self._ask(
            StartSaga(saga=saga, inputs=inputs, correlation_id=correlation_id, causation_id=causation_id, wait=True),
            timeout,
        )

    def wait(self, correlation_id: str, timeout: float = 60.0) -> RunOutcome:
        """Wait for a run's outcome (at once when it has ended)."""
        return self._ask(AwaitRun(correlation_id=correlation_id), timeout)

    def cancel(self, correlation_id: str, reason: str = "cancelled by operator", timeout: float = 10.0) -> CancelAnswer:
        """Cancel a running run (it rolls back); says whether it was still running."""
        return self._ask(CancelRun(correlation_id=correlation_id, reason=reason), timeout)

    def status(self, correlation_id: str, timeout: float = 10.0) -> RunSnapshot | CancelAnswer:
        """A running run's snapshot (an ended run answers with its final status)."""
        return self._ask(RunStatus(correlation_id=correlation_id), timeout)
