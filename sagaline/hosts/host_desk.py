"""A saga host's desk: the admin requests a client sends straight to the host of the run.

::

    client --AdminStartSaga / AdminWaitRun (codec bytes)--> host i = partition_of(run id, hosts)
       ^                                                       | the run, in this process
       +--------------AdminResult | AdminError (bytes)---------+

A client that knows the hosts (:attr:`~sagaline.messages.admin.AdminDirectory.sagas`)
sends a start or a wait for run X to the host that owns X's partition. The
desk reads it at the same trust boundary as an admin worker
(:func:`~sagaline.admin.requests.read_request`: size and depth limits, then
validation), runs the same conversation script a worker runs
(:mod:`sagaline.admin.conversations`) and answers the script's ask itself:
for its own partition the host *is* what the script would ask through the
saga supervisor. The client gets the answer a worker would give, after two
cross-process messages instead of six and no admin worker or supervisor
process in between.

What the desk does not serve it answers ``unsupported`` (another request
type, a start without a correlation id) or ``unavailable`` (a run of
another partition: the client's directory is stale; or, over a convention,
a partition another daemon's host holds: a worker's request is forwarded there); the client then asks
an admin worker. A request still unanswered at its deadline
(``request.deadline_s()``) is answered ``timeout``, as a worker does.

The host hands the desk a :class:`DeskTicket` wherever a requester's
address would go; when the host posts an answer to a ticket, the desk takes
it (:meth:`HostDesk.answer`) instead of the transport.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from sagaline.admin.conversations import Ask, Script, conversation, error
from sagaline.admin.requests import read_request
from sagaline.messages import codec
from sagaline.messages.admin import AdminError, AdminRequest, AdminStartSaga, AdminWaitRun
from sagaline.saga.placement import partition_of

__all__ = ["HostDesk", "DeskTicket", "DeskHost", "SERVED"]

#: The requests a desk answers; anything else goes to an admin worker.
SERVED = (AdminStartSaga, AdminWaitRun)


class DeskHost(Protocol):
    """What the desk needs from its host."""

    def deliver(self, message: Any, sender: Any) -> None:
        """Handle ``message`` as if ``sender`` had sent it."""

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` (or, for a ticket, hand it to the desk)."""

    def stands_by(self) -> bool:
        """True while another daemon's host holds this host's partition (by lease)."""

    def desk_timer(self, ticket: int, seconds: float) -> None:
        """Call :meth:`HostDesk.expire` with ``ticket`` after ``seconds``."""

    def cancel_desk_timer(self, ticket: int) -> None:
        """Forget that timer."""


@dataclass(frozen=True, slots=True)
class DeskTicket:
    """Stands for a client where the host expects a requester's address."""

    number: int


@dataclass
class _Open:
    """One request in progress: its client, its script, when it came."""

    client: Any
    request: AdminRequest
    script: Script
    began: float = field(default_factory=time.monotonic)


class HostDesk:
    """Answers the admin requests sent straight to one host (see the module docstring)."""

    def __init__(self, host: DeskHost, partition: int, partitions: int) -> None:
        self.host = host
        self.partition, self.partitions = partition, partitions
        self.open: dict[int, _Open] = {}
        self._numbers = itertools.count(1)
        self.served = 0

    def receive(self, payload: Any, client: Any) -> None:
        """A request from ``client``: answer it, or start the conversation that will."""
        request = read_request(payload)
        if isinstance(request, AdminError):
            self._reply(client, request)
            return
        if not isinstance(request, SERVED):
            self._reply(
                client,
                AdminError(
                    code="unsupported",
                    message=f"a saga host answers only {', '.join(c.__name__ for c in SERVED)}; ask an admin worker",
                    request=type(request).__name__,
                ),
            )
            return
        refusal = self._refusal(request)
        if refusal is not None:
            self._reply(client, refusal)
            return
        number = next(self._numbers)
        self.open[number] = _Open(client, request, conversation(request, {}))
        self.host.desk_timer(number, request.deadline_s())
        self._continue(number, None)

    def answer(self, ticket: DeskTicket, reply: Any) -> None:
        """The host answered the ask made under ``ticket``: carry the conversation on."""
        if ticket.number in self.open:
            self._continue(ticket.number, reply)

    def expire(self, number: int) -> None:
        """The request's deadline passed: answer ``timeout`` (a late answer is dropped)."""
        entry = self.open.pop(number, None)
        if entry is None:
            return
        waited = time.monotonic() - entry.began
        allowed = entry.request.deadline_s()
        self._reply(
            entry.client,
            error(
                entry.request,
                "timeout",
                f"no answer from the saga host within {allowed:g} s (waited {waited:.2f} s)",
                waited_s=round(waited, 3),
            ),
        )

    def _refusal(self, request: AdminStartSaga | AdminWaitRun) -> AdminError | None:
        cid = request.correlation_id
        if cid is None:
            return error(
                request, "unsupported", "a start sent to a saga host carries its correlation id; ask an admin worker"
            )
        owner = partition_of(cid, self.partitions)
        if owner == self.partition and self.host.stands_by():  # a worker's request is forwarded to the owner
            return error(
                request, "unavailable", f"another daemon's host holds partition {owner} now; ask an admin worker"
            )
        if owner != self.partition:
            return error(
                request,
                "unavailable",
                f"run {cid} belongs to saga host {owner}, not {self.partition}; ask the door for the directory again",
            )
        return None

    def _continue(self, number: int, reply: Any) -> None:
        entry = self.open[number]
        try:
            asked = entry.script.send(reply)
        except StopIteration as stop:
            del self.open[number]
            self.host.cancel_desk_timer(number)
            self.served += 1
            self._reply(entry.client, stop.value)
            return
        if not isinstance(asked, Ask):  # the served scripts ask one thing at a time
            del self.open[number]
            self.host.cancel_desk_timer(number)
            self._reply(entry.client, error(entry.request, "internal", "the saga host cannot answer this"))
            return
        self.host.deliver(asked.message, DeskTicket(number))

    def _reply(self, client: Any, answer: Any) -> None:
        self.host.post(client, codec.encode(answer))
