"""The runtime's domain services: the event bus (flow) and fault plans.

An app's domain services live in the app's own package (the Thunderline
app's in :mod:`thunderline.domains`); this is the contract they follow.

No Thespian here: a service is plain async code over its store, so it is
tested without actors and the actor shell stays thin. Every service has the
same shape::

    Service(store, clock=utc_now, config=Config())
    await service.start()                 # once, after opening the store
    reply = await service.handle(command) # always a Reply; CommandFailed on failure

What a domain actor does with one (inside its own process, after the fork)::

    runner = AsyncRunner()
    store = runner.run(GateStore.open(data_dir / "gate.db"), timeout=10)
    service = GateService(store, utc_now, GateConfig(base_url=...))
    runner.run(service.start(), timeout=10)
    ...
    reply = runner.run(service.handle(command), timeout=10)   # per message
    self.send(sender, reply)                                  # from the actor's thread
    ...
    runner.run(store.close(), timeout=10); runner.close()     # on ActorExitRequest

Each command is applied at most once per idempotency key; undo commands name
their effect by ``effect_key``. See :mod:`sagaline.storage.idempotency`.
"""

from sagaline.domains.faults import FaultPlan, FaultRule
from sagaline.domains.flow import FlowConfig, FlowService

__all__ = ["FaultPlan", "FaultRule", "FlowConfig", "FlowService"]
