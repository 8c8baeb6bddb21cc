"""The console's one way into the daemon: :class:`sagaline.AsyncClient`, reconnected when needed.

Every page and live view asks through :meth:`Gateway.request` (any admin
request, answered with its ``data`` or one of :mod:`sagaline.client.errors`'
exceptions) or :meth:`Gateway.call` (a typed client call). When the daemon
is unreachable the client is dropped, and the next request finds the daemon
again (a restarted daemon has a new port in ``daemon.json`` and a new door),
so a console outlives the daemons it watches. At most :data:`MAX_IN_FLIGHT`
requests are in flight at once, so the console never takes every admin
worker from the CLI and other clients. The catalog (which only
changes when the daemon restarts) is cached per client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sagaline.client import AsyncClient, locate
from sagaline.client.channel import ThespianChannel
from sagaline.client.errors import DaemonUnreachable, error_for
from sagaline.messages import admin as m

__all__ = ["Gateway", "BUSY_PAUSES_S"]

#: Pauses before asking again when every admin worker was busy (reads only; a start is the client's to retry).
BUSY_PAUSES_S = (0.1, 0.25, 0.5)
#: Admin requests the console has in flight at once: the daemon's admin workers (16 by default) are
#: shared with the CLI and every other client; a page's burst (the counts by status are nine requests)
#: must not take them all (bench_web saw starts answered ``busy`` before this limit).
MAX_IN_FLIGHT = 4


class Gateway:
    """The daemon as the console sees it.

    Args:
        data_dir: The daemon's data directory (its ``daemon.json`` and ``secret.key``; default as the CLI's).
        admin_port: Its admin port instead of ``daemon.json``'s (the secret still comes from ``data_dir``).
        host: Its address (default 127.0.0.1).
    """

    def __init__(self, data_dir: Any = None, admin_port: int | None = None, host: str | None = None) -> None:
        self.data_dir, self.admin_port, self.host = data_dir, admin_port, host
        self._client: AsyncClient | None = None
        self._connecting = asyncio.Lock()
        self._catalog: dict[str, Any] | None = None
        self.sent = 0
        """Admin requests sent so far (the console reports it when it stops)."""
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def client(self) -> AsyncClient:
        """The connected client (connecting first, once, however many callers wait).

        Raises:
            DaemonUnreachable: no daemon (DaemonStarting: it is starting).
        """
        async with self._connecting:
            if self._client is None:
                target = locate(admin_port=self.admin_port, host=self.host, data_dir=self.data_dir)
                client = AsyncClient(channel=ThespianChannel(target))
                try:
                    await client.connect()
                except BaseException:
                    await client.close()
                    raise
                self._client, self._catalog = client, None
            return self._client

    async def request(self, request: m.AdminRequest) -> dict[str, Any]:
        """``request``'s answer data (a ``busy`` answer is tried again a few times, briefly).

        Raises:
            ClientError: the daemon's error answer, or no daemon (then the next call reconnects).
        """
        for pause in (*BUSY_PAUSES_S, None):
            client = await self.client()
            self.sent += 1
            try:
                async with self._in_flight:
                    answer = await client.request(request)
            except DaemonUnreachable:
                await self._drop(client)
                raise
            if isinstance(answer, m.AdminError) and answer.code == "busy" and pause is not None:
                await asyncio.sleep(pause)  # every admin worker answers someone else: a read can wait a moment
                continue
            if isinstance(answer, m.AdminError):
                raise error_for(answer)
            return answer.data
        raise AssertionError("unreachable")  # pragma: no cover

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A typed call of :class:`sagaline.AsyncClient` (``start``, ``cancel``, ``retry``, ``resume``, ...)."""
        client = await self.client()
        self.sent += 1
        try:
            async with self._in_flight:
                return await getattr(client, name)(*args, **kwargs)
        except DaemonUnreachable:
            await self._drop(client)
            raise

    async def catalog(self) -> dict[str, Any]:
        """The daemon's catalog (cached until the client reconnects)."""
        if self._catalog is None:
            self._catalog = await self.request(m.AdminCatalog())
        return self._catalog

    async def _drop(self, client: AsyncClient) -> None:
        async with self._connecting:
            if self._client is client:
                self._client = None
        await client.close()

    async def close(self) -> None:
        """Let go of the daemon (it keeps running)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
