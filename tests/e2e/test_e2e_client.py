"""sagaline.Client (and AsyncClient) against the real daemon, and the health probes of the CLI."""

from __future__ import annotations

import asyncio

import pytest

from sagaline.client import AsyncClient, BadInput, Client, DaemonUnreachable, NotFound, Refused
from sagaline.messages.ids import uuid7
from sagaline.runtime.system import free_port
from sagaline.testing.daemon import CliRunner

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def client(daemon):
    with Client(daemon.data_dir) as connected:
        yield connected


def test_a_start_with_wait_answers_the_outcome_and_get_the_whole_record(client):
    started = client.start("user_provisioning", {"email": "client-a@example.com"}, wait=True)
    assert started.outcome.status == "completed" and not started.existing
    record = client.get(started.correlation_id)
    assert record.status == "completed" and record.ended and record.result is not None
    assert [s.name for s in record.steps][:2] == ["validate_email", "generate_token"]


def test_a_start_is_idempotent_by_correlation_id_and_causation_is_accepted(client):
    cid = uuid7()
    first = client.start(
        "user_provisioning", {"email": "client-b@example.com"}, correlation_id=cid, causation_id=uuid7()
    )
    again = client.start("user_provisioning", {"email": "client-b@example.com"}, correlation_id=cid)
    assert (first.correlation_id, first.existing, again.existing) == (cid, False, True)
    assert client.wait(cid).status == "completed"
    ended = client.start("user_provisioning", {"email": "client-b@example.com"}, correlation_id=cid, wait=True)
    assert (ended.existing, ended.outcome.status) == (True, "completed")  # the ended run's outcome, not a new run


def test_a_failed_run_is_listed_and_its_operator_actions_answer_or_refuse(client):
    client.start("user_provisioning", {"email": "client-c@example.com"}, wait=True)
    failed = client.start("user_provisioning", {"email": "client-c@example.com"}, wait=True)  # already registered
    assert failed.outcome.status == "failed" and failed.outcome.failed_step == "create_user"
    page = client.list(status="failed", saga="user_provisioning", limit=1)
    assert page.runs[0].correlation_id == failed.correlation_id and page.total >= 1
    with pytest.raises(Refused, match=r"not stuck|stuck"):
        client.retry(failed.correlation_id)
    assert client.cancel(failed.correlation_id).accepted is False
    resumed = client.resume(failed.correlation_id)
    assert resumed.accepted


def test_bad_input_unknown_runs_and_a_missing_daemon_are_the_errors_a_caller_catches(client):
    with pytest.raises(BadInput) as caught:
        client.start("user_provisioning", {})
    assert caught.value.reason == "invalid_input"
    with pytest.raises(BadInput):
        client.start("no_such_saga")
    with pytest.raises(NotFound):
        client.get(uuid7())
    with pytest.raises(DaemonUnreachable, match="no sagaline daemon is running"):
        Client(address=f"127.0.0.1:{free_port()}")


def test_the_async_client_starts_runs_concurrently(daemon):
    async def main():
        async with AsyncClient(daemon.data_dir) as client:
            return await asyncio.gather(
                *(client.start("user_provisioning", {"email": f"async-{i}@example.com"}, wait=True) for i in range(4))
            )

    assert [r.outcome.status for r in asyncio.run(main())] == ["completed"] * 4


def test_health_answers_live_and_ready_and_its_exit_code_serves_as_a_probe(daemon, client):
    health = client.health()
    assert (health.status, health.live, health.ready, health.problems) == ("ok", True, True, [])
    cli = CliRunner(daemon)
    assert cli("health", "--exit-code").exit_code == 0
    assert cli("health", "--exit-code", "--live").exit_code == 0
    assert "live yes, ready yes" in cli("health").stdout
    assert cli("health", "--exit-code", "--admin-port", str(free_port())).exit_code == 3
