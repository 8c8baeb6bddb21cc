"""PURE. What a saga host announces on the bus when its journal's storage fails and comes back.

=============================  ==========================================  =============
moment                         event (payload)                             priority
=============================  ==========================================  =============
the journal cannot be written  ``system.storage.fault`` {host, path,       critical
                               reason}
it is written again            ``system.storage.recovered`` {host, path,   normal
                               faulted_s}
=============================  ==========================================  =============

One of each per fault (the host's :class:`~sagaline.sagas.storage.StorageWatch`
reports edges, not retries). Both are transient (see
:mod:`sagaline.events.known`): sent, not awaited. A fault has its own
correlation id (UUID v7, made when it begins); the recovery carries the
same one, so a subscriber pairs them.
"""

from __future__ import annotations

from datetime import datetime

from sagaline.events.envelope import Event, new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.base import Headers

__all__ = ["FAULT_EVENT", "RECOVERED_EVENT", "fault_announcement", "recovery_announcement"]

FAULT_EVENT = "system.storage.fault"
RECOVERED_EVENT = "system.storage.recovered"


def fault_announcement(fault_id: str, host: int, path: str, reason: str, now: datetime | None = None) -> PublishEvent:
    """The bus command saying that host ``host`` cannot write its journal at ``path`` because of ``reason``.

    Args:
        fault_id: the fault's correlation id (UUID v7).
        host: the saga host's partition.
        path: the journal's file.
        reason: one line for operators (clipped to 500 characters).
        now: the event's time (the wall clock when None).
    """
    payload = {"host": host, "path": path, "reason": reason[:500]}
    return _command(new_event(FAULT_EVENT, "flow", payload, fault_id, now=now), fault_id)


def recovery_announcement(
    fault_id: str, host: int, path: str, faulted_s: float, now: datetime | None = None
) -> PublishEvent:
    """The bus command saying that the fault ``fault_id`` is over after ``faulted_s`` seconds."""
    payload = {"host": host, "path": path, "faulted_s": round(max(0.0, faulted_s), 3)}
    return _command(new_event(RECOVERED_EVENT, "flow", payload, fault_id, now=now), fault_id)


def _command(event: Event, fault_id: str) -> PublishEvent:
    headers = Headers(correlation_id=fault_id, idempotency_key=f"{fault_id}:{event.name}")
    return PublishEvent(headers=headers, event=event)
