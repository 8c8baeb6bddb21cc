"""Only the process that started a system may stop it, create top-level actors, or end actors from outside.

A client is simulated in the test process by dropping the control token from
the environment while it acts (the token is read when a message is built).
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from thespian.actors import ActorExitRequest

from sagaline.actors.spawn import start_actor
from sagaline.runtime import NoSystemListening, guards, join_system
from sagaline.runtime.procs import pid_alive
from sagaline.runtime.system import _join, free_port
from sagaline.runtime.transport import installed_secret
from tests.support.actors import ProbePing, ProbePong

pytestmark = pytest.mark.multiproc
WORKER = "tests.support.actors.Worker"


@pytest.fixture
def as_a_client(monkeypatch):
    """While active, messages built here carry no control token (as in a CLI's process)."""
    token = os.environ[guards.TOKEN_VARIABLE]
    monkeypatch.delenv(guards.TOKEN_VARIABLE)
    yield
    monkeypatch.setenv(guards.TOKEN_VARIABLE, token)


def test_the_patched_thespian_names_are_still_where_the_guards_expect_them():
    from thespian.system import multiprocCommon
    from thespian.system.actorManager import ActorManager
    from thespian.system.admin.adminCore import AdminCore
    from thespian.system.admin.globalNames import GlobalNamesAdmin
    from thespian.system.messages.admin import PendingActor, PendingActorResponse

    assert callable(AdminCore.h_SystemShutdown) and callable(GlobalNamesAdmin.h_PendingActor)
    assert callable(ActorManager._handleOneMessage) and callable(multiprocCommon.multiprocessCommon._startAdmin)
    assert callable(multiprocCommon.startupASLogger) and PendingActorResponse.ERROR_Invalid_ActorClass
    guards.attach_tokens()
    assert getattr(PendingActor("X", None, 1, None, None), guards.TOKEN_ATTRIBUTE) == os.environ.get(
        guards.TOKEN_VARIABLE
    )


def test_a_client_cannot_shut_the_system_down(multiproc_actor_system, as_a_client):
    from thespian.system.messages.admin import SystemShutdown

    joined = join_system(multiproc_actor_system.admin_port)
    joined.tell(joined.asys._systemBase.adminAddr, SystemShutdown())  # what ActorSystem.shutdown() sends
    joined.close()
    time.sleep(0.5)
    assert pid_alive(multiproc_actor_system.admin_pid)
    os.environ[guards.TOKEN_VARIABLE] = "wrong"
    with pytest.raises(Exception, match="only the daemon creates"):
        start_actor(multiproc_actor_system, WORKER)


def test_a_client_can_find_a_global_name_but_never_create_one_or_any_top_level_actor(
    multiproc_actor_system, monkeypatch
):
    door = multiproc_actor_system.create_actor(WORKER, global_name="sagaline.test.door")
    token = os.environ.pop(guards.TOKEN_VARIABLE)
    try:
        assert multiproc_actor_system.create_actor(WORKER, global_name="sagaline.test.door") == door
        for name in ("sagaline.test.other", None):
            with pytest.raises(Exception, match="only the daemon creates"):
                multiproc_actor_system.create_actor(WORKER, global_name=name)
    finally:
        os.environ[guards.TOKEN_VARIABLE] = token


def test_an_actor_ignores_an_exit_request_from_a_client_and_the_systems_shutdown_still_ends_it(multiproc_actor_system):
    from sagaline.supervisors.spec import SupervisorFlags, child_spec

    supervisor = start_actor(
        multiproc_actor_system,
        "sagaline.supervisors.supervisor.Supervisor",
        {"flags": SupervisorFlags().model_dump(), "children": [child_spec("w", WORKER, {}, name="w").model_dump()]},
    )
    from sagaline.supervisors.api import WhichChildren

    child = multiproc_actor_system.ask(supervisor, WhichChildren(), 5).children[0]
    client = join_system(multiproc_actor_system.admin_port)  # another endpoint: neither parent nor admin
    client.tell(child.address, ActorExitRequest())
    client.tell(supervisor, ActorExitRequest())
    client.close()
    time.sleep(0.5)
    assert isinstance(multiproc_actor_system.ask(child.address, ProbePing(), 5), ProbePong)
    again = multiproc_actor_system.ask(supervisor, WhichChildren(), 5).children[0]
    assert (again.pid, again.restarts) == (child.pid, 0)


def test_a_join_where_no_admin_answers_fails_and_starts_nothing():
    port = free_port()
    with pytest.raises(NoSystemListening, match="never starts one"):
        _join(port, "127.0.0.1", installed_secret() or b"s" * 32)  # past the probes: Thespian would start one
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_logger_process_is_reported_and_alive(multiproc_actor_system):
    assert multiproc_actor_system.logger_pid in multiproc_actor_system.pids()
    assert pid_alive(multiproc_actor_system.logger_pid)
