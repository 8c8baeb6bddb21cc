"""A user's app, written here into a temporary package, runs on the daemon like the shipped ones.

The package has a saga (``transfer``: debit one account, credit another) and
a domain actor that owns a SQLite table (``wallet``: accounts). The daemon
loads it through its config (``apps = [...]``); the CLI opens accounts with
the app's admin command and runs the saga; a fault rule in the same config
fails the first credit on purpose, and the wallet's database shows that the
rollback gave the debit back; then the same app through ``sagaline.Client``:
a transfer to an account that does not exist fails at its credit, and its
debit is given back.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sagaline.client import Client
from sagaline.messages.admin import AdminAppCommand, AdminCatalog
from sagaline.testing.daemon import CliRunner

PACKAGE = "walletpkg"
SOURCES = {
    "__init__.py": '"""A user\'s app, built by a test."""\n',
    "messages.py": '''
        """The wallet's commands and replies."""
        from pydantic import Field
        from sagaline.messages.base import Command, Reply

        class OpenAccount(Command):
            """Open an account with a starting balance."""
            name: str
            """The account."""
            balance: int = Field(default=0, ge=0)
            """Its starting balance."""

        class AccountOpened(Reply):
            """Answer to OpenAccount."""
            name: str
            """The account."""

        class Move(Command):
            """Add ``amount`` (may be negative) to an account; never below zero."""
            name: str
            """The account."""
            amount: int
            """How much."""

        class Moved(Reply):
            """Answer to Move."""
            balance: int
            """The balance after it."""

        class Debit(Move):
            """Take money out."""

        class Credit(Move):
            """Put money in."""

        class Refund(Command):
            """Undo the Debit made under ``effect_key``."""
            effect_key: str
            """Its idempotency key."""
    ''',
    "actor.py": '''
        """The wallet domain actor: one table of accounts, one table of moves."""
        from sagaline.actors.domain import DomainActor
        from sagaline.messages.base import Reply
        from sagaline.domains.service import answer
        from sagaline.storage.idempotency import StoreBase, failure, forbid
        from sagaline.storage.sqlite import read_clock, utc_now
        from walletpkg.messages import AccountOpened, Credit, Debit, Moved, OpenAccount, Refund

        class WalletStore(StoreBase):
            STATEMENTS = (
                "CREATE TABLE accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))",
                "CREATE TABLE moves (name TEXT, amount INTEGER, created_by_key TEXT UNIQUE)")
            EFFECT_TABLES = ("moves",)

        class WalletService:
            def __init__(self, store):
                self.store = store

            async def start(self):
                pass

            async def handle(self, command) -> Reply:
                return await answer(command, {OpenAccount: self.open, Debit: self.move, Credit: self.move,
                                              Refund: self.refund})

            async def open(self, cmd):
                async def effect(conn):
                    await conn.execute("INSERT INTO accounts VALUES (?, ?)", (cmd.name, cmd.balance))
                    return AccountOpened(headers=cmd.headers, name=cmd.name)
                return await self.store.apply_once(cmd, effect, read_clock(utc_now))

            async def move(self, cmd):
                amount = -cmd.amount if isinstance(cmd, Debit) else cmd.amount
                async def effect(conn):
                    rows = await conn.execute_fetchall("SELECT balance FROM accounts WHERE name = ?", (cmd.name,))
                    if not rows or rows[0][0] + amount < 0:
                        return failure(cmd, "insufficient_funds", f"{cmd.name} cannot move {amount}")
                    await conn.execute("UPDATE accounts SET balance = balance + ? WHERE name = ?", (amount, cmd.name))
                    await conn.execute("INSERT INTO moves VALUES (?, ?, ?)", (cmd.name, amount,
                                                                             cmd.headers.idempotency_key))
                    return Moved(headers=cmd.headers, balance=rows[0][0] + amount)
                return await self.store.apply_once(cmd, effect, read_clock(utc_now))

            async def refund(self, cmd):
                async def effect(conn):
                    rows = await conn.execute_fetchall(
                        "DELETE FROM moves WHERE created_by_key = ? RETURNING name, amount", (cmd.effect_key,))
                    if not rows:
                        await forbid(conn, cmd, cmd.effect_key, "Debit", read_clock(utc_now))
                        return Moved(headers=cmd.headers, balance=-1)
                    await conn.execute("UPDATE accounts SET balance = balance - ? WHERE name = ?",
                                       (rows[0][1], rows[0][0]))
                    return Moved(headers=cmd.headers, balance=0)
                return await self.store.apply_once(cmd, effect, read_clock(utc_now))

        class WalletActor(DomainActor):
            DOMAIN = "wallet"
            STORE = WalletStore

            def build_service(self, store, config):
                return WalletService(store)
    ''',
    "app.py": '''
        """The app: a transfer saga over the wallet domain."""
        from typing import Annotated
        from pydantic import Field
        from sagaline.apps import App, AppCommand, AppDomain
        from sagaline.saga import CommandStep, Saga, input_
        from walletpkg import messages
        from walletpkg.actor import WalletActor
        from walletpkg.messages import Credit, Debit, OpenAccount, Refund

        def transfer():
            s = Saga("transfer", description="move money between two accounts")
            s.input("source", str)
            s.input("target", str)
            s.input("amount", Annotated[int, Field(ge=1)])
            s.step("debit", CommandStep("wallet", build=lambda a, c: Debit(headers=c.headers(), name=a["name"],
                                                                           amount=a["amount"]),
                                        build_undo=lambda v, a, c: Refund(headers=c.headers(), effect_key=c.run_key)),
                   args={"name": input_("source"), "amount": input_("amount")}, timeout=5.0)
            s.step("credit", CommandStep("wallet", build=lambda a, c: Credit(headers=c.headers(), name=a["name"],
                                                                             amount=a["amount"])),
                   args={"name": input_("target"), "amount": input_("amount")}, wait_for=["debit"], timeout=5.0,
                   max_retries=0)
            return s.build()

        app = App(name="wallet", sagas=[transfer], domains=[AppDomain("wallet", WalletActor)],
                  commands=[AppCommand("open_account", "wallet", OpenAccount, help="open an account")],
                  messages=[messages])
    ''',
}


@pytest.fixture
def wallet_daemon(sagaline_daemon_factory, tmp_path, monkeypatch):
    package = tmp_path / "pkgs" / PACKAGE
    package.mkdir(parents=True)
    for name, source in SOURCES.items():
        (package / name).write_text(textwrap.dedent(source).lstrip())
    monkeypatch.syspath_prepend(str(package.parent))  # the daemon gets the test's import path
    config = {
        "apps": [f"{PACKAGE}.app:app"],
        "runs": {"hosts": 1},
        "faults": {"wallet": [{"command": "Credit", "code": "bank_offline", "times": 1}]},
    }
    return sagaline_daemon_factory(config)


def balances(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "wallet.sqlite") as db:
        return dict(db.execute("SELECT name, balance FROM accounts"))


def test_a_user_app_loaded_through_config_runs_from_the_cli_and_the_client_and_rolls_back_into_its_own_database(
    wallet_daemon,
):
    cli = CliRunner(wallet_daemon)
    assert cli.json("app", "run", "open_account", "name=ada", "balance=100")["reply"] == {"name": "ada"}
    assert cli.json("app", "run", "open_account", "name=bob")["app"] == "wallet"
    assert [s["name"] for s in cli.json("sagas", "catalog")["sagas"]] == ["transfer"]

    failed = cli.json("sagas", "start", "transfer", "source=ada", "target=bob", "amount=30", "--wait")
    after_rollback = balances(wallet_daemon.data_dir)
    done = cli.json("sagas", "start", "transfer", "source=ada", "target=bob", "amount=30", "--wait")

    assert (failed["status"], failed["failed_step"], failed["error"]["code"]) == ("failed", "credit", "bank_offline")
    assert after_rollback == {"ada": 100, "bob": 0}
    assert done["status"] == "completed"
    assert balances(wallet_daemon.data_dir) == {"ada": 70, "bob": 30}
    with sqlite3.connect(wallet_daemon.data_dir / "wallet.sqlite") as db:
        assert db.execute("SELECT name, amount FROM moves ORDER BY rowid").fetchall() == [("ada", -30), ("bob", 30)]

    # The same app through sagaline.Client: a transfer to an account that does not exist fails at its
    # credit, on purpose, and the debit is given back.
    with Client(wallet_daemon.data_dir) as client:
        assert [s["name"] for s in client.request(AdminCatalog()).data["sagas"]] == ["transfer"]
        opened = client.request(AdminAppCommand(command="open_account", args={"name": "cy", "balance": 5}))
        assert opened.data["reply"] == {"name": "cy"}
        lost = client.start("transfer", {"source": "ada", "target": "nobody", "amount": 20}, wait=True)
        paid = client.start("transfer", {"source": "ada", "target": "cy", "amount": 20}, wait=True)
    assert (lost.outcome.status, lost.outcome.failed_step) == ("failed", "credit")
    assert lost.outcome.error["code"] == "insufficient_funds"
    assert paid.outcome.status == "completed"
    assert balances(wallet_daemon.data_dir) == {"ada": 50, "bob": 30, "cy": 25}
    with sqlite3.connect(wallet_daemon.data_dir / "wallet.sqlite") as db:  # the refunded debit left no move
        assert db.execute("SELECT name, amount FROM moves ORDER BY rowid").fetchall() == [
            ("ada", -30),
            ("bob", 30),
            ("ada", -20),
            ("cy", 20),
        ]


def test_a_bad_input_is_refused_by_the_cli_and_by_the_daemon_naming_the_field_and_type(wallet_daemon):
    cli = CliRunner(wallet_daemon)

    by_cli = cli("sagas", "start", "transfer", "source=ada", "target=bob", "amount=-5")
    by_daemon = cli("sagas", "start", "transfer", "source=ada", "target=bob", 'amount:="30"')

    assert (by_cli.exit_code, by_cli.stderr.strip()) == (2, "error (invalid): amount: expected integer >= 1, got '-5'")
    assert by_daemon.exit_code == 2
    assert "amount: expected integer >= 1, got '30'" in by_daemon.stderr
    assert cli.json("sagas", "list")["total"] == 0


@pytest.mark.parametrize(
    ("apps", "message"),
    [
        (
            ["no_such_pkg.app:app"],
            "sagaline: app error: app 'no_such_pkg.app:app': spec: cannot import module "
            "'no_such_pkg.app': ModuleNotFoundError",
        ),
        (
            ["tests.support.apps:trespasser", "tests.support.apps:notes"],
            "sagaline: app error: app 'trespasser': sagas[sneak].steps[to_notes_0]: "
            "uses domain 'notes' of app 'notes', which this app does not name in uses",
        ),
    ],
)
def test_a_bad_app_stops_the_daemon_before_anything_starts_with_one_line_and_status_2(tmp_path, apps, message):
    flags = [word for spec in apps for word in ("--app", spec)]
    command = [
        sys.executable,
        "-m",
        "sagaline.cli.main",
        "run",
        "--admin-port",
        "0",
        "--data-dir",
        str(tmp_path / "data"),
        *flags,
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith(message)
    assert not (tmp_path / "data").exists()
