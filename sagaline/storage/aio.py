"""A private asyncio event loop in a daemon thread, driven from synchronous code.

Why this exists: Thespian actors are synchronous, and the domain services
are written as coroutines (their database face, :mod:`sagaline.storage.database`,
is async without ever suspending). A domain actor runs them on its own
thread's loop; this runner is its fallback when that thread already runs a
loop (a test written with asyncio). The actor's
``receiveMessage`` calls ``runner.run(service.handle(cmd), timeout)`` and
*blocks* until the coroutine is done, then sends its reply. Blocking is
right here, not a shortcut:

- an actor handles one message at a time anyway, so there is nothing else
  its thread could do meanwhile, and the domain's state changes stay in
  message order;
- Thespian's ``send`` is not thread-safe, so the reply must be sent from
  the actor's own thread, never from the loop's thread.

The loop runs in its own thread, so ``run`` also works when the calling
thread already runs an event loop of its own (a test written with asyncio,
say): the two loops never meet.

Fork safety (see ``thespian-notes.md``, "Processes, files and threads"): the
thread and loop are created lazily, at the first :meth:`AsyncRunner.run`,
i.e. inside the actor process after Thespian forked it. A runner that was
started in one process refuses to run in a forked child (a thread does not
survive ``fork``): make the runner, and open databases, in the actor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["AsyncRunner"]

T = TypeVar("T")

# Bounded so a wedged loop cannot hang an actor's shutdown forever.
_JOIN_SECONDS = 5.0


class AsyncRunner:
    """Owns one event loop in one daemon thread; runs coroutines on it, blocking.

    Not thread-safe in the sense of "many callers at once" being useful: it
    is meant for one actor thread. (Concurrent callers are safe, they just
    share the loop.)

    Example::

        runner = AsyncRunner()
        try:
            store = runner.run(GateStore.open(path), timeout=5)
            reply = runner.run(service.handle(command), timeout=5)
        finally:
            runner.run(store.close(), timeout=5)
            runner.close()
    """

    def __init__(self, name: str = "sagaline-aio") -> None:
        """Make a runner; no thread or loop exists until the first :meth:`run`.

        Args:
            name: Name of the loop's thread (shows in thread dumps).
        """
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        """True once the loop thread has been started (and not yet closed)."""
        return self._loop is not None and not self._closed

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the runner's loop and block until it finishes.

        Args:
            coro: The coroutine to run (it is closed unrun if the runner
                cannot take it).
            timeout: Seconds to wait; None waits forever. On timeout the
                coroutine is cancelled (its ``finally`` blocks and
                transaction rollbacks run on the loop).

        Returns:
            The coroutine's result.

        Raises:
            Exception: whatever the coroutine raised, re-raised here.
            TimeoutError: it did not finish within ``timeout``.
            RuntimeError: the runner is closed, was started in another
                process (before a fork), or ``run`` was called from the
                runner's own loop thread (that would deadlock).
        """
        try:
            loop = self._ensure_loop()
        except BaseException:
            coro.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"coroutine did not finish within {timeout} s") from None

    def close(self) -> None:
        """Cancel what is still running on the loop, stop it and join its thread.

        Close the resources that live on the loop first (``runner.run(
        store.close())``): an aiosqlite connection left open keeps a
        non-daemon thread alive. Idempotent; a runner never started just
        becomes closed. After ``close``, :meth:`run` raises ``RuntimeError``.
        """
        with self._lock:
            loop, thread = self._loop, self._thread
            self._closed = True
        if loop is None or thread is None or self._pid != os.getpid():
            return
        if threading.current_thread() is thread:
            raise RuntimeError("AsyncRunner.close() called from its own loop thread")
        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(_stop(loop), loop)
            thread.join(_JOIN_SECONDS)

    def __enter__(self) -> AsyncRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("AsyncRunner is closed")
            if self._loop is None:
                self._start()
            elif self._pid != os.getpid():
                raise RuntimeError(
                    f"AsyncRunner started in process {self._pid} used in forked process "
                    f"{os.getpid()}; create the runner inside the actor process"
                )
            if threading.current_thread() is self._thread:
                raise RuntimeError("AsyncRunner.run() called from its own loop thread (deadlock)")
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(target=_serve, args=(loop, ready), name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread, self._pid = loop, thread, os.getpid()


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _stop(loop: asyncio.AbstractEventLoop) -> None:
    me = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not me]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    # SMTP sends run in the default executor; wait for them, bounded.
    try:
        await asyncio.wait_for(loop.shutdown_default_executor(), _JOIN_SECONDS)
    except TimeoutError:
        pass
    loop.stop()
