"""The registry: unique keys naming live actors, removed when they exit.

* :class:`~sagaline.registry.actor.Registry` -- the actor (how exits reach it,
  and its bounds, are told in :mod:`sagaline.registry.actor`);
* :class:`~sagaline.registry.client.RegistryClient` -- blocking calls from outside actors;
* :class:`~sagaline.registry.table.RegistryTable` -- its pure state.

Import the actor from :mod:`sagaline.registry.actor` (it imports Thespian);
this package only re-exports the pure and client parts.
"""

from sagaline.registry.client import RegistryClient, RegistryRefused
from sagaline.registry.table import RegistryTable

__all__ = ["RegistryClient", "RegistryRefused", "RegistryTable"]
