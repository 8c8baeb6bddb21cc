"""``sagaline.AsyncClient``: :class:`~sagaline.client.sync.Client` for asyncio programs.

Why it exists: a web console or any asyncio service would otherwise write
the same executor glue around every call. Why it is thin: Thespian has no
asyncio integration, and its endpoints block, so the honest implementation
runs each call of a :class:`~sagaline.client.sync.Client` on a thread of
its own pool (sized to the daemon's admin workers: more threads would only
wait for a worker). Each call awaits the same result, raises the same
errors (:mod:`sagaline.client.errors`) and keeps the same promises
(idempotent start retries, real waited times); cancelling the awaiting task
does not recall a request already sent.

::

    async with AsyncClient("./data") as client:
        started = await client.start("user_provisioning", {"email": "ada@example.com"}, wait=True)
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sagaline.client.results import Health, RunList, RunRecord, StartResult
from sagaline.client.sync import Client
from sagaline.messages import admin as m
from sagaline.messages.saga import CancelAnswer, OperatorAnswer, RunOutcome

__all__ = ["AsyncClient"]

#: Threads when the daemon's worker count is not known yet.
DEFAULT_THREADS = 16


class AsyncClient:
    """The asyncio face of :class:`~sagaline.client.sync.Client` (same arguments, coroutine methods).

    Connects in :meth:`connect` (``async with`` does it), not in the constructor.
    """

    def __init__(
        self,
        data_dir: Any = None,
        *,
        address: str | tuple[str, int] | None = None,
        channel: Any = None,
        threads: int | None = None,
    ) -> None:
        self.client = Client(data_dir, address=address, channel=channel, connect=False)
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    async def connect(self) -> AsyncClient:
        """Connect (see :meth:`Client.connect`)."""
        await self._run(self.client.connect)
        return self

    async def close(self) -> None:
        """Let go; the daemon keeps running."""
        self.client.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def __aenter__(self) -> AsyncClient:
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def start(
        self,
        saga: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        wait: bool = False,
        timeout: float = 60.0,
    ) -> StartResult:
        """See :meth:`Client.start`."""
        return await self._run(
            self.client.start,
            saga,
            inputs,
            correlation_id=correlation_id,
            causation_id=causation_id,
            wait=wait,
            timeout=timeout,
        )

    async def wait(self, correlation_id: str, *, timeout: float = 60.0) -> RunOutcome:
        """See :meth:`Client.wait`."""
        return await self._run(self.client.wait, correlation_id, timeout=timeout)

    async def get(self, correlation_id: str) -> RunRecord:
        """See :meth:`Client.get`."""
        return await self._run(self.client.get, correlation_id)

    async def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        saga: str | None = None,
        limit: int = 50,
        offset: int = 0,
        id_prefix: str | None = None,
        started_after: float | None = None,
        started_before: float | None = None,
    ) -> RunList:
        """See :meth:`Client.list`."""
        return await self._run(
            self.client.list,
            status=status,
            saga=saga,
            limit=limit,
            offset=offset,
            id_prefix=id_prefix,
            started_after=started_after,
            started_before=started_before,
        )

    async def resolve(self, id_or_prefix: str) -> str:
        """See :meth:`Client.resolve`."""
        return await self._run(self.client.resolve, id_or_prefix)

    async def cancel(self, correlation_id: str, *, reason: str = "cancelled by operator") -> CancelAnswer:
        """See :meth:`Client.cancel`."""
        return await self._run(self.client.cancel, correlation_id, reason=reason)

    async def retry(self, correlation_id: str, *, steps: Iterable[str] = ()) -> OperatorAnswer:
        """See :meth:`Client.retry`."""
        return await self._run(self.client.retry, correlation_id, steps=tuple(steps))

    async def resume(self, correlation_id: str, *, from_step: str | None = None) -> OperatorAnswer:
        """See :meth:`Client.resume`."""
        return await self._run(self.client.resume, correlation_id, from_step=from_step)

    async def health(self) -> Health:
        """See :meth:`Client.health`."""
        return await self._run(self.client.health)

    async def request(self, request: m.AdminRequest) -> m.AdminResult | m.AdminError:
        """See :meth:`Client.request`."""
        return await self._run(self.client.request, request)

    async def _run(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._pool is None:
            workers = self.client.capacity or DEFAULT_THREADS
            self._pool = ThreadPoolExecutor(max_workers=self._threads or workers, thread_name_prefix="sagaline-client")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))
