"""The convention watch on both bases, fed Thespian's membership updates by hand: the members view, and on
the leader a lost member's leases expired in the journal and its pushed ``domain:*`` entries dropped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from thespian.actors import ActorSystemConventionUpdate

from sagaline.actors.convention import MEMBER_KEY, ConventionWatch
from sagaline.actors.convention_args import ConventionArgs
from sagaline.actors.spawn import start_actor
from sagaline.messages.admin import ListMembers
from sagaline.messages.registry import Register, Registered
from sagaline.registry.client import RegistryClient
from sagaline.saga.lease import owner_name, partition_resource
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.supervisors.spec import class_path
from tests.support.tree import start_probe, start_registry, wait_until

pytestmark = pytest.mark.timeout(60)
A, B = "host-a:7721", "host-b:7722"
ADMIN_A, ADMIN_B = "ActorAddr-(T|127.0.0.1:7721)", "ActorAddr-(T|127.0.0.3:7722)"
P0, P1 = partition_resource(0, 2), partition_resource(1, 2)


def _journal(tmp_path: Path) -> Path:
    """A journal where B's host holds partition 0 and A's partition 1, both for a minute."""
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal.open(path)
    try:
        now = time.time()
        assert journal.claim(P0, owner_name(B, 0, "n", ("127.0.0.3", 9000)), now, 60.0).granted
        assert journal.claim(P1, owner_name(A, 1, "n", ("127.0.0.1", 9001)), now, 60.0).granted
    finally:
        journal.close()
    return path


def _leases(path: Path) -> dict[str, float]:
    journal = SqliteJournal.open(path)
    try:
        return {lease.resource: lease.expires_at - time.time() for lease in journal.leases()}
    finally:
        journal.close()


def _update(admin: str, member: str, added: bool) -> ActorSystemConventionUpdate:
    return ActorSystemConventionUpdate(admin, {"sagaline.role": "member", "sagaline.member": member}, added)


def _watch(h, registry, path: Path, leader: bool):
    return start_actor(
        h, class_path(ConventionWatch), ConventionArgs(journal=str(path), leader=leader).model_dump(), registry=registry
    )


def test_the_leader_expires_a_lost_members_leases_and_drops_its_pushed_domains_and_nothing_else(actor_system, tmp_path):
    h, path = actor_system, _journal(tmp_path)
    probe, registry = start_probe(h), start_registry(h)
    for key, value in (("domain:link", {MEMBER_KEY: B}), ("domain:gate", {MEMBER_KEY: A}), ("domain:flow", None)):
        assert isinstance(h.ask(registry, Register(key=key, holder=probe, value=value, ttl_s=60.0), 5), Registered)
    watch = _watch(h, registry, path, leader=True)
    h.tell(watch, _update(ADMIN_A, A, True))
    h.tell(watch, _update(ADMIN_B, B, True))
    listed = wait_until(lambda: len(m := h.ask(watch, ListMembers(), 5).members) == 2 and m)
    assert {m["capabilities"]["member"] for m in listed} == {A, B}
    h.tell(watch, _update(ADMIN_B, B, False))
    client = RegistryClient(h, registry)
    wait_until(lambda: client.lookup("domain:link") == [])
    left = _leases(path)
    assert left[P0] <= 0 < 50 < left[P1]
    assert [m["admin"] for m in h.ask(watch, ListMembers(), 5).members] == [ADMIN_A]
    assert client.whereis("domain:gate") == probe and client.whereis("domain:flow") == probe


def test_a_member_hearing_its_leader_is_lost_touches_neither_leases_nor_registry(actor_system, tmp_path):
    h, path = actor_system, _journal(tmp_path)
    probe, registry = start_probe(h), start_registry(h)
    assert isinstance(h.ask(registry, Register(key="domain:link", holder=probe, value={MEMBER_KEY: B}), 5), Registered)
    watch = _watch(h, registry, path, leader=False)
    h.tell(watch, _update(ADMIN_B, B, True))
    h.tell(watch, _update(ADMIN_B, B, False))
    wait_until(lambda: h.ask(watch, ListMembers(), 5).members == [])
    assert RegistryClient(h, registry).whereis("domain:link") == probe
    assert _leases(path)[P0] > 50


def test_a_lost_member_that_declared_no_name_or_a_journal_that_fails_leaves_the_watch_running(actor_system, tmp_path):
    h = actor_system
    registry = start_registry(h)
    watch = _watch(h, registry, tmp_path, leader=True)  # a directory: the journal cannot open
    h.tell(watch, _update(ADMIN_B, "", True))
    h.tell(watch, _update(ADMIN_B, "", False))
    h.tell(watch, _update(ADMIN_A, A, True))
    h.tell(watch, _update(ADMIN_A, A, False))
    assert wait_until(lambda: h.ask(watch, ListMembers(), 5).members == [])
