"""The admin endpoint on both bases: every bad request gets an error, nothing changes, it keeps serving."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from sagaline.actors.spawn import start_actor
from sagaline.admin.admin_args import EndpointArgs
from sagaline.daemon.tree import start_tree
from sagaline.messages import codec
from sagaline.messages.admin import (
    ADMIN_DOOR_NAME,
    ADMIN_MAX_BYTES,
    AdminAppCommand,
    AdminDoorInit,
    AdminError,
    AdminHealth,
    AdminListRuns,
    AdminRegistryLookup,
    AdminResult,
    AdminStartSaga,
    AdminWaitRun,
)
from sagaline.messages.registry import Lookup
from sagaline.messages.saga import StartSaga
from sagaline.runtime import MULTIPROC, SIMPLE
from sagaline.runtime.guards import TOKEN_VARIABLE
from sagaline.supervisors.spec import child_spec
from sagaline.testing.plugin import running_system
from thunderline.app import SPEC
from thunderline.testing import tree_config

ENDPOINT = "sagaline.admin.endpoint.AdminEndpoint"
DOOR = "sagaline.admin.door.AdminDoor"


class Admin:
    """A root tree with the admin endpoint, its door, and helpers to ask them."""

    def __init__(self, handle: Any, data_dir, faults: dict | None = None) -> None:
        self.handle, self.data_dir = handle, data_dir
        spec = child_spec("admin", ENDPOINT, {"facts": {"pid": 1, "apps": [SPEC]}, "workers": 3}, name="admin")
        self.tree = start_tree(
            handle,
            tree_config(
                data_dir, extra_children=(spec,), faults=faults or {}, domain_config={"flow": {"mode": "raise"}}
            ),
        )
        self.door = handle.create_actor(DOOR, global_name=ADMIN_DOOR_NAME)
        self.token = os.environ.get(TOKEN_VARIABLE, "")
        assert handle.ask(self.door, AdminDoorInit(registry=self.tree.registry, token=self.token), 10).endpoint_found

    def raw(self, payload: Any, to: Any = None, timeout: float = 10.0) -> Any:
        return self.handle.ask(to or self.door, payload, timeout)

    def ask(self, request: Any, to: Any = None, timeout: float = 10.0) -> Any:
        return codec.decode(self.raw(codec.encode(request), to, timeout))

    def users(self) -> int:
        conn = sqlite3.connect(f"file:{self.data_dir / 'gate.sqlite'}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        finally:
            conn.close()


@pytest.fixture(scope="module", params=[SIMPLE, pytest.param(MULTIPROC, marks=pytest.mark.multiproc)])
def admin(request, tmp_path_factory) -> Iterator[Admin]:
    """One tree per base for the whole module (a multiprocess tree takes seconds to start)."""
    system = running_system(request.param, tmp_path_factory.mktemp("actors"))
    handle = next(system)
    try:
        yield Admin(handle, tmp_path_factory.mktemp("admin") / "data")
    finally:
        next(system, None)


BAD_BYTES = [
    pytest.param(b"\xc1", "malformed", "not valid msgpack", id="never-used-byte"),
    pytest.param(b"definitely not msgpack", "malformed", "not valid msgpack", id="text"),
    pytest.param(codec.pack_value({"a": 1}), "malformed", "[tag, version, payload]", id="wrong-shape"),
    pytest.param(codec.pack_value(["DropTables", 1, {}]), "unknown_request", "DropTables", id="unknown-tag"),
    pytest.param(
        codec.encode(AdminResult(request="x", data={})),
        "unknown_request",
        "not an admin request",
        id="a-reply-not-a-request",
    ),
    pytest.param(codec.pack_value(["AdminListRuns", 99, {}]), "unsupported_version", "version 99", id="version"),
    pytest.param(codec.pack_value(["AdminListRuns", 1, {"limit": 0}]), "invalid", "limit", id="bad-field"),
    pytest.param(
        codec.pack_value(["AdminStartSaga", 1, {"saga": "user_provisioning", "inputs": ["email"]}]),
        "invalid",
        "inputs",
        id="bad-inputs",
    ),
    pytest.param(
        codec.pack_value(["AdminStartSaga", 1, {"saga": "user_provisioning", "evil": 1}]),
        "invalid",
        "evil",
        id="unknown-field",
    ),
    pytest.param(b"\x92" + b"\x00" * ADMIN_MAX_BYTES, "too_large", "exceeds the limit", id="oversized"),
]


@pytest.mark.parametrize("payload, code, words", BAD_BYTES)
def test_bad_request_bytes_get_an_error_in_bytes_and_the_endpoint_keeps_serving(admin, payload, code, words):
    users = admin.users()
    answer = codec.decode(admin.raw(payload))
    assert isinstance(answer, AdminError) and answer.code == code and words in answer.message
    assert admin.ask(AdminHealth()).data["status"] == "ok"
    assert admin.users() == users


@pytest.mark.parametrize(
    "payload, code",
    [
        pytest.param(42, "malformed", id="not-bytes-or-a-model"),
        pytest.param({"saga": "user_provisioning"}, "malformed", id="a-dict"),
        pytest.param(
            StartSaga(saga="user_provisioning", inputs={"email": "ada@example.com"}),
            "unknown_request",
            id="a-saga-command-not-an-admin-request",
        ),
        pytest.param(AdminListRuns.model_construct(status=[], saga=None, limit=0), "invalid", id="unvalidated-model"),
        pytest.param(
            AdminStartSaga(saga="user_provisioning", inputs={"blob": "x" * ADMIN_MAX_BYTES}),
            "too_large",
            id="oversized-model",
        ),
    ],
)
def test_bad_request_objects_get_an_error_model_and_change_nothing(admin, payload, code):
    users = admin.users()
    answer = admin.raw(payload)
    assert isinstance(answer, AdminError) and answer.code == code
    assert admin.ask(AdminHealth()).data["status"] == "ok"
    assert admin.users() == users


def test_a_model_request_is_answered_with_a_model(admin):
    answer = admin.raw(AdminRegistryLookup(key="sagas"))
    assert isinstance(answer, AdminResult) and answer.data["entries"][0]["key"] == "sagas"


def test_the_endpoint_itself_answers_like_its_door(admin):
    endpoint = admin.handle.ask(admin.tree.registry, Lookup(key="admin"), 5).entries[0].holder
    assert admin.ask(AdminHealth(), to=endpoint).data["status"] == "ok"
    assert codec.decode(admin.raw(b"junk", to=endpoint)).code == "malformed"


def test_an_app_command_for_a_domain_that_does_not_run_is_unavailable(admin):
    answer = admin.ask(AdminAppCommand(command="list_decisions"))
    assert answer.code == "unavailable" and "domain:crown" in answer.message


def test_a_valid_start_after_many_bad_requests_runs_and_completes(admin):
    users = admin.users()
    for payload, _, _ in (p.values for p in BAD_BYTES):
        admin.raw(payload)
    request = AdminStartSaga(saga="user_provisioning", inputs={"email": "bo@example.com"}, wait=True)
    out = admin.ask(request, timeout=60)
    assert out.data["status"] == "completed" and admin.users() == users + 1


def test_a_door_the_daemon_has_not_opened_yet_answers_starting_and_stays(admin):
    early = admin.handle.create_actor(DOOR)
    for _ in range(2):
        answer = codec.decode(admin.handle.ask(early, codec.encode(AdminHealth()), 10))
        assert answer.code == "starting" and "try again" in answer.message
    assert admin.handle.ask(early, AdminDoorInit(registry=admin.tree.registry, token=admin.token), 10).endpoint_found
    assert admin.ask(AdminHealth(), to=early).data["status"] == "ok"


def test_the_door_refuses_a_second_init_and_keeps_serving(admin):
    answer = admin.raw(AdminDoorInit(registry=None, token=admin.token))
    assert isinstance(answer, AdminError) and answer.code == "refused" and "second" in answer.message
    assert admin.ask(AdminHealth()).data["status"] == "ok"


def test_an_endpoint_without_workers_answers_busy(admin):
    endpoint = start_actor(admin.handle, ENDPOINT, EndpointArgs(workers=0).model_dump(), registry=admin.tree.registry)
    assert admin.ask(AdminHealth(), to=endpoint).code == "busy"


@pytest.mark.multiproc
def test_a_request_that_outlives_its_time_is_answered_timeout_and_the_run_goes_on(multiproc_actor_system, tmp_path):
    admin = Admin(
        multiproc_actor_system,
        tmp_path / "data",
        faults={"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 1.0}]},
    )
    started = admin.ask(AdminStartSaga(saga="user_provisioning", inputs={"email": "ada@example.com"}))
    cid = started.data["correlation_id"]
    late = admin.ask(AdminWaitRun(correlation_id=cid, timeout_s=0.2))
    assert late.code == "timeout" and "sagas" in late.message
    assert admin.ask(AdminWaitRun(correlation_id=cid), timeout=60).data["status"] == "completed"


def test_a_stray_reply_sent_to_the_endpoint_is_dropped_not_answered(admin):
    from sagaline.messages.supervision import Unrecognized
    from sagaline.runtime import AskTimeout

    if not admin.handle.multiprocess:
        pytest.skip("an unanswered ask only times out on a multiprocess base")
    endpoint = admin.handle.ask(admin.tree.registry, Lookup(key="admin"), 5).entries[0].holder
    with pytest.raises(AskTimeout):
        admin.handle.ask(endpoint, Unrecognized(message_type="AdminError", actor="Someone"), 1.0)
    assert admin.ask(AdminHealth(), to=endpoint).data["status"] == "ok"
