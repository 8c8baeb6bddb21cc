"""The loaded apps as one catalog: sagas by name, domains in start order, commands, messages.

An :class:`Apps` is what :func:`sagaline.apps.load_apps` returns once every
check passed; it never changes. Every part of the runtime that needs a saga
definition, the domain actors to start or an admin command asks it,
never a hard-coded table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from sagaline.apps.model import App, AppCommand, AppDomain
from sagaline.saga.definition import SagaDefinition
from sagaline.saga.inputs import describe_input, schema_label

__all__ = ["Apps", "FLOW_ACTOR"]

#: The runtime's event bus, always the first domain started.
FLOW_ACTOR = "sagaline.actors.flow.FlowActor"


def _runtime_settings() -> dict[str, type]:
    """Settings models of the runtime's own domains (``[domains.flow]``), by name."""
    from sagaline.domains.flow import FlowConfig  # the bus's service module opens SQLite: import it late

    return {"flow": FlowConfig}


class Apps:
    """Every loaded app, checked together.

    Args:
        apps: the apps, in load order (config order, then entry points).
        specs: the spec strings they were loaded from (hand these to actor
            processes: ``load_apps(specs, entry_points=False)`` loads the same apps).
        sagas: app name -> its built sagas.
        messages: app name -> its message classes.
    """

    def __init__(
        self,
        apps: tuple[App, ...],
        specs: tuple[str, ...],
        sagas: Mapping[str, tuple[SagaDefinition, ...]],
        messages: Mapping[str, tuple[type, ...]],
    ) -> None:
        self.apps = apps
        self.specs = specs
        self._sagas = MappingProxyType({s.name: s for a in apps for s in sagas[a.name]})
        self._saga_app = {s.name: a.name for a in apps for s in sagas[a.name]}
        self._app_sagas = {a.name: [s.name for s in sagas[a.name]] for a in apps}
        self._domains = tuple(d for a in apps for d in a.domains)
        self._domain_app = {d.name: a.name for a in apps for d in a.domains}
        self._commands = MappingProxyType({c.name: c for a in apps for c in a.commands})
        self._command_app = {c.name: a.name for a in apps for c in a.commands}
        self._messages = tuple(dict.fromkeys(c for a in apps for c in messages[a.name]))

    def __repr__(self) -> str:
        return f"Apps({', '.join(a.name for a in self.apps) or 'none'})"

    # ----- sagas ----------------------------------------------------------------------------------

    @property
    def sagas(self) -> Mapping[str, SagaDefinition]:
        """Saga name -> definition (built once, at load)."""
        return self._sagas

    def definition(self, name: str) -> SagaDefinition:
        """The definition of saga ``name``.

        Raises:
            KeyError: no loaded app declares a saga of that name.
        """
        return self._sagas[name]

    def saga_factories(self) -> dict[str, Callable[[], SagaDefinition]]:
        """Saga name -> zero-argument factory of its (already built) definition."""
        return {name: _constant(d) for name, d in self._sagas.items()}

    def saga_app(self, name: str) -> str:
        """The name of the app that declares saga ``name`` (KeyError when none)."""
        return self._saga_app[name]

    # ----- domains --------------------------------------------------------------------------------

    @property
    def domains(self) -> tuple[AppDomain, ...]:
        """Every app's domains, in start order (apps in load order, each in its declared order)."""
        return self._domains

    def domain(self, name: str) -> AppDomain:
        """The domain called ``name`` (KeyError when no app declares it)."""
        for domain in self._domains:
            if domain.name == name:
                return domain
        raise KeyError(name)

    def domain_actors(self, names: tuple[str, ...] | None = None) -> dict[str, str]:
        """Domain name -> actor class path, in start order, the runtime's ``flow`` first.

        Args:
            names: only these app domains (in start order; ``flow`` always); None: all.

        Raises:
            KeyError: a name in ``names`` is no loaded domain.
        """
        for name in names or ():
            self.domain(name)
        chosen = [d for d in self._domains if names is None or d.name in names]
        return {"flow": FLOW_ACTOR, **{d.name: f"{d.actor.__module__}.{d.actor.__qualname__}" for d in chosen}}

    def settings_problem(self, domain: str, settings: Mapping[str, Any]) -> str | None:
        """Why ``settings`` do not fit ``domain``'s settings model (unknown keys included), or None.

        Raises:
            KeyError: ``domain`` is neither a loaded app's domain nor the runtime's.
        """
        runtime = _runtime_settings()
        model = runtime[domain] if domain in runtime else self.domain(domain).settings
        if model is None:
            return f"domain {domain!r} takes no settings" if settings else None
        fields = (
            set(model.model_fields)
            if isinstance(model, type) and issubclass(model, BaseModel)
            else {f.name for f in dataclasses.fields(model)}
            if dataclasses.is_dataclass(model)
            else set()
        )
        unknown = sorted(set(settings) - fields)
        if unknown:
            return f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(fields)) or 'none'})"
        try:
            TypeAdapter(model).validate_python(dict(settings))
        except ValidationError as exc:
            first = exc.errors()[0]
            return f"{'.'.join(str(p) for p in first['loc']) or '<settings>'}: {first['msg']}"
        return None

    # ----- commands and messages ------------------------------------------------------------------

    @property
    def commands(self) -> Mapping[str, AppCommand]:
        """Command name -> command, every app's."""
        return self._commands

    def command(self, name: str, app: str | None = None) -> AppCommand:
        """The command called ``name`` (of ``app``, when given).

        Raises:
            KeyError: no such command (or it is not ``app``'s).
        """
        if app is not None and self._command_app.get(name) != app:
            raise KeyError(name)
        return self._commands[name]

    def command_app(self, name: str) -> str:
        """The name of the app that declares command ``name`` (KeyError when none)."""
        return self._command_app[name]

    def message_classes(self) -> tuple[type, ...]:
        """Every message class the loaded apps declare (``App.messages``) or send as commands.

        With the runtime's own (the concrete classes of ``sagaline.messages``)
        these are the messages the apps' actors exchange.
        """
        return self._messages

    # ----- description ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """JSON-ready: ``apps`` (name, description, uses, sagas, domains, commands), ``sagas``
        (name, app, version, description, steps, inputs, graph: each step's name, needs (the steps
        it depends on), runs (who runs it) and undo (whether it can be undone)) and ``commands``
        (name, app, domain, help, args), each sorted by name."""
        return {
            "apps": [_app_row(a, self._app_sagas[a.name]) for a in self.apps],
            "sagas": [_saga_row(self._saga_app[n], self._sagas[n]) for n in sorted(self._sagas)],
            "commands": [_command_row(self._command_app[n], self._commands[n]) for n in sorted(self._commands)],
        }


def _app_row(app: App, sagas: list[str]) -> dict[str, Any]:
    return {
        "name": app.name,
        "description": app.description,
        "uses": list(app.uses),
        "sagas": sagas,
        "domains": [d.name for d in app.domains],
        "commands": [c.name for c in app.commands],
    }


def _saga_row(app: str, saga: SagaDefinition) -> dict[str, Any]:
    return {
        "name": saga.name,
        "app": app,
        "version": saga.version,
        "description": saga.description,
        "isolation": saga.isolation,
        "announce": saga.announce,
        "steps": [s.name for s in saga.steps],
        "inputs": [describe_input(i) for i in saga.inputs],
        "graph": [
            {
                "name": s.name,
                "needs": list(dict.fromkeys(s.dependencies)),
                "runs": s.impl.describe(),
                "undo": s.impl.can_undo,
            }
            for s in saga.steps
        ],
    }


def _command_row(app: str, command: AppCommand) -> dict[str, Any]:
    schema = command.message.model_json_schema()
    required = set(schema.get("required", ()))
    args = []
    for name, field in command.message.model_fields.items():
        if name == "headers":
            continue
        arg_schema = schema["properties"][name]
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        args.append(
            {
                "name": name,
                "type": schema_label(arg_schema),
                "required": name in required,
                "default": TypeAdapter(Any).dump_python(default, mode="json"),
                "description": field.description or "",
                "schema": arg_schema,
            }
        )
    return {"name": command.name, "app": app, "domain": command.domain, "help": command.help, "args": args}


def _constant(definition: SagaDefinition) -> Callable[[], SagaDefinition]:
    return lambda: definition
