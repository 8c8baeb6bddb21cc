"""The recovery benchmark's app record (``recovering.app:app``)."""

from __future__ import annotations

from recovering import gate, saga
from sagaline.apps import App, AppCommand, AppDomain

app = App(
    name="recovering",
    description="runs held at a gate that counts re-sent passes",
    sagas=[saga.definition],
    domains=[AppDomain("gate", gate.GateActor, description="holds one pass per run until opened")],
    commands=[
        AppCommand("open_gate", "gate", gate.OpenGate, help="let every waiting run through"),
        AppCommand(
            "count_waiting", "gate", gate.CountWaiting, help="runs waiting, passes seen, runs whose pass came again"
        ),
    ],
    messages=[gate],
)
