"""Checking app declarations: each app's fields, then the apps together.

Every check raises :class:`~sagaline.apps.model.AppError` naming the app
and the field; the first problem found ends the load. In order:

1. each app alone (:func:`check_app`): its name; every saga builds (a
   :class:`~sagaline.saga.errors.DefinitionError` is reported with the
   saga's index); every domain has a lowercase name, an actor class and
   settings that are a dataclass or a pydantic model; every command names a
   Command class; ``uses``, ``messages``, ``event_domains`` and ``events``
   have the right shapes; ``on_load`` is None or callable;
2. the apps together (:func:`check_together`): no two apps, sagas, domains,
   commands or known events share a name (``flow`` is the runtime's
   domain); every ``uses`` names a loaded app; every command's domain and
   every command step's target is a domain of the app itself, of an app it
   uses, or ``flow``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from sagaline.apps.model import App, AppCommand, AppDomain, AppError
from sagaline.messages.base import Command, Message
from sagaline.saga.definition import SagaDefinition

__all__ = ["check_app", "check_together", "built_sagas", "message_classes_of", "step_targets", "RUNTIME_DOMAINS"]

#: Domains the runtime itself runs (the event bus); every saga may target them, no app may declare them.
RUNTIME_DOMAINS = ("flow",)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def check_app(app: Any, spec: str) -> App:
    """``app`` checked alone; returns it.

    Raises:
        AppError: not an :class:`App`, or a field is bad (see the module docstring).
    """
    if not isinstance(app, App):
        raise AppError(spec, "spec", f"names a {type(app).__name__}, not a sagaline.apps.App")
    _name(app.name, spec, "name")
    for i, domain in enumerate(app.domains):
        _domain(app, i, domain)
    for i, command in enumerate(app.commands):
        _command(app, i, command)
    _strings(app, "uses", app.uses)
    for event_domain, categories in app.event_domains.items():
        if event_domain not in {d.name for d in app.domains}:
            raise AppError(app.name, f"event_domains[{event_domain}]", "not one of this app's domains")
        _strings(app, f"event_domains[{event_domain}]", categories)
    _events(app)
    if app.on_load is not None and not callable(app.on_load):
        raise AppError(app.name, "on_load", f"{app.on_load!r:.80} is not callable")
    return app


def _name(value: Any, app: str, where: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise AppError(app, where, f"{value!r} is not a lowercase identifier (letters, digits, _)")


def _strings(app: App, where: str, values: Any) -> None:
    if not isinstance(values, (tuple, list)) or not all(isinstance(v, str) for v in values):
        raise AppError(app.name, where, f"must be a list of strings, not {values!r:.80}")


def _domain(app: App, i: int, domain: Any) -> None:
    if not isinstance(domain, AppDomain):
        raise AppError(app.name, f"domains[{i}]", f"is a {type(domain).__name__}, not an AppDomain")
    _name(domain.name, app.name, f"domains[{i}].name")
    where = f"domains[{domain.name}]"
    if not isinstance(domain.actor, type) or not callable(getattr(domain.actor, "receiveMessage", None)):
        raise AppError(app.name, f"{where}.actor", f"{domain.actor!r:.80} is not an actor class")
    if domain.actor.__module__ == "__main__":
        raise AppError(
            app.name,
            f"{where}.actor",
            "an actor class must live in an importable module, not __main__ (actor processes import it by name)",
        )
    settings = domain.settings
    if settings is not None and not (
        (dataclasses.is_dataclass(settings) and isinstance(settings, type))
        or (isinstance(settings, type) and issubclass(settings, BaseModel))
    ):
        raise AppError(app.name, f"{where}.settings", f"{settings!r:.80} is not a dataclass or pydantic model")


def _command(app: App, i: int, command: Any) -> None:
    if not isinstance(command, AppCommand):
        raise AppError(app.name, f"commands[{i}]", f"is a {type(command).__name__}, not an AppCommand")
    _name(command.name, app.name, f"commands[{i}].name")
    if not (isinstance(command.message, type) and issubclass(command.message, Command)):
        raise AppError(
            app.name, f"commands[{command.name}].message", f"{command.message!r:.80} is not a sagaline Command class"
        )
    if not (isinstance(command.columns, tuple) and all(isinstance(c, str) and c for c in command.columns)):
        raise AppError(
            app.name, f"commands[{command.name}].columns", f"{command.columns!r:.80} is not a sequence of field names"
        )


def _events(app: App) -> None:
    from sagaline.events.known import KnownEvent

    own = set(app.event_domains)
    for i, entry in enumerate(app.events):
        if not isinstance(entry, KnownEvent):
            raise AppError(app.name, f"events[{i}]", f"is a {type(entry).__name__}, not a KnownEvent")
        if not set(entry.sources) <= own:
            raise AppError(
                app.name,
                f"events[{entry.name}].sources",
                f"{sorted(entry.sources)} are not all among this app's event_domains {sorted(own)}",
            )


def built_sagas(app: App) -> Iterator[SagaDefinition]:
    """Every saga of ``app``, built (factories called once).

    Raises:
        AppError: a saga is neither a definition nor a factory of one, or building it failed.
    """
    for i, source in enumerate(app.sagas):
        try:
            built = source if isinstance(source, SagaDefinition) else source() if callable(source) else None
        except Exception as exc:
            raise AppError(app.name, f"sagas[{i}]", f"building it failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(built, SagaDefinition):
            raise AppError(
                app.name,
                f"sagas[{i}]",
                f"{source!r:.80} is neither a SagaDefinition nor a zero-argument factory of one",
            )
        yield built


def message_classes_of(app: App) -> tuple[type, ...]:
    """The concrete message classes ``app`` declares (``messages``) and sends as commands.

    Raises:
        AppError: an entry is no module, module name or message class, or its module does not import.
    """
    found: dict[type, None] = {}
    for i, entry in enumerate(app.messages):
        if isinstance(entry, str):
            try:
                entry = importlib.import_module(entry)
            except Exception as exc:
                raise AppError(
                    app.name, f"messages[{i}]", f"cannot import {entry!r}: {type(exc).__name__}: {exc}"
                ) from None
        if isinstance(entry, ModuleType):
            found.update(dict.fromkeys(_module_messages(entry)))
        elif isinstance(entry, type) and issubclass(entry, Message):
            found[entry] = None
        else:
            raise AppError(app.name, f"messages[{i}]", f"{entry!r:.80} is no module and no message class")
    found.update(dict.fromkeys(c.message for c in app.commands))
    return tuple(found)


def _module_messages(module: ModuleType) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Message)
        and value.__module__ == module.__name__
        and not value.__dict__.get("ABSTRACT", False)
    ]


def step_targets(impl: Any) -> set[str]:
    """The domains a step behaviour sends commands to.

    A :class:`~sagaline.saga.steps.CommandStep` names its ``target``; a
    behaviour that wraps one (an ``inner`` attribute) or sends elsewhere too
    may say so with a ``targets`` attribute (an iterable of domain names).
    """
    declared = getattr(impl, "targets", None)
    if declared is not None and not isinstance(declared, str):
        return set(declared)
    target = getattr(impl, "target", None)
    if isinstance(target, str):
        return {target}
    inner = getattr(impl, "inner", None)
    return step_targets(inner) if inner is not None else set()


def check_together(apps: tuple[App, ...], sagas: dict[str, tuple[SagaDefinition, ...]]) -> None:
    """The apps as one set; ``sagas`` holds each app's built sagas, by app name.

    Raises:
        AppError: a clash of names, an unknown ``uses``, or a domain used without being named.
    """
    _unique(((a.name, a.name, "name") for a in apps), "an app")
    _unique(((a.name, s.name, f"sagas[{s.name}]") for a in apps for s in sagas[a.name]), "a saga")
    _unique(
        ((a.name, d.name, f"domains[{d.name}]") for a in apps for d in a.domains), "a domain", reserved=RUNTIME_DOMAINS
    )
    _unique(((a.name, c.name, f"commands[{c.name}]") for a in apps for c in a.commands), "a command")
    _unique(((a.name, f"{e.name} v{e.version}", f"events[{e.name}]") for a in apps for e in a.events), "a known event")
    owner = {d.name: a.name for a in apps for d in a.domains}
    names = {a.name for a in apps}
    for app in apps:
        for used in app.uses:
            if used not in names or used == app.name:
                raise AppError(
                    app.name, "uses", f"no other app named {used!r} is loaded (loaded: {', '.join(sorted(names))})"
                )
        allowed = set(RUNTIME_DOMAINS) | {d for d, a in owner.items() if a == app.name or a in app.uses}
        for command in app.commands:
            _reachable(app, f"commands[{command.name}].domain", command.domain, allowed, owner)
        for saga in sagas[app.name]:
            for step in saga.steps:
                for target in sorted(step_targets(step.impl)):
                    _reachable(app, f"sagas[{saga.name}].steps[{step.name}]", target, allowed, owner)


def _unique(rows: Iterator[tuple[str, str, str]], kind: str, reserved: tuple[str, ...] = ()) -> None:
    seen: dict[str, str] = {}
    for app, name, where in rows:
        if name in reserved:
            raise AppError(app, where, f"{name!r} is the runtime's own; choose another name")
        if name in seen:
            also = "this app" if seen[name] == app else f"app {seen[name]!r}"
            raise AppError(app, where, f"{kind} named {name!r} is declared twice (also by {also})")
        seen[name] = app


def _reachable(app: App, where: str, target: str, allowed: set[str], owner: dict[str, str]) -> None:
    if target in allowed:
        return
    if target in owner:
        raise AppError(
            app.name, where, f"uses domain {target!r} of app {owner[target]!r}, which this app does not name in uses"
        )
    raise AppError(
        app.name,
        where,
        f"uses domain {target!r}, which no loaded app declares "
        f"(known: {', '.join(sorted({*owner, *RUNTIME_DOMAINS}))})",
    )
