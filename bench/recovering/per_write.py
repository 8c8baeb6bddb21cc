"""A saga host whose journal commits every record in its own transaction: what group commit saves.

:class:`~sagaline.hosts.saga_host.SagaHost` writes every record its runs
made during one pump in one transaction (:class:`~sagaline.saga.journal.GroupCommit`).
:class:`PerWriteHost` is the same host over a store that splits each batch
into one transaction per record, as a journal without group commit would
write. Benchmarks only (``bench/bench_recovery.py``): a batch that fails
half-way leaves its first records written, which the real journal never
does (its writes are idempotent, so the retry changes nothing).

Its ``HostStats`` count what this store did: ``commits`` its SQLite
transactions (one per record), ``largest_batch`` 1 (the host's own
counters would count the batches it handed the store).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagaline.hosts.saga_host import SagaHost
from sagaline.messages.saga import GetHostStats
from sagaline.saga.journal import Record

__all__ = ["PerWriteJournal", "PerWriteHost", "PER_WRITE_HOST"]

#: The class path a tree's saga supervisor starts its hosts from (see ``sagaline.daemon.tree.SAGA_HOST``).
PER_WRITE_HOST = "recovering.per_write.PerWriteHost"


class PerWriteJournal:
    """A journal store that commits each record alone (everything else is the wrapped store's)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.durable = store.durable
        self.transactions = 0

    def write(self, records: Sequence[Record], now: float) -> None:
        for record in records:
            self.store.write([record], now)
            self.transactions += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class PerWriteHost(SagaHost):
    """A saga host whose journal commits per record (see the module docstring)."""

    def _open_store(self) -> Any:
        store = super()._open_store()
        return PerWriteJournal(store) if self.durable else store

    def receive_GetHostStats(self, message: GetHostStats, sender: Any) -> None:
        journal, store = self.journal, self.journal.store
        if not isinstance(store, PerWriteJournal):
            super().receive_GetHostStats(message, sender)
            return
        batches, largest = journal.commits, journal.largest
        journal.commits, journal.largest = store.transactions, min(1, store.transactions)
        try:  # the host's answer, with the store's transactions in place of the batches it was handed
            super().receive_GetHostStats(message, sender)
        finally:
            journal.commits, journal.largest = batches, largest
