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
    actors/       base actor (crash semantics), saga actor, domain actors
    storage/      journal and domain stores (aiosqlite); in-memory twins
    telemetry/    :telemetry-style events and spans, bridged to OpenTelemetry
    runtime/      actor-system start/join/stop (the Thespian shell)
    cli/          the admin shell
    testing/      the pytest plugin for users' integration tests

Only ``run.py`` and test fixtures choose concrete implementations.
"""

__version__ = "0.1.0"
