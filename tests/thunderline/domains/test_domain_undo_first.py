"""An undo that overtakes its effect wins: the late effect is refused, nothing is orphaned."""

from __future__ import annotations

import pytest

from sagaline.messages.common import CommandFailed
from thunderline.messages.block import DeprovisionVault, ProvisionVault
from thunderline.messages.gate import CreateUser, DeleteUser, IssueToken, RevokeToken
from thunderline.messages.link import JoinCommunity, LeaveCommunity

USER = "01900000-0000-7000-8000-000000000001"

CASES = {
    "gate user": (
        "gate",
        lambda h: CreateUser(headers=h, email="ada@example.org"),
        lambda h, k: DeleteUser(headers=h, effect_key=k),
        "users",
    ),
    "gate token": (
        "gate",
        lambda h: IssueToken(headers=h, email="ada@example.org"),
        lambda h, k: RevokeToken(headers=h, effect_key=k),
        "tokens",
    ),
    "block vault": (
        "block",
        lambda h: ProvisionVault(headers=h, user_id=USER),
        lambda h, k: DeprovisionVault(headers=h, effect_key=k),
        "vaults",
    ),
    "link membership": (
        "link",
        lambda h: JoinCommunity(headers=h, user_id=USER),
        lambda h, k: LeaveCommunity(headers=h, effect_key=k),
        "memberships",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_command_arriving_after_its_undo_is_refused_and_has_no_effect(request, run, saga, case, store_location):
    domain, do, undo, table = CASES[case]
    service = request.getfixturevalue(domain)
    run(service.handle(undo(saga.headers("undo"), saga.key("do"))))
    late = run(service.handle(do(saga.headers("do"))))
    assert isinstance(late, CommandFailed) and late.code == "undone_before_applied"
    assert late.headers.idempotency_key == saga.key("do")
    assert run(service.store.rows_per_key())[table] == {}


@pytest.mark.parametrize("case", CASES)
def test_a_command_resent_after_its_undo_gets_its_first_answer_and_is_not_reapplied(
    request, run, saga, case, store_location
):
    domain, do, undo, table = CASES[case]
    service = request.getfixturevalue(domain)
    first = run(service.handle(do(saga.headers("do"))))
    run(service.handle(undo(saga.headers("undo"), saga.key("do"))))
    assert run(service.handle(do(saga.headers("do")))) == first
    # A revoked token stays as a record; every other undo removes its row.
    kept = {saga.key("do"): 1} if table == "tokens" else {}
    assert run(service.store.rows_per_key())[table] == kept
