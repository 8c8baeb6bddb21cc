"""Leases decided purely: acquire, renew, steal only after expiry, and fencing tokens that refuse a stale
owner; properties checked over random histories of claims by several hosts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaline.saga.lease import Lease, claim, may_write, partition_resource, renew_every

R = "partition:0/2"


def test_a_free_resource_is_acquired_with_token_one():
    out = claim(None, R, "a", 10.0, 5.0)
    assert (out.outcome, out.lease) == ("acquired", Lease(R, "a", 15.0, 1)) and out.granted


def test_the_owner_renews_keeping_its_token_even_after_expiry_when_nobody_took_it():
    held = Lease(R, "a", 15.0, 3)
    assert claim(held, R, "a", 12.0, 5.0).lease == Lease(R, "a", 17.0, 3)
    assert claim(held, R, "a", 20.0, 5.0).lease == Lease(R, "a", 25.0, 3)


def test_another_claimant_is_refused_while_the_lease_lives_and_steals_it_after_with_a_higher_token():
    held = Lease(R, "a", 15.0, 3)
    refused = claim(held, R, "b", 14.999, 5.0)
    assert (refused.outcome, refused.lease, refused.granted) == ("refused", held, False)
    stolen = claim(held, R, "b", 15.0, 5.0)
    assert (stolen.outcome, stolen.lease) == ("stolen", Lease(R, "b", 20.0, 4))


def test_only_the_current_owner_with_the_current_token_may_write():
    now = Lease(R, "b", 20.0, 4)
    assert may_write(now, "b", 4)
    assert not may_write(now, "a", 3)  # the old owner, back from a pause
    assert not may_write(now, "b", 3) and not may_write(None, "b", 4)


def test_bad_claims_are_refused_as_errors():
    with pytest.raises(ValueError, match="positive"):
        claim(None, R, "a", 0.0, 0.0)
    with pytest.raises(ValueError, match="given for"):
        claim(Lease("other", "a", 1.0, 1), R, "a", 0.0, 1.0)


def test_renewal_comes_three_times_per_lease_and_partitions_are_named_by_index_and_count():
    assert renew_every(3.0) == 1.0 and partition_resource(1, 4) == "partition:1/4"


claims = st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 10), st.floats(0.1, 10)), min_size=1, max_size=60)


def _history(steps):
    """Apply claims in time order; yield (now, claimant, claim, lease before)."""
    current, now = None, 0.0
    for who, advance, duration in steps:
        now += advance
        out = claim(current, R, who, now, duration)
        yield now, who, out, current
        current = out.lease


@given(claims)
def test_at_most_one_claimant_holds_a_live_lease_at_any_time(steps):
    for now, who, out, before in _history(steps):
        if before is not None and before.live(now) and before.owner != who:
            assert not out.granted and out.lease == before
        if out.granted:
            assert out.lease.owner == who and out.lease.live(now)


@given(claims)
def test_the_token_grows_exactly_when_the_owner_changes(steps):
    for _, _, out, before in _history(steps):
        if before is None:
            assert out.lease.token == 1
        elif out.lease.owner != before.owner:
            assert out.lease.token == before.token + 1
        else:
            assert out.lease.token == before.token


@given(claims)
def test_an_owner_replaced_since_can_never_write_again(steps):
    tokens: dict[str, int] = {}
    for _, who, out, _ in _history(steps):
        if out.granted:
            tokens[who] = out.lease.token
        current = out.lease
        for owner, token in tokens.items():
            assert may_write(current, owner, token) == (owner == current.owner and token == current.token)
            if owner != current.owner:
                assert not may_write(current, owner, token)
