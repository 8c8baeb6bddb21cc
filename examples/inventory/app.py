"""The inventory app: what ``apps = ["inventory.app:app"]`` (or ``--app inventory.app:app``) loads."""

from __future__ import annotations

from inventory import messages, saga
from inventory.actor import StockActor
from inventory.messages import Restock, StockLevels
from inventory.service import StockSettings
from sagaline.apps import App, AppCommand, AppDomain

app = App(
    name="inventory",
    description="orders that reserve stock",
    sagas=[saga.definition],
    domains=[AppDomain("stock", StockActor, settings=StockSettings, description="items in stock")],
    commands=[
        AppCommand("restock", "stock", Restock, help="add items to the stock"),
        AppCommand("stock_levels", "stock", StockLevels, help="every item and how many are in stock"),
    ],
    messages=[messages],
)
