"""The domain actor: one service, one SQLite database, one private event loop.

Each domain (gate, block, link, flow, bolt, crown) is a :class:`DomainActor`
subclass naming how to open its service. The actor opens its database in
its own process, after Thespian forked it (never carry a connection across a
fork), on an :class:`~sagaline.storage.aio.AsyncRunner` loop kept off
Thespian's thread, and answers each command by running the service's
``handle`` on that loop and sending the reply from the actor's own thread.

Args (the ``args`` of its child spec):
    db_path: the domain's SQLite file.
    synchronous: ``NORMAL`` (default) or ``FULL``.
    config: the service's settings (a mapping).
    faults: a :class:`~sagaline.domains.faults.FaultPlan` as data (tests, rehearsals).

Crash semantics are the base actor's: a handler that raises (a bug, or an
injected ``crash``) ends the actor with reason error, and its supervisor
restarts it; a storage fault is not a crash, the service answers it with a
retryable ``CommandFailed``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from sagaline.actors.base import BaseActor
from sagaline.domains.faults import FaultPlan
from sagaline.messages.base import Command
from sagaline.messages.common import CommandFailed
from sagaline.storage.aio import AsyncRunner
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
    #: Seconds one command may take on the loop before the actor gives up (and crashes).
    HANDLE_TIMEOUT_S: ClassVar[float] = 60.0

    def on_start(self, args: dict[str, Any]) -> None:
        self.runner = AsyncRunner(f"{self.DOMAIN}-aio")
        self.faults = FaultPlan.from_data(args.get("faults"))
        options = SqliteOptions(synchronous=args.get("synchronous", "NORMAL"))
        self.store, self.service = self.runner.run(
            self.open_service(args["db_path"], options, dict(args.get("config") or {})),
            self.HANDLE_TIMEOUT_S)

    #: The store class (``await STORE.open(path, options)``) of the domain.
    STORE: ClassVar[Any] = None

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
        """Run a coroutine on this actor's loop, blocking until it is done."""
        return self.runner.run(coroutine, self.HANDLE_TIMEOUT_S)

    def receive_Command(self, command: Command, sender: Any) -> None:
        with self.command_span(command) as stop_meta:
            if self.injected_fault(command, sender):
                stop_meta["reply"] = "CommandFailed"
                return
            reply = self.run(self.service.handle(command))
            stop_meta["reply"] = type(reply).__name__
            self.send(sender, reply)

    def command_span(self, command: Command):
        """A telemetry span around handling ``command``, carrying its trace context."""
        headers = command.headers
        return telemetry.span(DOMAIN_COMMAND, {
            "domain": self.DOMAIN, "command": type(command).__name__,
            "correlation_id": headers.correlation_id, "idempotency_key": headers.idempotency_key,
            "traceparent": headers.traceparent})

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
        self.send(sender, CommandFailed(headers=command.headers, code=rule.code,
                                        message=f"injected fault on {type(command).__name__}",
                                        retryable=rule.retryable))
        return True

    def on_terminate(self, reason: Any) -> None:
        store = getattr(self, "store", None)
        runner = getattr(self, "runner", None)
        if runner is None:
            return
        try:
            if store is not None:
                runner.run(store.close(), 5.0)
        except Exception:
            _log.exception("%s: closing its store failed", self.DOMAIN)
        runner.close()
