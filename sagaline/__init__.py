"""sagaline: durable sagas on Thespian actors, with OTP-grade supervision.

Layering (imports run one way, top to bottom; a test parses the imports
of the pure layers and keeps them free of thespian, aiosqlite and
opentelemetry):

    messages/     PURE  pydantic message models, ids, the msgpack codec
    events/       PURE  event envelope, taxonomy, registry of known events
    saga/         PURE  DSL, frozen definitions, planner, executor transitions,
                        in-process driver, Mermaid rendering
    supervisors/  spec.py + strategy.py PURE; supervisor actors at the edge
    registry/     the registry actor and its client
    actors/       base actor (crash semantics), saga supervisor, saga hosts and run actors, domain actors
    storage/      journal and domain stores (SQLite on the actor's own thread); in-memory twins
    telemetry/    :telemetry-style events and spans, bridged to OpenTelemetry
    runtime/      actor-system start/join/stop (the Thespian shell)
    client/       Client / AsyncClient: a running daemon, from any process
    cli/          the admin shell (on top of client/)
    testing/      the pytest plugin for users' integration tests

Only ``run.py`` and test fixtures choose concrete implementations.

The public surface at the top is the client (imported on first use, so
``import sagaline`` stays light inside actor processes)::

    from sagaline import Client
    with Client("./data") as client:
        client.start("user_provisioning", {"email": "ada@example.com"}, wait=True)
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "Client", "AsyncClient", "ClientError", "BadInput", "Refused", "NotFound", "Busy",
           "Timeout", "OutcomeUnknown", "DaemonUnreachable", "DaemonStarting", "DaemonFault", "StartResult",
           "RunRecord", "RunList", "Health"]


def __getattr__(name: str) -> Any:
    if name in __all__[1:]:
        import sagaline.client

        return getattr(sagaline.client, name)
    raise AttributeError(f"module 'sagaline' has no attribute {name!r}")
