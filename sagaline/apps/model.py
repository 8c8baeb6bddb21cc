"""PURE. The records a user package declares its app with, and the one error loading raises.

An app is plain frozen data: nothing runs when it is declared. Lists given
for its sequence fields are kept as tuples, mappings as read-only views, so
a declared app cannot change after the loader checked it. The loader
(:func:`sagaline.apps.load_apps`) checks every field and raises
:class:`AppError` naming the app and the field at the first problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

from sagaline.errors import SagalineError
from sagaline.messages.base import Command
from sagaline.saga.definition import SagaDefinition

__all__ = ["App", "AppDomain", "AppCommand", "AppError", "SagaSource"]

SagaSource = SagaDefinition | Callable[[], SagaDefinition]
"""A saga as an app declares it: a built definition, or a zero-argument factory of one."""


class AppError(SagalineError):
    """An app cannot be loaded: its spec does not import, a field is bad, or a name clashes.

    Raised by :func:`sagaline.apps.load_apps` (and so at daemon start, before
    any actor starts, and by ``sagaline graph``). The message names the app
    (or the spec, when the app could not be imported) and the field; fix the
    declaration (or the config naming it) and start again.

    Attributes:
        app: the app's name, or its spec when it was never read.
        field: the field at fault (``sagas[1]``, ``domains[gate].actor``,
            ``uses``, ``spec``, ...).
    """

    def __init__(self, app: str, field: str, problem: str) -> None:
        super().__init__(f"app {app!r}: {field}: {problem}")
        self.app = app
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class AppDomain:
    """One domain actor of an app: started under the root supervisor as ``domain:<name>``.

    Attributes:
        name: the domain's name, unique among every loaded app (``flow`` is
            the runtime's event bus); its registry key is ``domain:<name>``,
            its settings the ``[domains.<name>]`` config table, its database
            ``<data_dir>/<name>.sqlite``.
        actor: the actor class (an importable module's, never ``__main__``):
            usually a :class:`~sagaline.actors.domain.DomainActor` subclass
            naming its ``STORE`` and building its service.
        settings: a dataclass or pydantic model that ``[domains.<name>]`` must
            fit (checked at daemon start, unknown keys refused); None: the
            domain takes no settings.
        description: one line for listings.
        requires: a capability a daemon must declare to run it, in a convention
            (``"trainer"``: it starts NAS trainer processes; see
            :mod:`sagaline.daemon.cluster`); None: any daemon may.
    """

    name: str
    actor: type
    settings: type | None = None
    description: str = ""
    requires: str | None = None


@dataclass(frozen=True)
class AppCommand:
    """An admin command: ``sagaline app run NAME key=value ...`` sends ``message`` to a domain actor.

    The daemon builds ``message`` from the given arguments (its fields other
    than ``headers``, validated by the message model: the CLI shows them
    with ``sagaline app list``) and fresh headers (a new correlation id and
    idempotency key), asks ``domain:<domain>`` and answers with the reply's
    fields; a ``CommandFailed`` reply is answered as an error with its code.

    Attributes:
        name: unique among every loaded app (a lowercase identifier).
        domain: the domain actor that answers, of this app or of an app it ``uses``.
        message: the :class:`~sagaline.messages.base.Command` class to send.
        help: one line for listings.
        columns: when the reply is one list of records, the record fields the
            CLI shows as columns, in this order (``--json`` still has every
            field); empty: every field.
    """

    name: str
    domain: str
    message: type[Command]
    help: str = ""
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.columns, list):
            object.__setattr__(self, "columns", tuple(self.columns))


@dataclass(frozen=True)
class App:
    """What a package adds to the runtime: sagas, domain actors, admin commands, events.

    Example (``mypkg/app.py``; the daemon loads it with ``apps = ["mypkg.app:app"]``)::

        app = App(
            name="shop",
            sagas=[checkout.definition],          # definitions or zero-argument factories
            domains=[AppDomain("stock", StockActor, settings=StockSettings)],
            commands=[AppCommand("restock", "stock", Restock, help="add items to the stock")],
            messages=[shop.messages],             # modules (or classes) of the messages it sends
        )

    Attributes:
        name: the app's name (a lowercase identifier, unique among loaded apps).
        sagas: its sagas; each saga's name is unique among every loaded app.
            A saga's command steps may target the domains of this app, of the
            apps named in ``uses``, and the runtime's ``flow`` (the event bus).
        domains: its domain actors, started in this order (after ``flow``).
        commands: its admin commands.
        uses: names of other apps whose domains its sagas and commands use.
        messages: modules (or module names, or message classes) holding the
            message classes it sends between actors; with ``sagaline.messages``
            they are what a process may accept (:meth:`Apps.message_classes`).
        on_load: a zero-argument callable run once in every process that
            loads the app (the daemon, each actor process that loads the
            apps: saga actors, the bus, ...), after every check passed and
            its events were registered; e.g. attaching telemetry handlers, so
            they see the events the runtime emits in that process. It must be
            quick and start no actor, thread or process; one that raises
            stops the load with an :class:`AppError` (field ``on_load``).
            A process forked from one that ran it inherits its effect and
            does not run it again. None: nothing to do.
        event_domains: domain -> event categories it may emit under
            (registered with the taxonomy when the app loads; only its own domains).
        events: its known events (:class:`~sagaline.events.KnownEvent`, sources
            among its own domains), registered when the app loads.
        description: one line for listings.
    """

    name: str
    sagas: tuple[SagaSource, ...] = ()
    domains: tuple[AppDomain, ...] = ()
    commands: tuple[AppCommand, ...] = ()
    uses: tuple[str, ...] = ()
    messages: tuple[ModuleType | str | type, ...] = ()
    event_domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    events: tuple[Any, ...] = ()
    description: str = ""
    on_load: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        for name in ("sagas", "domains", "commands", "uses", "messages", "events"):
            value = getattr(self, name)
            if isinstance(value, (list, set, frozenset)):
                object.__setattr__(self, name, tuple(value))
        if isinstance(self.event_domains, dict):
            object.__setattr__(
                self,
                "event_domains",
                MappingProxyType({k: tuple(v) if isinstance(v, list) else v for k, v in self.event_domains.items()}),
            )
