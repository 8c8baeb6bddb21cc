"""Thunderline: the three sagas sagaline ships, as an app (``thunderline.app:app``).

UserProvisioning (gate, block, link), UPMActivation (bolt, crown) and
CerebrosNAS (bolt, the cerebros bridge and its trainers) with their
domains. The runtime knows none of this: the daemon loads the app through
the same door a user's app takes (the embedded default config names it),
and a daemon configured with other apps runs without it.

Layering mirrors the runtime's (imports run one way; a test keeps the pure
parts free of Thespian, aiosqlite and OpenTelemetry)::

    messages/   PURE  the domains' commands and replies (pydantic models)
    events      PURE  the app's event domains, categories and known events
    sagas/      PURE  the three saga definitions
    domains/    the domain services (plain async code over a store), policy,
                NAS proposals, Pareto, training (scikit-learn, imported lazily)
    storage/    one SQLite store per domain (over sagaline.storage)
    actors/     the domain actors, the cerebros bridge and its trainers
    commands    the app's admin commands (``sagaline app run NAME``)
    telemetry   the original system's telemetry names, emitted beside sagaline's
    app         the App record: what the daemon loads

NAS training needs scikit-learn, numpy and scipy: ``pip install
'sagaline[thunderline]'`` (``make`` installs them). Everything else,
including importing this app, works without them.
"""
