"""Pooled endpoints: lent again after an answer, closed after a timeout or a failure."""

import threading

import pytest

from sagaline.runtime.endpoints import EndpointPool


class FakeEndpoint:
    def __init__(self, answers):
        self.answers, self.closed, self.asked = answers, False, 0

    def ask(self, address, message, timeout):
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def exit_clone(self):
        self.closed = True


class FakeSystem:
    def __init__(self, answers):
        self.made: list[FakeEndpoint] = []
        self.answers = answers

        class Base:
            def external_clone(inner):
                endpoint = FakeEndpoint(self.answers)
                self.made.append(endpoint)
                return endpoint

        self._systemBase = Base()


@pytest.fixture(autouse=True)
def _bare_external_context(monkeypatch):
    import thespian.actors

    monkeypatch.setattr(thespian.actors, "ExternalContext", lambda base: base)


def test_an_answered_endpoint_is_lent_again():
    system = FakeSystem(["a", "b", "c"])
    pool = EndpointPool(system)
    assert [pool.ask("x", "m", 1) for _ in range(3)] == ["a", "b", "c"]
    assert len(system.made) == 1 and system.made[0].asked == 3 and not system.made[0].closed


def test_an_endpoint_whose_ask_timed_out_is_closed_and_never_lent_again():
    system = FakeSystem([None, "late?"])
    pool = EndpointPool(system)
    assert pool.ask("x", "m", 1) is None
    assert system.made[0].closed
    assert pool.ask("x", "m", 1) == "late?" and len(system.made) == 2  # a fresh endpoint


def test_an_endpoint_whose_transport_failed_is_closed_and_the_error_raised():
    system = FakeSystem([OSError("gone")])
    pool = EndpointPool(system)
    with pytest.raises(OSError):
        pool.ask("x", "m", 1)
    assert system.made[0].closed


def test_close_closes_idle_endpoints_and_those_lent_out_when_they_return():
    system = FakeSystem(["a", "b"])
    pool = EndpointPool(system)
    pool.ask("x", "m", 1)
    gate, inside = threading.Event(), threading.Event()
    original = FakeEndpoint.ask

    def slow(self, address, message, timeout):
        inside.set()
        gate.wait(5)
        return original(self, address, message, timeout)

    FakeEndpoint.ask = slow
    try:
        worker = threading.Thread(target=pool.ask, args=("x", "m", 1))
        worker.start()
        inside.wait(5)
        pool.close()  # the only endpoint is lent out
        assert not system.made[0].closed
        gate.set()
        worker.join(5)
    finally:
        FakeEndpoint.ask = original
    assert system.made[0].closed


def test_at_most_keep_idle_endpoints_are_kept():
    system = FakeSystem(["a"] * 3)
    pool = EndpointPool(system, keep=1)
    endpoints = [pool._take() for _ in range(3)]
    for endpoint in endpoints:
        pool._give(endpoint)
    assert [e.closed for e in endpoints] == [False, True, True]
