"""A saga host's registry partition and its directory of domain actors.

The host is the registry partition of its runs' keys: one ``saga:<id>``
entry per run it holds (its own address for a run it carries, the child's
for a run in a single-run host), answered to ``Lookup``, ``Select`` and
``Count`` as the registry would. It also keeps a directory of the domain
actors (registry keys ``domain:<name>``), kept current from the registry's
events and passed on to its single-run hosts as ``DirectoryUpdate``.
"""

from __future__ import annotations

from typing import Any, Protocol

from sagaline.hosts.run_book import RunBook
from sagaline.messages.registry import Count, CountResult, Entries, Entry, Lookup, Select
from sagaline.messages.saga import DirectoryUpdate
from sagaline.registry.table import Entry as TableEntry
from sagaline.registry.table import RegistryTable

__all__ = ["HostRegistry", "RegistryHost", "run_key"]


def run_key(correlation_id: str) -> str:
    """The registry key of a run's actor."""
    return f"saga:{correlation_id}"


class RegistryHost(Protocol):
    """What :class:`HostRegistry` needs from its host."""

    book: RunBook
    directory: dict[str, Any]
    myAddress: Any

    def post(self, address: Any, message: Any) -> None:
        """Send ``message`` to ``address`` at the end of the pump."""


class HostRegistry:
    """The host's registry partition and directory (see the module docstring)."""

    def __init__(self, host: RegistryHost) -> None:
        self.host = host

    def lookup(self, message: Lookup) -> Entries:
        entry = self.table().get(message.key)
        return Entries(entries=() if entry is None else (Entry(key=entry.key, holder=entry.holder, value=entry.value),))

    def select(self, message: Select) -> Entries:
        found = self.table().select(
            message.key_prefix,
            message.key_pattern,
            [(c.path, c.op, c.operand) for c in message.where],
            message.holder,
            message.limit,
        )
        return Entries(entries=tuple(Entry(key=e.key, holder=e.holder, value=e.value) for e in found))

    def count(self, message: Count) -> CountResult:
        return CountResult(count=self.table().count(message.key_prefix))

    def table(self) -> RegistryTable:
        """This host's partition of the registry: one ``saga:<id>`` entry per run it holds."""
        book, table = self.host.book, RegistryTable()
        for cid, run in book.live.items():
            table.register(TableEntry(run_key(cid), self.host.myAddress, {"saga": run.saga}))
        for cid, child in book.processes.items():
            if child.address is not None:
                table.register(TableEntry(run_key(cid), child.address, {"saga": book.process_sagas[cid]}))
        return table

    def registry_entry(self, key: str, holder: Any) -> None:
        """A registry key was registered (``holder``) or unregistered (None)."""
        if key.startswith("domain:"):
            self.directory(key[len("domain:") :], holder)

    def directory(self, name: str, address: Any) -> None:
        """Domain actor ``name`` is at ``address`` (None: gone); single-run hosts are told."""
        if address is None:
            self.host.directory.pop(name, None)
        else:
            self.host.directory[name] = address
        for child in self.host.book.processes.values():
            if child.address is not None:
                self.host.post(child.address, DirectoryUpdate(name=name, address=address))
