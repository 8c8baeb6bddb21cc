"""Many runs' commands (or replies) in one envelope, and a request forwarded on someone's behalf.

A cross-process message costs far more than its content: on
multiprocTCPBase one Thespian send costs 350-540 us of CPU whatever its
size, while one more item in a message costs about 10 us (measured here
with a ping-pong of 4,000 to 16,000 items between two actors: 695 us of
CPU per item sent alone, 51 us per item in batches of 16, 16 us in batches
of 64). So a saga host sends the commands its runs produced while it
handled one message to each domain actor as one :class:`CommandBatch`, and
a domain actor answers one batch with one :class:`ReplyBatch`, as Erlang's
distribution buffers many processes' messages per connection.

:class:`Routed` carries a request to the actor that can answer it, with
the address the answer goes to: a client's ``StartSaga`` forwarded by the
saga supervisor to the saga host of the run's partition is answered by that
host straight to the client (one hop fewer than answering through the
supervisor).
"""

from __future__ import annotations

from sagaline.messages.base import ActorRef, Command, Message, Reply

__all__ = ["CommandBatch", "ReplyBatch", "Routed", "Forwarded", "Pump"]


class CommandBatch(Message):
    """Several commands for one actor, handled in order as if sent one by one."""

    commands: list[Command]
    """The commands, oldest first (each keeps its own headers)."""


class ReplyBatch(Message):
    """The replies to a :class:`CommandBatch` (or to several), in the order they were made."""

    replies: list[Reply]
    """The replies, each echoing its command's headers."""


class Routed(Message):
    """A request forwarded to the actor that can answer it; the answer goes to ``reply_to``."""

    request: Message
    """The request, unchanged."""
    reply_to: ActorRef
    """Who asked (gets the answer; None: nobody waits for one)."""


class Forwarded(Message):
    """A saga host -> the host of another daemon that owns the run's partition now (by lease): a
    request about that run, answered straight to ``reply_to``. Never forwarded again: a host that
    does not own the partition either answers ``unavailable``."""

    request: Message
    """The request, unchanged."""
    reply_to: ActorRef
    """Who asked (gets the answer)."""


class Pump(Message):
    """An actor -> itself: handle what gathered while the messages already received were read.

    A message to oneself is queued behind every message already received
    (Thespian appends it to what it has read), so replies that arrived
    together are handled by one pump: one journal commit, one batch per
    destination. Idle, it comes back at once: no delay is added.
    """
