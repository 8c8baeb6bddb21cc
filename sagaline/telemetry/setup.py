"""Per-process OpenTelemetry setup, from the environment: lazy, idempotent, fork-aware.

Configuration (environment variables, read once per process; the daemon
sets them before it starts the actor system, and every actor process
inherits them):

=================================== ============================================================
variable                            meaning (default)
=================================== ============================================================
``SAGALINE_TELEMETRY_EXPORTER``     ``none`` | ``console`` | ``otlp`` | ``jsonl``
                                    (``jsonl`` when a directory is known, else ``none``)
``SAGALINE_TELEMETRY_DIR``          where the JSON-lines files go (``$SAGALINE_DATA_DIR/telemetry``)
``SAGALINE_DATA_DIR``               the daemon's data directory (only to derive the above)
``SAGALINE_TELEMETRY_SIGNALS``      ``traces,metrics`` (either may be left out)
``SAGALINE_TELEMETRY_SERVICE``      the ``service.name`` resource attribute (``sagaline``)
``SAGALINE_OTLP_ENDPOINT``          OTLP/HTTP base URL, e.g. ``http://127.0.0.1:4318``; the paths
                                    ``/v1/traces`` and ``/v1/metrics`` are appended (unset: the
                                    exporter's own defaults and ``OTEL_EXPORTER_OTLP_*`` variables)
``SAGALINE_TELEMETRY_BATCH``        most spans buffered before an export (64). jsonl and console
                                    also write whenever no span is open in the process (so
                                    nothing waits for more activity); otlp uses the SDK's
                                    batch processor (a thread, every 5 s) instead
``SAGALINE_TELEMETRY_METRIC_INTERVAL`` least seconds between two metric exports of a live process (60)
=================================== ============================================================

:func:`config_from_env` raises :class:`TelemetryConfigError` on a bad
value (the daemon should call it at start to refuse a bad config);
:func:`ensure` logs the error and runs the process without telemetry (an
actor never fails to start because of telemetry).

Life in an actor process (the hooks in :class:`~sagaline.actors.base.BaseActor`):

* :func:`actor_started` at an actor's first ``InitActor`` calls
  :func:`ensure`: the first call **in this process** builds a span
  processor and a meter provider with thread-free exporters
  (:mod:`sagaline.telemetry.pipeline`) and attaches the span and metric
  bridges to the process-wide telemetry. A process forked from one that was
  already set up (every actor is forked from its parent actor) notices the
  pid changed, detaches the inherited handlers and drops the inherited
  processor and provider *without* flushing them (the parent flushes its own), then sets
  itself up.
* :func:`actor_exiting` while an actor handles its ``ActorExitRequest``:
  when the last actor of this process is leaving (always, on the
  multiprocess bases: one actor per process), it flushes spans and metrics,
  because the process then ends with ``os._exit`` and ``atexit`` never runs.

A process that is not an actor (the daemon, a test on simpleSystemBase) is
flushed by :func:`shutdown` or at interpreter exit. Tests and embedders can
:func:`install` their own exporters (e.g. the SDK's ``InMemorySpanExporter``)
instead of the environment's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaline.errors import SagalineError
from sagaline.telemetry.core import Telemetry
from sagaline.telemetry.core import telemetry as default_telemetry

__all__ = [
    "TelemetryConfig",
    "TelemetryConfigError",
    "ProcessTelemetry",
    "config_from_env",
    "ensure",
    "install",
    "current",
    "actor_started",
    "actor_exiting",
    "flush",
    "shutdown",
    "reset",
    "EXPORTER_VARIABLE",
    "DIR_VARIABLE",
    "DATA_DIR_VARIABLE",
]

_log = logging.getLogger("sagaline.telemetry")
EXPORTER_VARIABLE = "SAGALINE_TELEMETRY_EXPORTER"
DIR_VARIABLE = "SAGALINE_TELEMETRY_DIR"
DATA_DIR_VARIABLE = "SAGALINE_DATA_DIR"
_EXPORTERS = ("none", "console", "otlp", "jsonl")
_SIGNALS = ("traces", "metrics")


class TelemetryConfigError(SagalineError, ValueError):
    """A telemetry environment variable has a bad value (raised by
    :func:`config_from_env`; the message names the variable). Fix it or
    unset it."""


@dataclass(frozen=True)
class TelemetryConfig:
    """Where this process's telemetry goes (see the module docstring for each field's variable)."""

    exporter: str = "none"
    directory: Path | None = None
    signals: tuple[str, ...] = _SIGNALS
    service: str = "sagaline"
    otlp_endpoint: str | None = None
    batch_size: int = 64
    metric_interval_s: float = 60.0

    @property
    def enabled(self) -> bool:
        """True when something is exported."""
        return self.exporter != "none" and bool(self.signals)


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise TelemetryConfigError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value <= 0:
        raise TelemetryConfigError(f"{name}={raw!r} must be positive")
    return value


def _directory(env: Mapping[str, str]) -> Path | None:
    if env.get(DIR_VARIABLE, "").strip():
        return Path(env[DIR_VARIABLE].strip())
    if env.get(DATA_DIR_VARIABLE, "").strip():
        return Path(env[DATA_DIR_VARIABLE].strip()) / "telemetry"
    return None


def config_from_env(env: Mapping[str, str] | None = None) -> TelemetryConfig:
    """Read the configuration (module docstring) from ``env`` (default ``os.environ``).

    Raises:
        TelemetryConfigError: an unknown exporter or signal, a bad number, or
            ``jsonl`` with no directory.
    """
    env = os.environ if env is None else env
    directory = _directory(env)
    exporter = env.get(EXPORTER_VARIABLE, "").strip().lower() or ("jsonl" if directory else "none")
    if exporter not in _EXPORTERS:
        raise TelemetryConfigError(f"{EXPORTER_VARIABLE}={exporter!r}: use one of {', '.join(_EXPORTERS)}")
    if exporter == "jsonl" and directory is None:
        raise TelemetryConfigError(f"the jsonl exporter needs {DIR_VARIABLE} or {DATA_DIR_VARIABLE}")
    signals = tuple(
        s.strip() for s in env.get("SAGALINE_TELEMETRY_SIGNALS", ",".join(_SIGNALS)).split(",") if s.strip()
    )
    if any(s not in _SIGNALS for s in signals):
        raise TelemetryConfigError(f"SAGALINE_TELEMETRY_SIGNALS={','.join(signals)!r}: use traces and/or metrics")
    return TelemetryConfig(
        exporter=exporter,
        directory=directory,
        signals=signals,
        service=env.get("SAGALINE_TELEMETRY_SERVICE", "").strip() or "sagaline",
        otlp_endpoint=env.get("SAGALINE_OTLP_ENDPOINT", "").strip() or None,
        batch_size=_number(env, "SAGALINE_TELEMETRY_BATCH", 64, int),
        metric_interval_s=_number(env, "SAGALINE_TELEMETRY_METRIC_INTERVAL", 60.0, float),
    )


@dataclass
class ProcessTelemetry:
    """This process's providers and bridges (any may be None when its signal is off)."""

    pid: int
    span_processor: Any = None
    meter_provider: Any = None
    reader: Any = None
    bridges: list = field(default_factory=list)

    def flush(self) -> None:
        """Export every buffered span and the metrics accumulated so far."""
        if self.span_processor is not None:
            self.span_processor.force_flush()
        if self.reader is not None:
            self.reader.collect()

    def close(self) -> None:
        """Detach the bridges, flush, and shut the providers down."""
        for bridge in self.bridges:
            bridge.detach()
        for part in (self.span_processor, self.meter_provider):
            if part is not None:
                part.shutdown()


class _State:
    def __init__(self) -> None:
        self.pid: int | None = None  # the process the current state belongs to
        self.current: ProcessTelemetry | None = None
        self.actors: set[int] = set()
        self.lock = threading.RLock()


_state = _State()


def _resource(service: str) -> Any:
    from opentelemetry.sdk.resources import Resource  # only when telemetry is on

    # Resource(...) rather than Resource.create(): create() runs the detectors found
    # through entry points, milliseconds per actor process.
    return Resource({"service.name": service, "process.pid": os.getpid()})


def install(
    span_exporter: Any = None,
    metric_exporter: Any = None,
    *,
    metric_reader: Any = None,
    span_processor: Any = None,
    batch_size: int = 64,
    metric_interval_s: float = 60.0,
    service: str = "sagaline",
    source: Telemetry = default_telemetry,
) -> ProcessTelemetry:
    """Set this process up with the given exporters (replacing any earlier setup).

    Args:
        span_exporter: an SDK ``SpanExporter``, fed by a thread-free
            :class:`~sagaline.telemetry.pipeline.FlushingSpanProcessor` that is
            flushed whenever no span is open (None: see ``span_processor``).
        metric_exporter: an SDK ``MetricExporter``, read on demand (None: see ``metric_reader``).
        metric_reader: an SDK ``MetricReader`` to use instead (e.g. ``InMemoryMetricReader``).
        span_processor: an SDK ``SpanProcessor`` to use instead of ``span_exporter``
            (e.g. a ``BatchSpanProcessor``: flushed only at exit and by itself).
        batch_size: most spans buffered by the flushing processor.
        metric_interval_s: least seconds between two metric exports triggered by events.
        service: the ``service.name`` resource attribute.
        source: the telemetry to attach to.
    """
    from sagaline.telemetry.metrics import MetricsBridge
    from sagaline.telemetry.otel import SpanBridge
    from sagaline.telemetry.pipeline import FlushingSpanProcessor, ForkQuietMeterProvider, OnDemandMetricReader

    with _state.lock:
        _drop(flush_first=_state.pid == os.getpid())
        setup = ProcessTelemetry(os.getpid())
        resource = _resource(service)
        idle_flush = span_processor is None
        if span_processor is None and span_exporter is not None:
            span_processor = FlushingSpanProcessor(span_exporter, batch_size)
        if span_processor is not None:
            setup.span_processor = span_processor
            setup.bridges.append(SpanBridge(span_processor, resource, source, flush_when_idle=idle_flush).attach())
        if metric_reader is None and metric_exporter is not None:
            metric_reader = OnDemandMetricReader(metric_exporter, metric_interval_s)
        if metric_reader is not None:
            setup.reader = metric_reader
            setup.meter_provider = ForkQuietMeterProvider(
                metric_readers=[metric_reader], resource=resource, shutdown_on_exit=False
            )
            tick = getattr(metric_reader, "maybe_collect", None)
            setup.bridges.append(MetricsBridge(setup.meter_provider, source, tick).attach())
        _state.pid, _state.current = os.getpid(), setup
        return setup


def _from_config(config: TelemetryConfig) -> ProcessTelemetry | None:
    from sagaline.telemetry import exporters

    spans = (
        exporters.span_exporter(
            config.exporter, config.directory, service=config.service, otlp_endpoint=config.otlp_endpoint
        )
        if "traces" in config.signals
        else None
    )
    metrics = (
        exporters.metric_exporter(
            config.exporter, config.directory, service=config.service, otlp_endpoint=config.otlp_endpoint
        )
        if "metrics" in config.signals
        else None
    )
    processor = None
    if spans is not None and config.exporter == "otlp":
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # A network exporter must not block an actor per command. A forked child's
        # copy of this processor clears its queue at fork, so nothing is sent twice.
        processor, spans = BatchSpanProcessor(spans, max_export_batch_size=config.batch_size), None
    return install(
        spans,
        metrics,
        span_processor=processor,
        batch_size=config.batch_size,
        metric_interval_s=config.metric_interval_s,
        service=config.service,
    )


def ensure(env: Mapping[str, str] | None = None) -> ProcessTelemetry | None:
    """Set this process up from the environment, once (again after a fork).

    Returns:
        The process's telemetry, or None when it is off (or misconfigured: logged).
    """
    with _state.lock:
        if _state.pid == os.getpid():
            return _state.current
        try:
            config = config_from_env(env)
            if not config.enabled:
                _drop(flush_first=False)
                _state.pid = os.getpid()
                return None
            return _from_config(config)
        except Exception as exc:  # telemetry must never stop an actor from starting
            _log.error("telemetry disabled in process %d: %s", os.getpid(), exc)
            _drop(flush_first=False)
            _state.pid = os.getpid()
            return None


def current() -> ProcessTelemetry | None:
    """This process's telemetry if it was set up here (None after a fork, until :func:`ensure`)."""
    return _state.current if _state.pid == os.getpid() else None


def _drop(flush_first: bool) -> None:
    """Forget the current setup; flush and shut it down only if it is this process's own."""
    from sagaline.telemetry.otel import HANDLER_PREFIX

    old, _state.current = _state.current, None
    if old is not None and flush_first:
        _safely(old.close)
    for handler_id in default_telemetry.handlers():
        if handler_id.startswith(HANDLER_PREFIX):  # inherited through a fork, or left by the old setup
            default_telemetry.detach(handler_id)
    if old is not None and not flush_first:
        for bridge in old.bridges:
            bridge.detach()
    if _state.pid != os.getpid():
        _state.actors = set()


def _safely(fn: Any) -> None:
    try:
        fn()
    except Exception:
        _log.exception("telemetry flush failed")


def actor_started(actor: object) -> None:
    """An actor of this process got its first InitActor: set telemetry up (once)."""
    try:
        ensure()
        _state.actors.add(id(actor))
    except Exception:
        _log.exception("telemetry setup failed")


def actor_exiting(actor: object) -> None:
    """An actor of this process is exiting: flush when it is the last one here."""
    with _state.lock:
        if _state.pid != os.getpid() or id(actor) not in _state.actors:
            return
        _state.actors.discard(id(actor))
        if not _state.actors and _state.current is not None:
            _safely(_state.current.flush)


def flush() -> None:
    """Export what this process has buffered (spans and metrics so far)."""
    setup = current()
    if setup is not None:
        _safely(setup.flush)


def shutdown() -> None:
    """Flush and close this process's telemetry; the next :func:`ensure` sets it up again."""
    with _state.lock:
        _drop(flush_first=_state.pid == os.getpid())
        _state.pid = None


def reset() -> None:
    """Forget everything without flushing (tests)."""
    with _state.lock:
        _drop(flush_first=False)
        _state.pid, _state.actors = None, set()


@atexit.register
def _at_exit() -> None:
    if _state.pid == os.getpid() and _state.current is not None:
        shutdown()
