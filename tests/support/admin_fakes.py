"""A stand-in saga supervisor for admin worker tests (plain Thespian actors, importable by actor processes).

:class:`FakeSagas` answers like the saga supervisor would, in the ways the
admin workers must cope with:

* ``StartSaga``: handed to a :class:`RunHost` child that answers the
  *original requester* itself (the lead's saga hosts will do that);
* ``AwaitRun`` for ``LATE``: answered after :data:`LATE_S` (after the
  request's deadline); any other id at once;
* ``CancelRun``: raises every time, so Thespian sends the requester a
  ``PoisonMessage``;
* ``RunStatus``: answered at once with a snapshot.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from thespian.actors import Actor, WakeupMessage

from sagaline.messages.saga import AwaitRun, CancelRun, RunOutcome, RunSnapshot, RunStatus, StartSaga

LATE = "01a21fb3-0000-7000-8000-00000000late"
LATE_S = 1.5


def outcome(cid: str, status: str = "completed") -> RunOutcome:
    return RunOutcome(correlation_id=cid, saga="fake", status=status)


class RunHost(Actor):
    """Answers ``(requester, reply)`` by sending ``reply`` to ``requester``."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, tuple):
            requester, reply = message
            self.send(requester, reply)


class FakeSagas(Actor):
    """See the module docstring."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, StartSaga):
            host = self.createActor(RunHost)
            self.send(host, (sender, outcome(message.correlation_id or "generated")))
        elif isinstance(message, AwaitRun) and message.correlation_id == LATE:
            self.wakeupAfter(timedelta(seconds=LATE_S), (sender, outcome(LATE)))
        elif isinstance(message, AwaitRun):
            self.send(sender, outcome(message.correlation_id))
        elif isinstance(message, WakeupMessage):
            requester, reply = message.payload
            self.send(requester, reply)
        elif isinstance(message, CancelRun):
            raise RuntimeError("this fake never cancels")
        elif isinstance(message, RunStatus):
            self.send(
                sender,
                RunSnapshot(
                    correlation_id=message.correlation_id, saga="fake", status="running", steps=[], started_at=1.0
                ),
            )
