"""The in-flight benchmark's app record (``holding.app:app``)."""

from __future__ import annotations

from holding import gate, saga
from sagaline.apps import App, AppCommand, AppDomain

app = App(
    name="holding",
    description="runs held in flight at a gate",
    sagas=[saga.definition],
    domains=[AppDomain("gate", gate.GateActor, description="holds passes until opened")],
    commands=[
        AppCommand("open_gate", "gate", gate.OpenGate, help="let every waiting run through"),
        AppCommand("count_waiting", "gate", gate.CountWaiting, help="runs waiting at the gate"),
    ],
    messages=[gate],
)
