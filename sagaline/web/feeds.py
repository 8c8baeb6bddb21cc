"""Live views: one shared poll per view, pushed to every browser on it as server-sent events.

A :class:`Feed` is one live view (the runs list with its filters, one run,
the tree, the event tail). While at least one browser listens, it calls its
``render`` coroutine every ``poll_s`` seconds; ``render`` asks the daemon
and returns the page's live parts as ``{element id: html}``. Only parts
that changed since the last poll are pushed, to every listener. So the
daemon's load grows with the number of distinct views open, not with the
number of browsers, and an idle console asks nothing at all.

``render`` may say the view is over (a run that ended): the feed pushes the
last parts, then ``end``, and the browser closes its stream. When the
daemon cannot be reached, the feed pushes a ``banner`` part saying so and
keeps polling; it clears it when the daemon answers again.

:class:`Hub` keeps the feeds by key and caps how many exist at once
(:data:`MAX_FEEDS`); :func:`sse` frames messages for the wire.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass

__all__ = ["Feed", "Hub", "Render", "Parts", "TooManyFeeds", "sse", "stream", "MAX_FEEDS", "KEEPALIVE_S"]

_log = logging.getLogger("sagaline.web")

#: Live views at once (each polls the daemon); more are refused with 503.
MAX_FEEDS = 64
#: Seconds between keep-alive comments on a quiet stream (proxies drop silent connections).
KEEPALIVE_S = 15.0
#: Messages queued per listener before it is sent a full snapshot instead (a slow browser).
QUEUE_SIZE = 8


@dataclass(frozen=True)
class Parts:
    """What one poll rendered: element id -> html, and whether the view is over."""

    html: dict[str, str]
    final: bool = False


Render = Callable[[], Awaitable[Parts]]


class TooManyFeeds(RuntimeError):
    """Refused: :data:`MAX_FEEDS` live views are open."""


class Feed:
    """One live view, polled while anyone listens (see the module docstring)."""

    def __init__(self, key: Hashable, render: Render, poll_s: float, on_idle: Callable[[Feed], None]) -> None:
        self.key, self.render, self.poll_s = key, render, poll_s
        self.last: dict[str, str] = {}
        self.final = False
        self._listeners: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None
        self._on_idle = on_idle

    def listen(self) -> asyncio.Queue:
        """A new listener's queue; its first message is what is known already."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        if self.last:
            queue.put_nowait(dict(self.last))
        if self.final:
            queue.put_nowait(None)
        self._listeners.add(queue)
        if self._task is None and not self.final:
            self._task = asyncio.create_task(self._run(), name=f"feed {self.key}")
        return queue

    def leave(self, queue: asyncio.Queue) -> None:
        self._listeners.discard(queue)
        if not self._listeners:
            self.stop()

    def stop(self) -> None:
        """Stop polling and end every listener's stream."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for queue in list(self._listeners):
            self._push(queue, None)
        self._listeners.clear()
        self._on_idle(self)

    async def _run(self) -> None:
        try:
            while self._listeners:
                parts = await self._poll()
                self._publish(parts)
                if parts.final:
                    self.final = True
                    for queue in list(self._listeners):
                        self._push(queue, None)
                    return
                await asyncio.sleep(self.poll_s)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in a view must not kill the console; the listeners see the banner
            _log.exception("live view %s failed", self.key)
            self._publish(Parts({"banner": "<p class='banner error'>This live view failed; reload the page.</p>"}))

    async def _poll(self) -> Parts:
        from sagaline.client.errors import ClientError

        try:
            parts = await self.render()
        except ClientError as exc:
            return Parts({"banner": f"<p class='banner error'>The daemon did not answer: {_escape(str(exc))}</p>"})
        return Parts({"banner": "", **parts.html}, parts.final)

    def _publish(self, parts: Parts) -> None:
        changed = {k: v for k, v in parts.html.items() if self.last.get(k) != v}
        if not changed:
            return
        self.last.update(changed)
        for queue in list(self._listeners):
            self._push(queue, changed)

    def _push(self, queue: asyncio.Queue, message: dict[str, str] | None) -> None:
        if queue.full():  # a slow browser: drop what it has not read, send everything at once
            while not queue.empty():
                queue.get_nowait()
            if message is not None:
                message = dict(self.last)
        queue.put_nowait(message)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


class Hub:
    """The console's feeds, by key."""

    def __init__(self, poll_s: float, max_feeds: int = MAX_FEEDS) -> None:
        self.poll_s, self.max_feeds = poll_s, max_feeds
        self._feeds: dict[Hashable, Feed] = {}

    def feed(self, key: Hashable, render: Render, slower: float = 1.0) -> Feed:
        """The feed for ``key`` (made with ``render`` when new, polling every ``slower`` polls).

        Raises:
            TooManyFeeds: :data:`MAX_FEEDS` feeds exist.
        """
        found = self._feeds.get(key)
        if found is not None:
            return found
        if len(self._feeds) >= self.max_feeds:
            raise TooManyFeeds(f"{self.max_feeds} live views are open")
        feed = Feed(key, render, self.poll_s * slower, self._forget)
        self._feeds[key] = feed
        return feed

    def _forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]

    def __len__(self) -> int:
        return len(self._feeds)

    def close(self) -> None:
        """End every stream (the console is stopping)."""
        for feed in list(self._feeds.values()):
            feed.stop()


def sse(message: dict[str, str] | None) -> str:
    """One server-sent event: the parts as JSON, or ``end``."""
    if message is None:
        return "event: end\ndata: {}\n\n"
    return "data: " + json.dumps(message, separators=(",", ":")) + "\n\n"


async def stream(feed: Feed) -> AsyncIterator[str]:
    """The event stream of one listener of ``feed`` (ends with the feed, or when the browser leaves)."""
    queue = feed.listen()
    try:
        yield "retry: 3000\n\n"
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield sse(message)
            if message is None:
                return
    finally:
        feed.leave(queue)
