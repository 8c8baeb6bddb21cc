"""AsyncRunner: a private loop in a daemon thread, driven by blocking calls."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from sagaline.storage.aio import AsyncRunner


async def _answer(value):
    await asyncio.sleep(0)
    return value


async def _fail():
    raise KeyError("boom")


def test_no_thread_exists_until_the_first_run():
    before = threading.active_count()
    runner = AsyncRunner()
    assert not runner.started and threading.active_count() == before
    assert runner.run(_answer(1)) == 1
    assert runner.started
    runner.close()


def test_run_returns_the_coroutines_result_on_another_thread(runner):
    async def where():
        return threading.current_thread().name

    assert runner.run(where(), 5) != threading.current_thread().name
    assert runner.run(_answer({"a": 1}), 5) == {"a": 1}


def test_run_reraises_the_coroutines_exception(runner):
    with pytest.raises(KeyError, match="boom"):
        runner.run(_fail(), 5)
    assert runner.run(_answer(2), 5) == 2  # the loop survives


def test_a_coroutine_that_overruns_its_timeout_is_cancelled(runner):
    cancelled = threading.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        runner.run(slow(), 0.05)
    assert cancelled.wait(2)


def test_run_works_from_a_thread_that_runs_its_own_loop(runner):
    async def caller():
        outer = asyncio.get_running_loop()
        inner = runner.run(_loop_of(), 5)
        return outer is not inner

    assert asyncio.run(caller()) is True


async def _loop_of():
    return asyncio.get_running_loop()


def test_close_stops_the_loop_joins_the_thread_and_refuses_later_runs():
    runner = AsyncRunner(name="closing")
    runner.run(_answer(0), 5)
    thread = runner._thread
    runner.close()
    assert thread is not None and not thread.is_alive()
    runner.close()  # idempotent
    coro = _answer(1)
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coro)


def test_close_cancels_work_still_running_on_the_loop():
    runner = AsyncRunner()
    stopped = threading.Event()

    async def forever():
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    asyncio.run_coroutine_threadsafe(forever(), runner._ensure_loop())
    runner.close()
    assert stopped.is_set()


def test_calling_run_from_the_loops_own_thread_is_refused_not_deadlocked(runner):
    async def reenter():
        inner = _answer(1)
        runner.run(inner)

    with pytest.raises(RuntimeError, match="own loop thread"):
        runner.run(reenter(), 5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_runner_started_before_a_fork_refuses_to_run_in_the_child(runner):
    runner.run(_answer(0), 5)
    pid = os.fork()
    if pid == 0:  # child: must refuse, never hang on the parent's dead thread
        try:
            runner.run(_answer(1), 1)
            os._exit(1)
        except RuntimeError:
            os._exit(0)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
