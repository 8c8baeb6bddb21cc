"""Block vaults and link memberships: effects, duplicates, undo by effect key."""

from __future__ import annotations

from sagaline.messages.common import CommandFailed
from thunderline.messages.block import DeprovisionVault, ProvisionVault, VaultDeprovisioned, VaultProvisioned
from thunderline.messages.link import CommunityJoined, CommunityLeft, JoinCommunity, LeaveCommunity

USER = "01900000-0000-7000-8000-000000000001"


def provision(run, block, saga, step="vault", **kw):
    return run(block.handle(ProvisionVault(headers=saga.headers(step), user_id=USER, **kw)))


def test_a_vault_is_one_gib_standard_and_encrypted_by_default(run, block, saga):
    reply = provision(run, block, saga)
    assert isinstance(reply, VaultProvisioned)
    assert (reply.user_id, reply.capacity_bytes, reply.tier, reply.encrypted) == (USER, 1073741824, "standard", True)
    [vault] = run(block.vaults(USER))
    assert (vault.id, vault.created_by_key, vault.correlation_id) == (
        reply.vault_id,
        saga.key("vault"),
        saga.correlation_id,
    )


def test_a_duplicate_provision_returns_the_same_vault_and_adds_no_row(run, block, saga):
    first = provision(run, block, saga)
    assert provision(run, block, saga) == first
    assert run(block.store.rows_per_key()) == {"vaults": {saga.key("vault"): 1}}


def test_a_vault_for_an_unknown_user_is_not_blocks_business(run, block, saga):
    assert isinstance(provision(run, block, saga), VaultProvisioned)  # no user table here


def test_an_impossible_capacity_is_refused_and_remembered(run, block, saga):
    refused = provision(run, block, saga, capacity_bytes=0)
    assert isinstance(refused, CommandFailed) and refused.code == "vault_provisioning_failed"
    assert provision(run, block, saga) == refused and run(block.vaults()) == []


def test_deprovisioning_by_effect_key_removes_the_vault(run, block, saga):
    vault_id = provision(run, block, saga).vault_id
    reply = run(block.handle(DeprovisionVault(headers=saga.headers("undo"), effect_key=saga.key("vault"))))
    assert isinstance(reply, VaultDeprovisioned) and reply.vault_id == vault_id
    assert run(block.vaults()) == []


def test_deprovisioning_a_vault_never_made_succeeds_with_no_id(run, block, saga):
    reply = run(block.handle(DeprovisionVault(headers=saga.headers("undo"), effect_key="nothing")))
    assert isinstance(reply, VaultDeprovisioned) and reply.vault_id is None


def join(run, link, saga, step="join", user=USER, **kw):
    return run(link.handle(JoinCommunity(headers=saga.headers(step), user_id=user, **kw)))


def test_the_default_community_exists_after_start(run, link):
    assert [c.name for c in run(link.communities())] == ["general"]


def test_joining_without_a_community_joins_the_default_as_member(run, link, saga):
    reply = join(run, link, saga)
    [general] = run(link.communities())
    assert isinstance(reply, CommunityJoined)
    assert (reply.community_id, reply.user_id, reply.role) == (general.id, USER, "member")
    [m] = run(link.memberships(USER))
    assert (m.id, m.created_by_key) == (reply.membership_id, saga.key("join"))


def test_a_duplicate_join_returns_the_same_membership_and_adds_no_row(run, link, saga):
    first = join(run, link, saga)
    assert join(run, link, saga) == first
    assert run(link.store.rows_per_key()) == {"memberships": {saga.key("join"): 1}}


def test_a_second_membership_of_the_same_pair_or_an_unknown_community_fails(run, link, saga):
    join(run, link, saga)
    twice = join(run, link, saga, "join-again")
    nowhere = join(run, link, saga, "join-nowhere", community_id="no-such-community")
    assert [twice.code, nowhere.code] == ["community_join_failed"] * 2
    assert len(run(link.memberships())) == 1


def test_leaving_by_effect_key_removes_only_that_membership(run, link, saga):
    mine = join(run, link, saga).membership_id
    join(run, link, saga, "other", user="01900000-0000-7000-8000-000000000002")
    reply = run(link.handle(LeaveCommunity(headers=saga.headers("leave"), effect_key=saga.key("join"))))
    assert isinstance(reply, CommunityLeft) and reply.membership_id == mine
    assert [m.created_by_key for m in run(link.memberships())] == [saga.key("other")]


def test_leaving_a_membership_never_made_succeeds_with_no_id(run, link, saga):
    reply = run(link.handle(LeaveCommunity(headers=saga.headers("leave"), effect_key=saga.key("join"))))
    assert isinstance(reply, CommunityLeft) and reply.membership_id is None


def test_a_join_before_start_still_finds_the_configured_default(run, tmp_path, clock, saga):
    from thunderline.domains.link import LinkConfig, LinkService
    from thunderline.storage.link_store import LinkStore

    store = run(LinkStore.open(tmp_path / "other.db"))
    try:
        service = LinkService(store, clock, LinkConfig(default_community="lobby"))
        reply = join(run, service, saga)
        assert [(c.id, c.name) for c in run(service.communities())] == [(reply.community_id, "lobby")]
    finally:
        run(store.close())
