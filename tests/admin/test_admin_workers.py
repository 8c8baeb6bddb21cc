"""The admin workers against a stand-in saga supervisor: replies from another actor, late replies, busy
workers, timeouts that retire a worker, PoisonMessages answered, and a pool that keeps its size."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.admin.admin_args import EndpointArgs
from sagaline.messages import admin as m
from sagaline.messages import codec
from sagaline.messages.registry import Register
from sagaline.runtime import AskTimeout
from sagaline.runtime.system import ActorSystemHandle
from tests.support.admin_fakes import LATE, LATE_S
from tests.support.tree import wait_until

REGISTRY = "sagaline.registry.actor.Registry"
ENDPOINT = "sagaline.admin.endpoint.AdminEndpoint"
CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


class Pool:
    """A registry, a fake ``sagas`` and an admin endpoint with ``workers`` workers."""

    def __init__(self, handle: ActorSystemHandle, workers: int) -> None:
        self.handle = handle
        self.registry = start_actor(handle, REGISTRY)
        sagas = handle.create_actor("tests.support.admin_fakes.FakeSagas")
        handle.ask(self.registry, Register(key="sagas", holder=sagas), 10)
        args = EndpointArgs(workers=workers, facts={"pid": 1, "version": "t"}).model_dump()
        self.endpoint = start_actor(handle, ENDPOINT, args, registry=self.registry)

    def directory(self) -> m.AdminDirectory:
        return codec.decode(self.handle.ask(self.endpoint, codec.encode(m.AdminConnect()), 10))

    def ask(self, worker: Any, request: m.AdminRequest, timeout: float = 10.0) -> Any:
        return codec.decode(self.handle.ask(worker, codec.encode(request), timeout))


@pytest.fixture
def pool(actor_system) -> Pool:
    return Pool(actor_system, workers=2)


def test_the_directory_lists_every_started_worker(pool):
    directory = pool.directory()
    assert len(directory.workers) == 2 and directory.version == "t" and directory.daemon_pid == 1


def test_a_start_answered_by_another_actor_than_the_one_asked_is_matched_by_request(pool):
    worker = pool.directory().workers[0]
    answer = pool.ask(worker, m.AdminStartSaga(saga="fake", correlation_id=CID, wait=True))
    assert isinstance(answer, m.AdminResult) and answer.data["status"] == "completed"
    assert answer.data["correlation_id"] == CID


def test_a_request_sent_to_the_endpoint_is_answered_by_a_worker(pool):
    answer = codec.decode(pool.handle.ask(pool.endpoint, codec.encode(m.AdminWaitRun(correlation_id=CID)), 10))
    assert answer.data["status"] == "completed"


def test_a_poison_message_from_the_saga_supervisor_is_answered_and_the_worker_replaced(pool):
    worker = pool.directory().workers[0]
    answer = pool.ask(worker, m.AdminCancelRun(correlation_id=CID))
    assert isinstance(answer, m.AdminError) and answer.code == "internal" and "could not be handled" in answer.message
    wait_until(lambda: worker not in pool.directory().workers and len(pool.directory().workers) == 2)
    assert pool.ask(pool.directory().workers[0], m.AdminWaitRun(correlation_id=CID)).data["status"] == "completed"


@pytest.mark.multiproc
def test_a_timed_out_request_retires_its_worker_so_the_late_reply_never_answers_the_next(multiproc_actor_system):
    pool = Pool(multiproc_actor_system, workers=1)
    worker = pool.directory().workers[0]
    began = time.monotonic()
    late = pool.ask(worker, m.AdminWaitRun(correlation_id=LATE, timeout_s=0.3))
    assert late.code == "timeout" and "within 0.3 s (waited 0.3" in late.message and late.details["waited_s"] < 1
    assert time.monotonic() - began < LATE_S
    fresh = wait_until(lambda: [w for w in pool.directory().workers if w != worker])[0]
    assert pool.ask(fresh, m.AdminWaitRun(correlation_id=CID)).data["correlation_id"] == CID
    time.sleep(LATE_S)  # the late reply arrives now, at a worker that no longer exists
    assert pool.ask(fresh, m.AdminWaitRun(correlation_id=CID)).data["correlation_id"] == CID
    with pytest.raises(AskTimeout, match="could not be delivered"):  # the retired worker is gone
        multiproc_actor_system.ask(worker, codec.encode(m.AdminHealth()), 5.0)


@pytest.mark.multiproc
def test_a_worker_answering_a_request_answers_the_next_busy_and_a_forward_goes_to_another(multiproc_actor_system):
    pool = Pool(multiproc_actor_system, workers=2)
    first, _second = pool.directory().workers
    held = threading.Thread(target=pool.ask, args=(first, m.AdminWaitRun(correlation_id=LATE, timeout_s=1.0)))
    held.start()
    try:
        time.sleep(0.3)
        assert pool.ask(first, m.AdminHealth()).code == "busy"
        forwarded = codec.decode(
            multiproc_actor_system.ask(pool.endpoint, codec.encode(m.AdminWaitRun(correlation_id=CID)), 10)
        )
        assert forwarded.data["correlation_id"] == CID
    finally:
        held.join(10)


def test_a_worker_whose_requests_fault_in_pages_by_the_hundred_retires_and_is_forked_deeper(
    simple_actor_system, monkeypatch, caplog
):
    from sagaline.admin import worker as admin_worker

    faults = iter(range(0, 10**9, 500))  # 500 page faults per request: a thrashing frame stack
    monkeypatch.setattr(admin_worker, "_page_faults", lambda: next(faults))
    pool = Pool(simple_actor_system, workers=1)
    worker = pool.directory().workers[0]
    for _ in range(admin_worker.THRASH_WARMUP + admin_worker.THRASH_SAMPLE):
        assert pool.ask(worker, m.AdminWaitRun(correlation_id=CID)).data["status"] == "completed"
    replacement = wait_until(lambda: [w for w in pool.directory().workers if w != worker])
    assert len(replacement) == 1 and "its replacement is forked 1 frame(s) deeper" in caplog.text
    monkeypatch.setattr(admin_worker, "_page_faults", lambda: 0)
    assert pool.ask(replacement[0], m.AdminWaitRun(correlation_id=CID)).data["status"] == "completed"
