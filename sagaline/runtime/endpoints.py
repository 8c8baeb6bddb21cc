"""Reusable external endpoints of a joined multiprocess actor system.

Thespian's ``ActorSystem.private()`` gives a thread its own endpoint (its
own transport and listening socket) for one ask, and closes it after. Per
request that costs a socket, a listener, and, on the answering actor's
side, a new TCP connection for the answer (whose closing then waits in
TIME_WAIT): about one connection per request under load. An
:class:`EndpointPool` keeps finished endpoints and lends them again, so an
answer travels over a connection the answering actor already holds.

Only for protocols that answer each request exactly once: an endpoint
whose ask came back empty (timed out, undeliverable) or failed is closed,
not kept, so a late answer can never reach a later request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["EndpointPool"]

#: Idle endpoints kept; more in use at once are made and closed as needed.
DEFAULT_KEEP = 32


class EndpointPool:
    """Lends private endpoints of one joined ``ActorSystem`` (thread-safe)."""

    def __init__(self, asys: Any, keep: int = DEFAULT_KEEP) -> None:
        self._asys = asys
        self._keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def ask(self, address: Any, message: Any, timeout: float) -> Any:
        """Send ``message`` to ``address``; its one answer, or None when none came within ``timeout`` seconds.

        Raises:
            Whatever Thespian raises when the transport fails (the endpoint is closed then).
        """
        endpoint = self._take()
        try:
            answer = endpoint.ask(address, message, timeout)
        except BaseException:
            _close(endpoint)
            raise
        if answer is None:
            _close(endpoint)  # its answer may still come: never lend it again
        else:
            self._give(endpoint)
        return answer

    def close(self) -> None:
        """Close every idle endpoint; endpoints still lent out close when they come back."""
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for endpoint in idle:
            _close(endpoint)

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        from thespian.actors import ExternalContext  # what ActorSystem.private() makes

        return ExternalContext(self._asys._systemBase.external_clone())

    def _give(self, endpoint: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(endpoint)
                return
        _close(endpoint)


def _close(endpoint: Any) -> None:
    try:
        endpoint.exit_clone()
    except Exception:  # best effort: the endpoint is dropped either way
        logging.getLogger("sagaline.runtime").debug("closing a private endpoint failed", exc_info=True)
