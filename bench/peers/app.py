"""The peers benchmark's app record (``peers.app:app``)."""

from __future__ import annotations

from peers import rows, saga
from sagaline.apps import App, AppDomain

app = App(
    name="peers",
    description="the peers benchmark's workload",
    sagas=[saga.definition],
    domains=[AppDomain("rows", rows.RowsActor, description="one row per saga step")],
    messages=[rows],
)
