"""Running the Thunderline sagas on a bare tree: for tests and benchmarks (no daemon).

::

    tree = start_tree(handle, tree_config(data_dir))                  # flow, gate, block, link
    tree = start_tree(handle, tree_config(data_dir, "crown", "bolt"))  # flow, crown, bolt
    Executor(definition("user_provisioning"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagaline.apps import Apps, load_apps
from sagaline.daemon.tree import TreeConfig
from sagaline.saga import SagaDefinition
from thunderline.app import SPEC, USER_PROVISIONING_DOMAINS

__all__ = ["APPS", "thunderline_apps", "definition", "tree_domains", "tree_config"]

#: The spec tuple a tree hands its actors.
APPS = (SPEC,)


def thunderline_apps() -> Apps:
    """The Thunderline app, loaded (once per process)."""
    return load_apps(APPS, entry_points=False)


def definition(name: str) -> SagaDefinition:
    """A Thunderline saga's definition, by name."""
    return thunderline_apps().definition(name)


def tree_domains(*names: str) -> dict[str, str]:
    """Domain name -> actor class path: the event bus, then ``names`` (default: every domain of the app)."""
    return thunderline_apps().domain_actors(names or None)


def tree_config(data_dir: Path, *domains: str, **options: Any) -> TreeConfig:
    """A tree running the Thunderline sagas with only ``domains`` (default: UserProvisioning's: gate,
    block, link) besides the event bus; ``options`` are further :class:`TreeConfig` fields."""
    return TreeConfig(
        data_dir=data_dir, apps=APPS, domains=tree_domains(*(domains or USER_PROVISIONING_DOMAINS)), **options
    )
