"""What a team coming from Thunderline relies on, through the real daemon and CLI: one run per
correlation id (a second saga under a taken id is refused), a causation id given at start, ids in
any letter case, errors under their documented codes."""

from __future__ import annotations

import pytest

from sagaline.messages.ids import uuid7
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.multiproc


def test_the_same_saga_started_again_under_its_correlation_id_is_the_existing_run_named_by_its_saga(cli):
    cid = uuid7()
    first = cli.json("sagas", "start", "user_provisioning", "email=same@example.com", "--id", cid, "--wait")
    assert (first["status"], first["correlation_id"]) == ("completed", cid)
    again = cli.json("sagas", "start", "user_provisioning", "email=same@example.com", "--id", cid)
    assert (again["existing"], again["saga"], again["correlation_id"]) == (True, "user_provisioning", cid)


def test_two_sagas_started_under_one_correlation_id_the_second_is_refused_naming_the_saga_that_holds_it(cli):
    cid = uuid7()
    first = cli.json("sagas", "start", "user_provisioning", "email=holder@example.com", "--id", cid, "--wait")
    assert first["status"] == "completed"
    second = cli("sagas", "start", "upm_activation", "snapshot_id=snap-none", "--id", cid)
    assert second.exit_code == 8, second.stdout  # refused (the CLI's contract)
    assert "correlation_id_taken" in second.stderr
    assert "user_provisioning" in second.stderr and "completed" in second.stderr
    assert [r["saga"] for r in cli.json("sagas", "list", "--limit", "1000")["runs"] if r["correlation_id"] == cid] == [
        "user_provisioning"
    ]


def test_a_run_started_with_a_causation_id_and_an_upper_case_id_is_stored_lower_case_and_caused(cli):
    cid, cause = uuid7(), uuid7()
    out = cli.json(
        "sagas",
        "start",
        "user_provisioning",
        "email=caused@example.com",
        "--id",
        cid.upper(),
        "--causation-id",
        cause.upper(),
        "--wait",
    )
    assert (out["status"], out["correlation_id"]) == ("completed", cid)
    [event] = cli.json("events", "tail", "--cid", cid.upper(), "--prefix", "user.")["events"]
    assert (event["correlation_id"], event["causation_id"]) == (cid, cause)
    assert cli("sagas", "show", cid.upper()).exit_code == 0
    trace = wait_until(
        lambda: (lambda r: r if r.exit_code == 0 else None)(cli("runs", "trace", cid.upper())), timeout=10
    )
    assert f"run {cid}" in trace.stdout


def test_a_causation_id_given_as_an_input_is_refused_and_the_flag_is_the_way(cli):
    refused = cli("sagas", "start", "user_provisioning", "email=x@example.com", f"causation_id={uuid7()}")
    assert refused.exit_code in (1, 2) and "causation_id" in refused.stderr
    bad = cli("sagas", "start", "user_provisioning", "email=x@example.com", "--causation-id", "not-an-id")
    assert bad.exit_code == 2 and "invalid_causation_id" in bad.stderr  # bad input


def test_a_bad_search_space_fails_as_invalid_search_space(cli):
    out = cli.json(
        "sagas",
        "start",
        "cerebros_nas",
        "dataset_id=digits",
        'search_space:={"widths": [0]}',
        "--wait",
        "--timeout",
        "60",
    )
    assert (out["status"], out["failed_step"], out["error"]["code"]) == (
        "failed",
        "create_model_run",
        "invalid_search_space",
    )


def test_a_magic_link_redirect_to_another_host_is_refused_before_anything_starts(cli):
    refused = cli("sagas", "start", "user_provisioning", "email=r@example.com", "magic_link_redirect=//evil.example")
    assert refused.exit_code == 2 and "invalid_input" in refused.stderr and "local path" in refused.stderr
