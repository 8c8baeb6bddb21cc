"""The inventory app end to end: a real daemon loads it through its config; the CLI drives it.

Uses the sagaline pytest plugin's fixtures (``sagaline_daemon_factory``) and
its CLI runner; the database is read directly to see what the rollback left.
"""

from __future__ import annotations

import sqlite3

import pytest

from sagaline.testing.daemon import CliRunner


@pytest.fixture
def shop(sagaline_daemon_factory):
    daemon = sagaline_daemon_factory({"apps": ["inventory.app:app"], "runs": {"hosts": 1}})
    cli = CliRunner(daemon)
    assert cli.json("app", "run", "restock", "sku=apple", "quantity=5")["reply"] == {"sku": "apple", "quantity": 5}
    return daemon, cli


def stock(daemon) -> dict:
    with sqlite3.connect(daemon.data_dir / "stock.sqlite") as db:
        return {
            "stock": dict(db.execute("SELECT sku, quantity FROM stock")),
            "reservations": db.execute("SELECT count(*) FROM reservations").fetchone()[0],
        }


def test_an_order_reserves_the_items_and_a_declined_card_puts_them_back(shop):
    daemon, cli = shop

    done = cli.json("sagas", "start", "place_order", "sku=apple", "quantity=2", "card=visa", "--wait")
    declined = cli.json("sagas", "start", "place_order", "sku=apple", "quantity=2", "card=declined", "--wait")

    assert (done["status"], done["result"]["left"]) == ("completed", 3)
    assert (declined["status"], declined["failed_step"], declined["error"]["code"]) == (
        "failed",
        "charge_card",
        "card_declined",
    )
    assert stock(daemon) == {"stock": {"apple": 3}, "reservations": 1}
    levels = cli.json("app", "run", "stock_levels")["reply"]["items"]
    assert levels == [{"sku": "apple", "quantity": 3}]


def test_the_catalog_shows_the_typed_inputs_and_a_bad_quantity_never_reaches_the_daemon(shop):
    _daemon, cli = shop

    [saga] = cli.json("sagas", "catalog", "place_order")["sagas"]
    bad = cli("sagas", "start", "place_order", "sku=apple", "quantity=lots", "card=visa")

    assert {i["name"]: i["type"] for i in saga["inputs"]} == {
        "sku": "string",
        "quantity": "integer >= 1",
        "card": "string",
    }
    assert (bad.exit_code, bad.stderr.strip()) == (2, "error (invalid): quantity: expected integer >= 1, got 'lots'")
    assert cli.json("sagas", "list")["runs"] == []
