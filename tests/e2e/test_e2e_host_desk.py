"""Starts and waits go from the client straight to the saga host of the run, and survive a host's restart."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from sagaline.client import Client
from sagaline.client.channel import ThespianChannel
from sagaline.client.locate import locate
from sagaline.messages import codec
from sagaline.messages.admin import AdminTree
from sagaline.messages.ids import uuid7
from sagaline.saga.placement import partition_of
from sagaline.testing.daemon import DaemonProcess
from tests.e2e.conftest import started_daemon, wait_until

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(120)]

HOSTS = 2


class SpyChannel(ThespianChannel):
    """The real channel, noting where each request went."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: list[tuple[Any, str]] = []

    def ask(self, address: Any, payload: bytes, timeout: float) -> Any:
        self.sent.append((address, type(codec.decode(payload)).__name__))
        return super().ask(address, payload, timeout)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> Iterator[DaemonProcess]:
    yield from started_daemon(tmp_path_factory.mktemp("desk"), {"runs": {"hosts": HOSTS}})


def _client(daemon: DaemonProcess) -> tuple[Client, SpyChannel]:
    channel = SpyChannel(locate(data_dir=daemon.data_dir))
    return Client(channel=channel), channel


def _cid(partition: int) -> str:
    while True:
        cid = uuid7()
        if partition_of(cid, HOSTS) == partition:
            return cid


def test_a_start_and_a_wait_go_to_the_runs_host_and_nowhere_else(daemon):
    client, channel = _client(daemon)
    with client:
        hosts = list(client._hosts)
        assert len(hosts) == HOSTS
        for partition in range(HOSTS):
            cid = _cid(partition)
            channel.sent.clear()
            started = client.start(
                "user_provisioning", {"email": f"desk-{partition}@example.com"}, correlation_id=cid, wait=True
            )
            assert started.outcome.status == "completed" and started.correlation_id == cid
            assert client.wait(cid).status == "completed"
            assert channel.sent == [(hosts[partition], "AdminStartSaga"), (hosts[partition], "AdminWaitRun")]
        again = client.start("user_provisioning", {"email": "desk-0@example.com"}, correlation_id=cid, wait=True)
        assert again.outcome.status == "completed" and again.outcome.started_at == started.outcome.started_at


def test_after_a_host_is_killed_the_client_finds_its_successor(daemon):
    client, channel = _client(daemon)
    with client:
        before = list(client._hosts)
        tree = client.request(AdminTree()).data["tree"]
        sagas = next(node for node in tree["children"] if node["id"] == "sagas")
        victim = next(node for node in sagas["children"] if node["id"] == "host:0")
        os.kill(victim["pid"], signal.SIGKILL)

        def restarted() -> bool:
            with Client(daemon.data_dir) as probe:
                hosts = probe._hosts
            return len(hosts) == HOSTS and hosts[0] != before[0]

        wait_until(restarted)
        cid = _cid(0)
        started = client.start("user_provisioning", {"email": "after-kill@example.com"}, correlation_id=cid, wait=True)
        assert started.outcome.status == "completed"
        assert (before[0], "AdminStartSaga") in channel.sent  # tried the old host, found it gone
        assert client._hosts and client._hosts[0] != before[0]
