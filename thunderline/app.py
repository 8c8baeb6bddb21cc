"""The Thunderline app record: what ``apps = ["thunderline.app:app"]`` loads.

The embedded default config names it, so ``make run`` serves its three
sagas. Its domains start in this order after the runtime's event bus:
gate, block, link (UserProvisioning), crown, bolt, bridge (UPMActivation,
CerebrosNAS). :data:`SPEC` is its spec string (:mod:`thunderline.testing`
builds trees of it without a daemon). Loading it attaches, in each process,
the handler that emits the original system's telemetry names beside
sagaline's (:mod:`thunderline.telemetry`).
"""

from __future__ import annotations

from sagaline.apps import App, AppDomain
from thunderline import events
from thunderline import telemetry as original_telemetry
from thunderline.actors.bolt import BoltActor
from thunderline.actors.bridge import BridgeActor, BridgeSettings
from thunderline.actors.crown import CrownActor
from thunderline.actors.domains import BlockActor, GateActor, GateSettings, LinkActor
from thunderline.commands import COMMANDS
from thunderline.domains.block import BlockConfig
from thunderline.domains.bolt import BoltConfig
from thunderline.domains.crown import CrownConfig
from thunderline.domains.link import LinkConfig
from thunderline.messages import block, bolt, bolt_models, bridge, crown, gate, link
from thunderline.sagas import cerebros_nas, upm_activation, user_provisioning

__all__ = ["app", "SPEC", "USER_PROVISIONING_DOMAINS"]

#: The spec string of :data:`app`.
SPEC = "thunderline.app:app"
#: The domains UserProvisioning needs (small test trees start only these).
USER_PROVISIONING_DOMAINS = ("gate", "block", "link")

app = App(
    name="thunderline",
    description="UserProvisioning, UPMActivation and CerebrosNAS with their domains",
    sagas=(user_provisioning.definition, upm_activation.definition, cerebros_nas.definition),
    domains=(
        AppDomain("gate", GateActor, settings=GateSettings, description="users, magic-link tokens and mail"),
        AppDomain("block", BlockActor, settings=BlockConfig, description="storage vaults"),
        AppDomain("link", LinkActor, settings=LinkConfig, description="communities and memberships"),
        AppDomain("crown", CrownActor, settings=CrownConfig, description="policy decisions, audited"),
        AppDomain(
            "bolt",
            BoltActor,
            settings=BoltConfig,
            description="UPM snapshots and adapters; NAS datasets, runs and versions",
        ),
        AppDomain(
            "bridge", BridgeActor, settings=BridgeSettings, description="NAS proposals; one trainer process per trial"
        ),
    ),
    commands=COMMANDS,
    messages=(gate, block, link, bolt, bolt_models, crown, bridge),
    event_domains=events.EVENT_DOMAINS,
    events=events.EVENTS,
    on_load=original_telemetry.attach,
)
