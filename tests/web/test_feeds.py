"""Live views: one poll per view however many browsers listen, only changes pushed, an end."""

import asyncio

import pytest

from sagaline.client.errors import DaemonUnreachable
from sagaline.web.feeds import Hub, Parts, TooManyFeeds, sse, stream


class Script:
    """A render coroutine returning the parts given, one per poll (the last one repeats)."""

    def __init__(self, *results):
        self.results, self.polls = list(results), 0

    async def __call__(self):
        self.polls += 1
        result = self.results[0] if len(self.results) == 1 else self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


async def _take(queue, count, timeout=2.0):
    return [await asyncio.wait_for(queue.get(), timeout) for _ in range(count)]


def test_two_browsers_on_one_view_share_one_poll_and_get_only_changes():
    async def scenario():
        hub = Hub(poll_s=0.01)
        render = Script(Parts({"a": "1", "b": "x"}), Parts({"a": "2", "b": "x"}), Parts({"a": "2", "b": "x"}))
        feed = hub.feed("view", render)
        first, second = feed.listen(), hub.feed("view", render).listen()
        got = await _take(first, 2)
        assert got == [{"banner": "", "a": "1", "b": "x"}, {"a": "2"}]
        assert await _take(second, 2) == got
        await asyncio.sleep(0.05)
        assert first.empty() and render.polls >= 3
        feed.leave(first)
        feed.leave(second)
        polls = render.polls
        await asyncio.sleep(0.05)
        assert render.polls == polls and len(hub) == 0  # nobody listens: nothing is asked

    asyncio.run(scenario())


def test_a_late_browser_first_gets_what_is_known():
    async def scenario():
        hub = Hub(poll_s=0.01)
        feed = hub.feed("view", Script(Parts({"a": "1"})))
        first = feed.listen()
        await _take(first, 1)
        late = feed.listen()
        assert await _take(late, 1) == [{"banner": "", "a": "1"}]
        hub.close()

    asyncio.run(scenario())


def test_a_final_view_pushes_its_last_parts_then_ends_every_stream():
    async def scenario():
        hub = Hub(poll_s=0.01)
        feed = hub.feed("run", Script(Parts({"run": "running"}), Parts({"run": "completed"}, final=True)))
        queue = feed.listen()
        assert await _take(queue, 3) == [{"banner": "", "run": "running"}, {"run": "completed"}, None]

    asyncio.run(scenario())


def test_an_unreachable_daemon_shows_a_banner_until_it_answers_again():
    async def scenario():
        hub = Hub(poll_s=0.01)
        render = Script(DaemonUnreachable("no daemon on 127.0.0.1:7720", "unreachable"), Parts({"a": "1"}))
        queue = hub.feed("view", render).listen()
        banner, back = await _take(queue, 2)
        assert "no daemon on 127.0.0.1:7720" in banner["banner"] and back == {"banner": "", "a": "1"}
        hub.close()

    asyncio.run(scenario())


def test_live_views_are_capped():
    async def scenario():
        hub = Hub(poll_s=1, max_feeds=2)
        hub.feed(1, Script(Parts({})))
        hub.feed(2, Script(Parts({})))
        with pytest.raises(TooManyFeeds):
            hub.feed(3, Script(Parts({})))
        assert hub.feed(1, Script(Parts({}))) is not None

    asyncio.run(scenario())


def test_a_stream_frames_parts_as_events_and_ends_with_the_view():
    async def scenario():
        hub = Hub(poll_s=0.01)
        feed = hub.feed("run", Script(Parts({"run": "<b>done</b>"}, final=True)))
        return [chunk async for chunk in stream(feed)]

    chunks = asyncio.run(scenario())
    assert chunks == ["retry: 3000\n\n", 'data: {"banner":"","run":"<b>done</b>"}\n\n', "event: end\ndata: {}\n\n"]
    assert sse(None) == "event: end\ndata: {}\n\n"
