"""Forwarding a request about a run to the daemon whose host holds the run's partition (a convention).

With leases (daemons sharing one PostgreSQL journal, :mod:`sagaline.hosts.host_lease`),
every daemon runs a host per partition, but only the lease holder's host
runs the partition's runs. A request that reaches another daemon's host for
that partition (a start, a wait, a status, a cancel, routed there by that
daemon's saga supervisor) is sent on to the holder's host as a
:class:`~sagaline.messages.batch.Forwarded`, whose ``reply_to`` is the
original requester: the holder answers it directly, one hop more. The
holder's address is in its lease's owner name
(:func:`~sagaline.saga.lease.owner_endpoint`); a Thespian multiprocess
address is a TCP endpoint, valid across the actor systems of a convention
that share the installation secret.

Not forwarded: a request from a host's desk (a client sent it straight to
the host; the desk answers ``unavailable`` and the client asks an admin
worker, whose request is forwarded), a request when no live holder is
known (answered ``unavailable`` by the host), and a request that was
forwarded already (a host that does not hold the partition either answers
it ``unavailable``: never a second hop, never a loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sagaline.hosts.host_lease import PartitionLease
from sagaline.messages.batch import Forwarded
from sagaline.runtime.addresses import tcp_address
from sagaline.storage.errors import StorageError

__all__ = ["forward_on"]


def forward_on(
    lease: PartitionLease | None, message: Any, sender: Any, post: Callable[[Any, Any], None], from_desk: bool
) -> bool:
    """Send ``message`` (from ``sender``) on to the host holding ``lease``'s partition; True when sent.

    False (the caller answers itself): no leases, this host holds the partition, the request came
    from the host's desk, or no live holder is known (the journal cannot be read counts as unknown).
    """
    if lease is None or lease.held is not None or from_desk:
        return False
    try:
        endpoint = lease.holder_address(time.time())
    except StorageError:
        return False
    if endpoint is None:
        return False
    post(tcp_address(endpoint), Forwarded(request=message, reply_to=sender))
    return True
