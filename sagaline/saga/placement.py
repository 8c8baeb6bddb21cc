"""PURE. Which saga host holds a run: a partition of the correlation ids.

Runs are spread over ``count`` saga hosts by a stable hash of their
correlation id, as Elixir's partitioned ``Registry`` and
``PartitionSupervisor`` spread keys over partitions. Whoever has a
correlation id can name its host without asking anyone: the saga supervisor
routes every request about a run straight to it, a client that knows the
hosts (registered as :func:`host_key`) sends its start there itself, and a
run never needs a registry round trip to be found. The hash is CRC-32 (stable across
processes and Python runs, unlike ``hash()``); UUID v7 ids spread evenly.

Changing ``count`` between two lives of a daemon moves runs to other hosts;
that is safe, because a host recovers the unfinished runs of its partition
from the journal at start, whatever host wrote them.
"""

from __future__ import annotations

import zlib

from sagaline.messages.ids import uuid7

__all__ = ["partition_of", "successor_id", "host_key", "host_index", "HOST_KEY_PREFIX"]

#: Registry keys of the saga hosts: ``sagahost:<partition>``.
HOST_KEY_PREFIX = "sagahost:"


def host_key(index: int) -> str:
    """The registry key of the saga host of partition ``index``."""
    return f"{HOST_KEY_PREFIX}{index}"


def host_index(key: str) -> int | None:
    """The partition of a saga host's registry key (None: not such a key)."""
    if not key.startswith(HOST_KEY_PREFIX):
        return None
    tail = key[len(HOST_KEY_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def partition_of(run_id: str, count: int) -> int:
    """The index (``0 <= i < count``) of the host that holds run ``run_id``.

    Raises:
        ValueError: ``count`` < 1.
    """
    if count < 1:
        raise ValueError(f"there must be at least one partition, not {count}")
    return zlib.crc32(run_id.lower().encode()) % count


def successor_id(index: int, count: int) -> str:
    """A new correlation id in partition ``index``: a resumed run starts in its predecessor's host.

    About ``count`` draws on average; each is a fresh UUID v7.
    """
    while True:
        candidate = uuid7()
        if partition_of(candidate, count) == index:
            return candidate
