"""sagaline: durable sagas on Thespian actors, with OTP-grade supervision.

Layering (a layer imports only the layers below it; ``a | b``: neither
imports the other). ``make check`` enforces it: the import-linter contracts
in ``pyproject.toml`` state exactly these layers, and ``tests/test_layers.py``
proves the package graph has no cycle; a test also keeps the pure modules
free of thespian, aiosqlite and opentelemetry::

    cli/ | testing/        the admin shell (on client/); the pytest plugin for users' tests
    daemon/ | demo         composition: config -> actor system -> tree; liveness
    web/                   the web console, a client of the daemon
    client/                Client / AsyncClient: a running daemon, from any process
    hosts/                 saga supervisor, saga hosts, run actors
    admin/                 admin door, endpoint, workers; requests + conversations PURE
    supervisors/ | registry/   spec, strategy, api PURE; supervisor actors; the registry
    actors/                base actor (crash semantics), domain actors, the event bus actor
    apps/                  app records, loading, the catalog
    domains/               domain services: the event bus, fault plans, the front door
    storage/ | sagas/ | telemetry/   SQLite stores and the journal; start admission (PURE);
                           :telemetry-style events and spans, bridged to OpenTelemetry
    saga/ | events/ | runtime/   PURE DSL, definitions, planner, executor, driver; PURE event
                           envelope, taxonomy and bus messages; the Thespian shell
    messages/              PURE pydantic message models, ids, the msgpack codec
    errors                 the root of the error tree

Only ``run.py`` and test fixtures choose concrete implementations.

The public surface at the top is the client (imported on first use, so
``import sagaline`` stays light inside actor processes)::

    from sagaline import Client
    with Client("./data") as client:
        client.start("user_provisioning", {"email": "ada@example.com"}, wait=True)
"""

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "ClientError",
    "BadInput",
    "Refused",
    "NotFound",
    "Busy",
    "Timeout",
    "OutcomeUnknown",
    "DaemonUnreachable",
    "DaemonStarting",
    "DaemonFault",
    "StartResult",
    "RunRecord",
    "RunList",
    "Health",
]


def __getattr__(name: str) -> Any:
    if name in __all__[1:]:
        import sagaline.client

        return getattr(sagaline.client, name)
    raise AttributeError(f"module 'sagaline' has no attribute {name!r}")
