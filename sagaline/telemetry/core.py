"""``:telemetry`` in Python: execute, attach/attach_many/detach, span.

Semantics mirrored from beam-telemetry 1.4:

* :meth:`Telemetry.execute` runs every handler attached to the event
  synchronously, in the emitting thread. A handler that raises is detached
  and ``[telemetry, handler, failure]`` is emitted with the error; the
  emitter never sees the exception.
* :meth:`Telemetry.attach` refuses a duplicate handler id
  (:class:`AlreadyAttached`, the ``already_exists`` of the original).
* :meth:`Telemetry.span` emits ``prefix + (start,)`` with ``system_time`` and
  ``monotonic_time``, then ``prefix + (stop,)`` with ``duration`` (monotonic,
  nanoseconds) or ``prefix + (exception,)`` with ``duration``, ``kind``,
  ``reason`` and ``stacktrace`` before re-raising. Every span event carries a
  ``telemetry_span_context`` that ties start to stop (Reactor's middleware
  has neither the exception event nor the context; ours has both).

One :class:`Telemetry` per process is the usual use (:data:`telemetry`);
tests make their own. The OpenTelemetry bridge is a set of handlers
attached here, so the emitters never import OpenTelemetry.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sagaline.errors import SagalineError
from sagaline.telemetry.names import HANDLER_FAILURE

__all__ = ["Telemetry", "AlreadyAttached", "Collector", "telemetry", "EventName", "Handler"]

EventName = tuple[str, ...]
Handler = Callable[[EventName, dict, dict, Any], None]
_log = logging.getLogger("sagaline.telemetry")
_span_ids = itertools.count(1)


class AlreadyAttached(SagalineError):
    """A handler with this id is already attached (raised by ``attach``/``attach_many``)."""


@dataclass(frozen=True)
class _Attached:
    handler_id: str
    events: tuple[EventName, ...]
    fn: Handler
    config: Any


class Telemetry:
    """A registry of handlers by event name."""

    def __init__(self) -> None:
        self._by_event: dict[EventName, list[_Attached]] = {}
        self._by_id: dict[str, _Attached] = {}
        self._lock = threading.Lock()

    def attach(self, handler_id: str, event: EventName, fn: Handler, config: Any = None) -> None:
        """Call ``fn(event, measurements, metadata, config)`` on every ``event``.

        Raises:
            AlreadyAttached: ``handler_id`` is taken.
        """
        self.attach_many(handler_id, [event], fn, config)

    def attach_many(self, handler_id: str, events: Iterable[EventName], fn: Handler, config: Any = None) -> None:
        """Attach one handler to several events under one id (see :meth:`attach`)."""
        attached = _Attached(handler_id, tuple(tuple(e) for e in events), fn, config)
        with self._lock:
            if handler_id in self._by_id:
                raise AlreadyAttached(f"telemetry handler {handler_id!r} is already attached")
            self._by_id[handler_id] = attached
            for event in attached.events:
                self._by_event.setdefault(event, []).append(attached)

    def detach(self, handler_id: str) -> bool:
        """Detach a handler; False when no handler had that id."""
        with self._lock:
            attached = self._by_id.pop(handler_id, None)
            if attached is None:
                return False
            for event in attached.events:
                handlers = [h for h in self._by_event.get(event, []) if h is not attached]
                if handlers:
                    self._by_event[event] = handlers
                else:
                    self._by_event.pop(event, None)
            return True

    def handlers(self) -> list[str]:
        """Ids of the attached handlers."""
        return list(self._by_id)

    def execute(self, event: EventName, measurements: dict | None = None, metadata: dict | None = None) -> None:
        """Emit ``event``; never raises (a failing handler is detached and reported)."""
        handlers = self._by_event.get(event)
        if not handlers:
            return
        measurements, metadata = measurements or {}, metadata or {}
        for attached in list(handlers):
            try:
                attached.fn(event, measurements, metadata, attached.config)
            except Exception as exc:
                self._handler_failed(attached, event, exc)

    def _handler_failed(self, attached: _Attached, event: EventName, exc: Exception) -> None:
        self.detach(attached.handler_id)
        _log.warning(
            "telemetry handler %s failed on %s and was detached: %r", attached.handler_id, ".".join(event), exc
        )
        if event != HANDLER_FAILURE:
            self.execute(
                HANDLER_FAILURE,
                {"monotonic_time": time.monotonic_ns()},
                {
                    "handler_id": attached.handler_id,
                    "handler_config": attached.config,
                    "event_name": event,
                    "kind": "error",
                    "reason": exc,
                    "stacktrace": traceback.format_exception(exc),
                },
            )

    @contextmanager
    def span(self, prefix: EventName, start_metadata: dict | None = None) -> Iterator[dict]:
        """Emit start/stop (or exception, then re-raise) around a block.

        The block receives a dict it may fill with stop metadata.
        """
        meta = dict(start_metadata or {})
        meta["telemetry_span_context"] = next(_span_ids)
        start = time.monotonic_ns()
        self.execute(prefix + ("start",), {"system_time": time.time_ns(), "monotonic_time": start}, meta)
        stop_meta: dict = {}
        try:
            yield stop_meta
        except BaseException as exc:
            now = time.monotonic_ns()
            self.execute(
                prefix + ("exception",),
                {"duration": now - start, "monotonic_time": now},
                {
                    **meta,
                    **stop_meta,
                    "kind": "error" if isinstance(exc, Exception) else "exit",
                    "reason": exc,
                    "stacktrace": traceback.format_exception(exc),
                },
            )
            raise
        now = time.monotonic_ns()
        self.execute(prefix + ("stop",), {"duration": now - start, "monotonic_time": now}, {**meta, **stop_meta})


#: The process-wide instance (what emitters use unless given another).
telemetry = Telemetry()


@dataclass
class Collector:
    """An in-memory handler that keeps every event it sees (tests, the CLI's counters)."""

    events: list[tuple[EventName, dict, dict]] = field(default_factory=list)

    def __call__(self, event: EventName, measurements: dict, metadata: dict, config: Any) -> None:
        self.events.append((event, measurements, metadata))

    def named(self, event: EventName) -> list[tuple[dict, dict]]:
        """(measurements, metadata) of every ``event`` seen, in order."""
        return [(m, md) for e, m, md in self.events if e == event]

    def names(self) -> list[EventName]:
        """The names seen, in order."""
        return [e for e, _, _ in self.events]
