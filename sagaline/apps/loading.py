"""Loading apps: spec strings (and the entry-point group) -> one checked :class:`Apps`.

A *spec* is ``"package.module:attribute"``, the attribute an
:class:`~sagaline.apps.App` (dotted attributes are followed). The daemon's
specs come from its config (``apps``, ``SAGALINE_APPS``, ``--app``) and from
the ``sagaline.apps`` entry-point group of installed distributions::

    [project.entry-points."sagaline.apps"]
    shop = "shop.app:app"

Each process loads its apps once: :func:`load_apps` keeps what it built per
list of specs, so an actor calling it in every ``on_start`` pays the import
and the checks once per process. Actor processes get the spec strings the
daemon resolved (:attr:`Apps.specs`) through their args and load them with
``entry_points=False``: every process then runs the same apps.

Loading registers each app's event domains and known events with the
taxonomy (:mod:`sagaline.events`), after every check passed, then runs each
app's ``on_load`` hook, once per app per process (a process forked from one
that ran it inherits what it did and does not run it again).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points as _entry_points
from typing import Any

from sagaline.apps.catalog import Apps
from sagaline.apps.checks import built_sagas, check_app, check_together, message_classes_of
from sagaline.apps.model import App, AppError

__all__ = ["ENTRY_POINT_GROUP", "load_apps", "resolve_specs"]

#: The entry-point group installed distributions declare their apps in.
ENTRY_POINT_GROUP = "sagaline.apps"

_loaded: dict[tuple[tuple[str, ...], bool], Apps] = {}
_hooked: set[int] = set()  # ids of the apps whose on_load ran in this process


def load_apps(specs: Iterable[str] = (), *, entry_points: bool = True) -> Apps:
    """Import, check and register the apps named by ``specs`` (and the entry-point group).

    Args:
        specs: ``"package.module:attribute"`` strings, in order; blanks and
            repeats are ignored.
        entry_points: also load every app of the ``sagaline.apps`` entry-point
            group (after ``specs``). Actor processes pass False with the
            daemon's resolved :attr:`Apps.specs`.

    Returns:
        The catalog (the same object for the same arguments within a process).

    Raises:
        AppError: a spec does not import or names no :class:`App`, a field
            is bad, or two apps clash; the message names the app (or spec)
            and the field. Nothing is registered then. Also when an app's
            ``on_load`` raises (field ``on_load``; its events are registered
            by then).
    """
    key = (tuple(specs), entry_points)
    if key in _loaded:
        return _loaded[key]
    resolved = resolve_specs(key[0], entry_points)
    apps: dict[int, tuple[str, App]] = {}
    for spec in resolved:
        app = check_app(_import(spec), spec)
        apps.setdefault(id(app), (spec, app))  # two specs naming one App load it once
    ordered = tuple(app for _, app in apps.values())
    sagas = {app.name: tuple(built_sagas(app)) for app in ordered}
    check_together(ordered, sagas)
    messages = {app.name: message_classes_of(app) for app in ordered}
    _register_events(ordered)
    _run_hooks(ordered)
    loaded = Apps(ordered, tuple(spec for spec, _ in apps.values()), sagas, messages)
    _loaded[key] = _loaded[(loaded.specs, False)] = loaded
    return loaded


def resolve_specs(specs: Iterable[str], entry_points: bool = True) -> tuple[str, ...]:
    """``specs`` without blanks and repeats, then (with ``entry_points``) the group's apps not named yet."""
    found = [s.strip() for s in specs if isinstance(s, str) and s.strip()]
    if entry_points:
        found += [f"{ep.module}:{ep.attr}" for ep in _entry_points(group=ENTRY_POINT_GROUP) if ep.attr]
    return tuple(dict.fromkeys(found))


def _import(spec: str) -> Any:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise AppError(spec, "spec", "must be 'package.module:attribute' (e.g. 'mypkg.app:app')")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise AppError(spec, "spec", f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise AppError(spec, "spec", f"module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    return target


def _run_hooks(apps: tuple[App, ...]) -> None:
    for app in apps:
        if app.on_load is None or id(app) in _hooked:
            continue
        try:
            app.on_load()
        except Exception as exc:
            raise AppError(app.name, "on_load", f"raised {type(exc).__name__}: {exc}") from None
        _hooked.add(id(app))


def _register_events(apps: tuple[App, ...]) -> None:
    from sagaline.events import EventError, register_domain, register_event

    for app in apps:
        for domain, categories in app.event_domains.items():
            try:
                register_domain(domain, categories)
            except EventError as exc:
                raise AppError(app.name, f"event_domains[{domain}]", str(exc)) from None
        for entry in app.events:
            try:
                register_event(entry)
            except EventError as exc:
                raise AppError(app.name, f"events[{entry.name}]", str(exc)) from None
