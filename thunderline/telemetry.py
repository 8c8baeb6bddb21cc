"""The original system's telemetry, emitted beside sagaline's: a handler that translates.

sagaline emits its own fixed events (:mod:`sagaline.telemetry.names`);
several keep the original's names already (``[reactor, saga, start]``,
``[reactor, saga, step, start|stop|exception]``, ``[reactor, saga,
compensate]``, the bus's ``[thunderline, event, *]``). The ones a user's
handlers could still miss came from the original's saga supervisor and from
Reactor's own middleware. :func:`attach` (run by the app's ``on_load``, so in
every process that loads the Thunderline app, the saga actors' included)
listens to ours and, for the Thunderline sagas, emits those right after, in
the same process, with the original's names, measurements and metadata:

==========================================  ==================================================================
ours                                        the original's, emitted after it
==========================================  ==================================================================
``[reactor, saga, start]``                  ``[reactor, run, start]`` {system_time}
``[reactor, saga, complete]``               ``[reactor, run, stop]`` {system_time, duration} status ``ok``;
                                            ``[thunderline, saga, complete]`` {count: 1, duration} status
                                            ``success``
``[reactor, saga, fail | cancelled |        ``[reactor, run, stop]`` status ``error`` (``halt`` for a halted
stuck]``                                    run) with ``errors``; ``[thunderline, saga, complete]`` status
                                            ``failure`` (not for a halted run: it has not ended)
``[reactor, saga, step, start]``            ``[reactor, step, run, start]`` {system_time}
``[reactor, saga, step, stop | exception]`` ``[reactor, step, run, stop]`` {system_time, duration} status
                                            ``ok`` | ``error`` | ``retry`` | ``halt``, ``result``
``[reactor, saga, compensate]``,            ``[reactor, step, compensate, start]``,
``[reactor, saga, compensate, stop]``       ``[reactor, step, compensate, stop]`` status ``ok`` | ``retry`` |
                                            ``error``
``[reactor, saga, undo]``,                  ``[reactor, step, undo, start]``,
``[reactor, saga, undo, stop]``             ``[reactor, step, undo, stop]``
==========================================  ==================================================================

Metadata of every translated event: ``saga`` and ``id`` the original's
module name (``Thunderline.Thunderbolt.Sagas.UserProvisioningSaga``, ...: the
original's supervisor passed the module, Reactor its id), ``saga_name``
ours, ``correlation_id``, ``causation_id`` (what the run was started with;
None when the run's own events do not carry it), and ``step`` for step
events. Durations are monotonic nanoseconds (ours), not Erlang native units.

Not translated: Reactor's ``[reactor, step, process, *]`` (a step's own
BEAM process: ours has none) and ``[reactor, step, guard, *]`` (the original
sagas had no guards). Other apps' sagas are not translated: these names are
the Thunderline sagas' compatibility, not the runtime's vocabulary.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sagaline.telemetry import names as tn
from sagaline.telemetry.core import AlreadyAttached, EventName, Telemetry, telemetry

__all__ = [
    "ORIGINAL_MODULES",
    "RUN_START",
    "RUN_STOP",
    "STEP_RUN_START",
    "STEP_RUN_STOP",
    "COMPENSATE_START",
    "COMPENSATE_STOP",
    "UNDO_START",
    "UNDO_STOP",
    "SUPERVISOR_COMPLETE",
    "ORIGINAL_EVENTS",
    "HANDLER_ID",
    "attach",
    "detach",
    "translate",
]

#: Our saga name -> the original's module (the ``saga`` metadata the original emitted).
ORIGINAL_MODULES: Mapping[str, str] = MappingProxyType(
    {
        "user_provisioning": "Thunderline.Thunderbolt.Sagas.UserProvisioningSaga",
        "upm_activation": "Thunderline.Thunderbolt.Sagas.UPMActivationSaga",
        "cerebros_nas": "Thunderline.Thunderbolt.Sagas.CerebrosNASSaga",
    }
)

RUN_START = ("reactor", "run", "start")
RUN_STOP = ("reactor", "run", "stop")
STEP_RUN_START = ("reactor", "step", "run", "start")
STEP_RUN_STOP = ("reactor", "step", "run", "stop")
COMPENSATE_START = ("reactor", "step", "compensate", "start")
COMPENSATE_STOP = ("reactor", "step", "compensate", "stop")
UNDO_START = ("reactor", "step", "undo", "start")
UNDO_STOP = ("reactor", "step", "undo", "stop")
SUPERVISOR_COMPLETE = ("thunderline", "saga", "complete")

#: Every name this module emits.
ORIGINAL_EVENTS: tuple[EventName, ...] = (
    RUN_START,
    RUN_STOP,
    STEP_RUN_START,
    STEP_RUN_STOP,
    COMPENSATE_START,
    COMPENSATE_STOP,
    UNDO_START,
    UNDO_STOP,
    SUPERVISOR_COMPLETE,
)
#: The handler's id (not under the OpenTelemetry bridges' prefix, so a forked process keeps it).
HANDLER_ID = "thunderline.telemetry.original-names"

_ENDS = (tn.SAGA_COMPLETE, tn.SAGA_FAIL, tn.SAGA_CANCELLED, tn.SAGA_STUCK)
_STEP_STARTS = {tn.STEP_START: STEP_RUN_START, tn.COMPENSATE: COMPENSATE_START, tn.UNDO: UNDO_START}
_STEP_STOPS = {
    tn.STEP_STOP: STEP_RUN_STOP,
    tn.STEP_EXCEPTION: STEP_RUN_STOP,
    tn.COMPENSATE_STOP: COMPENSATE_STOP,
    tn.UNDO_STOP: UNDO_STOP,
}
#: Ours that are translated.
SOURCE_EVENTS: tuple[EventName, ...] = (tn.SAGA_START, *_ENDS, *_STEP_STARTS, *_STEP_STOPS)


def attach(source: Telemetry = telemetry) -> None:
    """Attach the translation to ``source`` (the process's telemetry); a second call does nothing."""
    try:
        source.attach_many(HANDLER_ID, SOURCE_EVENTS, _handle, source)
    except AlreadyAttached:
        pass


def detach(source: Telemetry = telemetry) -> bool:
    """Detach it; False when it was not attached."""
    return source.detach(HANDLER_ID)


def _handle(event: EventName, measurements: dict, metadata: dict, source: Telemetry) -> None:
    for name, measured, meta in translate(event, measurements, metadata):
        source.execute(name, measured, meta)


def translate(
    event: EventName, measurements: Mapping[str, Any], metadata: Mapping[str, Any]
) -> list[tuple[EventName, dict, dict]]:
    """The original's events for one of ours: ``[(name, measurements, metadata), ...]`` (empty: none).

    Pure but for ``system_time`` (the wall clock, as the original's measurements had it).
    """
    module = ORIGINAL_MODULES.get(metadata.get("saga"))  # type: ignore[arg-type]
    if module is None:
        return []
    base = {
        "saga": module,
        "id": module,
        "saga_name": metadata.get("saga"),
        "correlation_id": metadata.get("correlation_id"),
        "causation_id": metadata.get("causation_id"),
    }
    now = time.time_ns()
    if event == tn.SAGA_START:
        return [(RUN_START, {"system_time": measurements.get("system_time", now)}, base)]
    if event in _ENDS:
        return _run_end(event, measurements, metadata, base, now)
    step = {**base, "step": metadata.get("step")}
    if event in _STEP_STARTS:
        return [(_STEP_STARTS[event], {"system_time": now}, {**step, "status": _START_STATUS[event]})]
    if event in _STEP_STOPS:
        status, result = _step_status(event, metadata)
        return [
            (
                _STEP_STOPS[event],
                {"system_time": now, "duration": measurements.get("duration", 0)},
                {**step, "status": status, "result": result},
            )
        ]
    return []


_START_STATUS = {tn.STEP_START: "run", tn.COMPENSATE: "compensate", tn.UNDO: "undo"}


def _run_end(
    event: EventName, measurements: Mapping[str, Any], metadata: Mapping[str, Any], base: dict, now: int
) -> list[tuple[EventName, dict, dict]]:
    ours = metadata.get("status") or event[-1]
    duration = measurements.get("duration", 0)
    reactor = "ok" if ours == "completed" else "halt" if ours == "halted" else "error"
    stop_meta = {**base, "status": reactor}
    if reactor == "error":
        stop_meta["errors"] = metadata.get("error")
    out: list[tuple[EventName, dict, dict]] = [(RUN_STOP, {"system_time": now, "duration": duration}, stop_meta)]
    if reactor != "halt":
        out.append(
            (
                SUPERVISOR_COMPLETE,
                {"count": 1, "duration": duration},
                {**base, "status": "success" if reactor == "ok" else "failure", "run_status": ours},
            )
        )
    return out


def _step_status(event: EventName, metadata: Mapping[str, Any]) -> tuple[str, Any]:
    if event == tn.STEP_STOP:
        return "ok", None
    kind = metadata.get("kind") if event == tn.STEP_EXCEPTION else metadata.get("outcome")
    status = {"ok": "ok", "continue": "ok", "retry": "retry", "halt": "halt"}.get(str(kind), "error")
    return status, metadata.get("reason")
