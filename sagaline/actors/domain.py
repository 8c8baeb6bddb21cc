"""The domain actor: one service, one SQLite database, on the actor's own thread.

Each domain (gate, block, link, flow, bolt, crown, a user app's domains) is
a :class:`DomainActor` subclass naming its ``STORE`` and how to build its
service. The actor opens its database in its own process, after Thespian
forked it (never carry a connection across a fork), and answers each
command by running the service's ``handle`` coroutine **on its own thread**:
the store's statements run ``sqlite3`` inline (:mod:`sagaline.storage.sqlite`),
so a command costs no thread hand-off (it used to cost three: actor thread
-> asyncio loop thread -> aiosqlite worker, 5.4 ms of an in-process saga's
8.75 ms of CPU, ``bench/bench_cpu_breakdown.py``). The coroutines are
driven by a private event loop that runs only inside :meth:`DomainActor.run`,
on this thread, so a service that really awaits I/O (mail through an SMTP
server in a thread pool) still works.

**Batches.** A saga host sends the commands many runs produced at once as
one :class:`~sagaline.messages.batch.CommandBatch`; and commands that
arrive while the actor is busy wait for the next :class:`~sagaline.messages.batch.Pump`
it sends itself (queued behind what it has already read, so no delay is
added when idle). The actor applies everything gathered in order inside
**one** transaction (each command's own transaction becomes a savepoint
inside it, so a failed command still rolls back alone; on PostgreSQL the
ledger rows of all their keys are read in one SELECT,
:func:`~sagaline.storage.idempotency.ledger_batch`) and answers each
sender with one :class:`~sagaline.messages.batch.ReplyBatch`: one commit
and one message per sender for the whole batch (group commit). If the commit itself
fails (disk full), nothing of the batch was applied, and every command is
answered with a retryable ``storage_unavailable``; the runs re-send them
with the same idempotency keys.

Args (the ``args`` of its child spec): :class:`~sagaline.actors.domain_args.DomainArgs`:
    db_path: the domain's store: a SQLite file or a PostgreSQL location (``postgresql://...#<domain>``).
    synchronous: ``FULL`` (default) or ``NORMAL``.
    config: the service's settings (a mapping).
    faults: a :class:`~sagaline.domains.faults.FaultPlan` as data (tests, rehearsals).

Crash semantics are the base actor's: a handler that raises (a bug, or an
injected ``crash``) ends the actor with reason error, and its supervisor
restarts it; a storage fault is not a crash, the service answers it with a
retryable ``CommandFailed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

from sagaline.actors.base import BaseActor
from sagaline.actors.domain_args import DomainArgs
from sagaline.domains.faults import FaultPlan
from sagaline.messages.base import Command, Reply
from sagaline.messages.batch import CommandBatch, Pump, ReplyBatch
from sagaline.messages.common import CommandFailed
from sagaline.storage.aio import AsyncRunner
from sagaline.storage.errors import StorageError
from sagaline.storage.idempotency import ledger_batch
from sagaline.storage.sqlite import SqliteOptions
from sagaline.telemetry.core import telemetry
from sagaline.telemetry.names import DOMAIN_COMMAND

__all__ = ["DomainActor", "InjectedCrash"]

_log = logging.getLogger("sagaline.domains")


class InjectedCrash(RuntimeError):
    """Raised on purpose by a ``crash`` fault rule."""


class DomainActor(BaseActor):
    """Base of the domain actors; subclasses name their ``STORE`` and implement :meth:`build_service`."""

    #: The domain's name, also its registry key.
    DOMAIN: ClassVar[str] = ""
    #: The store class (``await STORE.open(path, options)``) of the domain.
    STORE: ClassVar[Any] = None
    #: The model of its args (a domain with more args names its own, a subclass of this one).
    ARGS: ClassVar[type[DomainArgs]] = DomainArgs

    def on_start(self, args: dict[str, Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.fallback: AsyncRunner | None = None
        self.gathered: list[tuple[list[Command], Any]] = []
        self.pump_due = False
        cfg = self.ARGS.parse(args)
        self.faults = FaultPlan(cfg.faults)
        self.store, self.service = self.run(
            self.open_service(cfg.db_path, SqliteOptions(synchronous=cfg.synchronous), dict(cfg.config))
        )

    async def open_service(self, db_path: str, options: SqliteOptions, config: dict[str, Any]) -> tuple[Any, Any]:
        """Open the store, build and start the service; return ``(store, service)``.

        The store is closed again when building or starting the service
        fails, so a failed start leaves no connection behind.
        """
        store = await self.STORE.open(db_path, options)
        try:
            service = self.build_service(store, config)
            await service.start()
        except BaseException:
            await store.close()
            raise
        return store, service

    def build_service(self, store: Any, config: dict[str, Any]) -> Any:
        """The domain's service over ``store`` with the spec's ``config``."""
        raise NotImplementedError

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine to its end on this thread and return its result.

        When this thread already runs an event loop (an in-process actor
        system driven from asyncio code), the coroutine goes to a private
        loop thread instead: two loops cannot share a thread.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.loop.run_until_complete(coroutine)
        if self.fallback is None:
            self.fallback = AsyncRunner(f"{self.DOMAIN}-aio")
        return self.fallback.run(coroutine, None)

    # ----- commands ----------------------------------------------------------------------

    def receive_Command(self, command: Command, sender: Any) -> None:
        self._gather([command], sender)

    def receive_CommandBatch(self, batch: CommandBatch, sender: Any) -> None:
        self._gather(batch.commands, sender)

    def _gather(self, commands: list[Command], sender: Any) -> None:
        """Queue commands; they are applied together once the messages already read are (a Pump)."""
        self.gathered.append((commands, sender))
        if not self.pump_due:
            self.pump_due = True
            self.send(self.myAddress, Pump())

    def receive_Pump(self, message: Pump, sender: Any) -> None:
        self.pump_due = False
        gathered, self.gathered = self.gathered, []
        commands = [(c, s) for batch, s in gathered for c in batch]
        replies = self.run(self.answer_batch(commands))
        for address, answers in _by_sender(replies):
            self.send(address, answers[0] if len(answers) == 1 else ReplyBatch(replies=answers))
        self.after_answer()

    async def answer_batch(self, commands: list[tuple[Command, Any]]) -> list[tuple[Reply, Any]]:
        """Answer ``(command, sender)`` pairs in order inside one transaction (see the module docstring)."""
        db = getattr(self.store, "db", None)
        if db is None or len(commands) == 1:
            return [(r, s) for c, s in commands if (r := await self.answer(c, s)) is not None]
        replies: list[tuple[Reply, Any]] = []
        try:
            async with db.transaction() as conn, ledger_batch(conn, [c for c, _ in commands]):
                for command, sender in commands:
                    reply = await self.answer(command, sender)
                    if reply is not None:
                        replies.append((reply, sender))
        except StorageError as exc:
            _log.warning("%s: a batch of %d commands failed to commit: %s", self.DOMAIN, len(commands), exc)
            return [
                (
                    CommandFailed(
                        headers=c.headers, code="storage_unavailable", message=str(exc), retryable=exc.retryable
                    ),
                    s,
                )
                for c, s in commands
            ]
        return replies

    async def answer(self, command: Command, sender: Any) -> Reply | None:
        """One command: its fault rule, else the service's answer; None when already answered."""
        with self.command_span(command) as stop_meta:
            if self.injected_fault(command, sender):
                stop_meta["reply"] = "CommandFailed"
                return None
            reply = await self.handle(command, sender)
            stop_meta["reply"] = type(reply).__name__ if reply is not None else None
            return reply

    async def handle(self, command: Command, sender: Any) -> Reply | None:
        """The service's answer to ``command``; subclasses with more to do than answer override it."""
        return await self.service.handle(command)

    def after_answer(self) -> None:
        """Called once the replies of a command (or a batch) were sent; default: nothing."""

    def command_span(self, command: Command):
        """A telemetry span around handling ``command``, carrying its trace context."""
        headers = command.headers
        return telemetry.span(
            DOMAIN_COMMAND,
            {
                "domain": self.DOMAIN,
                "command": type(command).__name__,
                "correlation_id": headers.correlation_id,
                "idempotency_key": headers.idempotency_key,
                "traceparent": headers.traceparent,
            },
        )

    def injected_fault(self, command: Command, sender: Any) -> bool:
        """Apply the fault plan to ``command``; True when it answered in the command's stead.

        Raises:
            InjectedCrash: a ``crash`` rule matched (the actor crashes on purpose).
        """
        fault = self.faults.check(command)
        if fault is None:
            return False
        rule = fault.rule
        if rule.action == "crash":
            raise InjectedCrash(f"{self.DOMAIN}: injected crash on {type(command).__name__}")
        if rule.action == "delay":
            time.sleep(rule.seconds)
            return False
        self.send(sender, fault.refusal(command))
        return True

    def on_terminate(self, reason: Any) -> None:
        store = getattr(self, "store", None)
        loop = getattr(self, "loop", None)
        try:
            if store is not None:
                self.run(store.close())
        except Exception:
            _log.exception("%s: closing its store failed", self.DOMAIN)
        fallback = getattr(self, "fallback", None)
        if fallback is not None:
            fallback.close()
        if loop is not None and not loop.is_running():
            loop.close()


def _by_sender(replies: list[tuple[Reply, Any]]) -> list[tuple[Any, list[Reply]]]:
    """Replies grouped by who they go to, in order (addresses are not hashable: a short list)."""
    groups: list[tuple[Any, list[Reply]]] = []
    for reply, sender in replies:
        for address, answers in groups:
            if address == sender:
                answers.append(reply)
                break
        else:
            groups.append((sender, [reply]))
    return groups
