"""What each admin request asks inside the daemon, driven with canned replies (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagaline.admin.conversations import CONVERSATIONS, Ask, NoAnswer, conversation, drive
from sagaline.apps import load_apps
from sagaline.messages import admin as a
from sagaline.messages.registry import CountResult, Entries, Entry, Lookup, Select
from sagaline.messages.saga import (
    AwaitRun,
    CancelAnswer,
    ListRuns,
    OperatorAnswer,
    RunOutcome,
    RunSnapshot,
    RunsPage,
    RunStatus,
    RunSummary,
    SagaAccepted,
    SagaRefused,
    StartSaga,
    StepSnapshot,
)
from sagaline.supervisors.api import ChildInfo, Children, WhichChildren

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"


def answering(table: dict):
    """An ``answer`` for :func:`drive`: by message type (a callable gets the ask)."""
    asked: list[Ask] = []

    def answer(ask: Ask):
        asked.append(ask)
        reply = table[type(ask.message)]
        return reply(ask) if callable(reply) else reply

    answer.asked = asked
    return answer


def child(id: str, type: str = "worker", status: str = "running", address=None, restarts: int = 0) -> ChildInfo:
    return ChildInfo(id=id, address=address, status=status, type=type, restarts=restarts, pid=100, name=None)


def test_every_admin_request_has_a_conversation():
    assert set(a.admin_requests().values()) == set(CONVERSATIONS)


def test_show_run_of_a_running_run_answers_its_steps():
    snapshot = RunSnapshot(
        correlation_id=CID,
        saga="s",
        status="running",
        started_at=1.0,
        steps=[StepSnapshot(name="one", status="running", attempts=1, started_at=1.5)],
    )
    answer = answering({RunStatus: snapshot})
    result = drive(conversation(a.AdminShowRun(correlation_id=CID)), answer)
    assert result.data["steps"][0]["name"] == "one" and result.data["status"] == "running"
    assert [x.target for x in answer.asked] == ["sagas"]


def test_show_run_of_an_ended_run_answers_its_outcome():
    outcome = RunOutcome(
        correlation_id=CID,
        saga="s",
        status="failed",
        failed_step="two",
        error={"code": "x", "message": "m"},
        started_at=1.0,
        finished_at=2.0,
    )
    answer = answering(
        {RunStatus: CancelAnswer(correlation_id=CID, accepted=False, status="failed"), AwaitRun: outcome}
    )
    result = drive(conversation(a.AdminShowRun(correlation_id=CID)), answer)
    assert (result.data["status"], result.data["failed_step"]) == ("failed", "two")


def test_an_unknown_run_is_not_found_and_a_refused_start_is_refused_with_the_supervisors_code():
    unknown = SagaRefused(code="unknown_run", message="no run")
    error = drive(conversation(a.AdminShowRun(correlation_id=CID)), answering({RunStatus: unknown}))
    assert (error.code, error.details["code"], error.request) == ("not_found", "unknown_run", "AdminShowRun")
    bad = SagaRefused(code="invalid_input", message="email: required")
    error = drive(conversation(a.AdminStartSaga(saga="user_provisioning")), answering({StartSaga: bad}))
    assert (error.code, error.details["code"], error.message) == ("refused", "invalid_input", "email: required")


def test_a_start_answers_the_run_or_with_wait_its_outcome():
    accepted = SagaAccepted(correlation_id=CID, saga="s", existing=False)
    result = drive(conversation(a.AdminStartSaga(saga="s", inputs={"k": 1})), answering({StartSaga: accepted}))
    assert result.data == {"correlation_id": CID, "saga": "s", "existing": False}
    answer = answering({StartSaga: RunOutcome(correlation_id=CID, saga="s", status="completed", result={"r": 1})})
    result = drive(conversation(a.AdminStartSaga(saga="s", wait=True, correlation_id=CID)), answer)
    assert result.data["status"] == "completed" and result.data["result"] == {"r": 1}
    assert answer.asked[0].message == StartSaga(saga="s", correlation_id=CID, wait=True)


def test_a_start_passes_the_causation_id_it_was_given_to_the_saga_supervisor():
    accepted = SagaAccepted(correlation_id=CID, saga="s", existing=False)
    answer = answering({StartSaga: accepted})
    drive(conversation(a.AdminStartSaga(saga="s", causation_id=CID)), answer)
    assert answer.asked[0].message == StartSaga(saga="s", causation_id=CID)


def test_list_runs_passes_the_filters_and_answers_the_page():
    page = RunsPage(runs=[RunSummary(correlation_id=CID, saga="s", status="running", started_at=1.0)], total=3)
    answer = answering({ListRuns: page})
    result = drive(conversation(a.AdminListRuns(status=["running"], saga="s", limit=1)), answer)
    assert answer.asked[0].message == ListRuns(status=["running"], saga="s", limit=1)
    assert result.data["total"] == 3 and result.data["runs"][0]["correlation_id"] == CID


def test_operator_actions_answer_what_the_supervisor_said():
    said = OperatorAnswer(correlation_id=CID, accepted=False, status="completed", message="not stuck")
    for request in (a.AdminRetryCompensation(correlation_id=CID), a.AdminResumeRun(correlation_id=CID)):
        result = drive(conversation(request), lambda ask: said)
        assert {k: result.data[k] for k in ("correlation_id", "accepted", "status", "message")} == {
            "correlation_id": CID,
            "accepted": False,
            "status": "completed",
            "message": "not stuck",
        }


def test_the_tree_walk_asks_each_supervisor_once_per_level_and_marks_the_silent():
    sagas, sub = object(), object()
    replies = {
        None: Children(children=(child("flow"), child("sagas", "supervisor", address=sagas, restarts=2))),
        id(sagas): Children(children=(child("saga-1"), child("sub", "supervisor", address=sub))),
    }

    def answer(ask: Ask):
        if ask.address is sub:
            return NoAnswer("sub")
        return replies[None if ask.target == "root" else id(ask.address)]

    tree = drive(conversation(a.AdminTree()), answer).data["tree"]
    assert [c["id"] for c in tree["children"]] == ["flow", "sagas"]
    sagas_node = tree["children"][1]
    assert sagas_node["restarts"] == 2 and [c["id"] for c in sagas_node["children"]] == ["saga-1", "sub"]
    assert sagas_node["children"][1]["unreachable"] is True
    assert "address" not in sagas_node


def test_health_is_degraded_when_a_root_child_is_not_running():
    children = Children(children=(child("flow"), child("gate", status="restarting")))

    def reply(ask):
        return children if isinstance(ask.message, WhichChildren) else CountResult(count=7)

    result = drive(conversation(a.AdminHealth(), {"pid": 1, "started_at": 0.0}), reply)
    assert result.data["status"] == "degraded" and result.data["registered"] == 7
    assert result.data["daemon"]["pid"] == 1 and result.data["daemon"]["uptime_s"] > 0


def test_registry_lookups_name_each_holder_by_its_place_in_the_tree_with_its_pid_and_status():
    holder, sagas = "addr-of-saga-1", "addr-of-sagas"
    entries = Entries(
        entries=(Entry(key="saga:x", holder=holder, value={"v": 1}), Entry(key="ghost", holder="addr-gone"))
    )
    tree = {
        None: Children(children=(child("sagas", "supervisor", address=sagas),)),
        sagas: Children(children=(child("saga-1", address=holder),)),
    }
    answer = answering(
        {a.AdminRegistryLookup: None, type(Lookup(key="k")): entries, WhichChildren: lambda ask: tree[ask.address]}
    )
    result = drive(conversation(a.AdminRegistryLookup(key="saga:x")), answer)
    first, ghost = result.data["entries"]
    assert first == {
        "key": "saga:x",
        "holder": holder,
        "value": {"v": 1},
        "holder_id": "root/sagas/saga-1",
        "pid": 100,
        "status": "running",
    }
    assert (ghost["holder_id"], ghost["pid"], ghost["status"]) == (None, None, None)


def test_a_registry_select_with_no_entries_does_not_walk_the_tree():
    answer = answering({type(Select()): Entries(entries=())})
    assert drive(conversation(a.AdminRegistrySelect(prefix="nothing:")), answer).data == {"entries": []}
    assert len(answer.asked) == 1


THUNDERLINE = {"catalog": load_apps(["thunderline.app:app"], entry_points=False)}


def test_the_catalog_lists_the_loaded_apps_sagas_with_typed_inputs_without_asking_anyone():
    result = drive(conversation(a.AdminCatalog(), THUNDERLINE), lambda ask: pytest.fail("asked"))
    assert [s["name"] for s in result.data["sagas"]] == ["cerebros_nas", "upm_activation", "user_provisioning"]
    saga = next(s for s in result.data["sagas"] if s["name"] == "cerebros_nas")
    max_trials = next(i for i in saga["inputs"] if i["name"] == "max_trials")
    assert (saga["app"], max_trials["type"], max_trials["required"], max_trials["default"]) == (
        "thunderline",
        "integer >= 1",
        False,
        3,
    )
    assert max_trials["schema"] == {"type": "integer", "minimum": 1}
    assert "register_snapshot" in [c["name"] for c in result.data["commands"]]


def test_the_catalog_of_one_saga_has_only_it_and_an_unknown_one_is_not_found():
    one = drive(conversation(a.AdminCatalog(saga="upm_activation"), THUNDERLINE), lambda ask: pytest.fail("asked"))
    missing = drive(conversation(a.AdminCatalog(saga="nope"), THUNDERLINE), lambda ask: pytest.fail("asked"))
    assert [s["name"] for s in one.data["sagas"]] == ["upm_activation"]
    assert (missing.code, "upm_activation" in missing.message) == ("not_found", True)


def test_a_daemon_without_apps_has_an_empty_catalog():
    result = drive(
        conversation(a.AdminCatalog(), {"catalog": load_apps([], entry_points=False)}), lambda ask: pytest.fail("asked")
    )
    assert (result.data["sagas"], result.data["commands"], result.data["apps"]) == ([], [], [])


def test_an_app_command_asks_its_domain_with_fresh_headers_and_answers_the_reply_without_them():
    from thunderline.messages.bolt import ListSnapshots, SnapshotsPage

    asked = []

    def answer(ask):
        asked.append(ask)
        return SnapshotsPage(headers=ask.message.headers, snapshots=[])

    result = drive(conversation(a.AdminAppCommand(command="list_snapshots"), THUNDERLINE), answer)
    [ask] = asked
    assert (ask.target, type(ask.message)) == ("domain:bolt", ListSnapshots)
    assert ask.message.headers.idempotency_key
    assert result.data == {
        "app": "thunderline",
        "command": "list_snapshots",
        "domain": "bolt",
        "reply": {"snapshots": []},
        "columns": [],
    }


def test_an_app_command_with_bad_arguments_is_invalid_and_asks_nobody():
    bad = a.AdminAppCommand(command="record_drift", args={"snapshot_id": "s", "score": "high"})
    result = drive(conversation(bad, THUNDERLINE), lambda ask: pytest.fail("asked"))
    assert result.code == "invalid"
    assert "score" in result.message


def test_an_unknown_app_command_is_not_found_and_a_domain_failure_is_refused_with_its_code():
    from sagaline.messages.common import CommandFailed

    unknown = drive(conversation(a.AdminAppCommand(command="nope"), THUNDERLINE), lambda ask: pytest.fail("asked"))
    failed = drive(
        conversation(
            a.AdminAppCommand(
                command="record_drift",
                args={
                    "snapshot_id": "s",
                    "score": 0.1,
                    "sample_count": 5,
                    "window_start": "2026-01-01T00:00:00Z",
                    "window_end": "2026-01-01T01:00:00Z",
                },
            ),
            THUNDERLINE,
        ),
        lambda ask: CommandFailed(headers=ask.message.headers, code="unknown_snapshot", message="no snapshot s"),
    )
    assert (unknown.code, "register_snapshot" in unknown.message) == ("not_found", True)
    assert (failed.code, failed.details["code"], failed.message) == ("refused", "unknown_snapshot", "no snapshot s")


def test_nas_runs_and_their_trials_are_the_apps_commands_of_bolt_and_bridge_with_their_columns():
    from thunderline.messages.bolt_models import ListModelRuns, ModelRunRecord, ModelRunsPage
    from thunderline.messages.bridge import ListTrials, TrialInfo, TrialsPage

    now = datetime(2026, 1, 1, tzinfo=UTC)
    run = ModelRunRecord(
        run_id="r1",
        dataset_id="digits",
        state="running",
        requested_trials=2,
        max_params=9,
        search_space={},
        created_at=now,
        updated_at=now,
    )

    def answer(ask: Ask):
        if isinstance(ask.message, ListModelRuns):
            assert ask.target == "domain:bolt" and ask.message.state == "running"
            return ModelRunsPage(headers=ask.message.headers, runs=[run])
        assert ask.target == "domain:bridge" and isinstance(ask.message, ListTrials) and ask.message.run_id == "r1"
        return TrialsPage(
            headers=ask.message.headers,
            trials=[TrialInfo(trial_id="t1", run_id="r1", state="running", epoch=2, epochs=4)],
        )

    runs = drive(
        conversation(a.AdminAppCommand(command="list_model_runs", args={"state": "running"}), THUNDERLINE), answer
    )
    trials = drive(conversation(a.AdminAppCommand(command="list_trials", args={"run_id": "r1"}), THUNDERLINE), answer)
    assert runs.data["reply"]["runs"][0]["run_id"] == "r1" and "state" in runs.data["columns"]
    assert trials.data["reply"]["trials"][0]["epoch"] == 2 and trials.data["columns"][:3] == [
        "trial_id",
        "run_id",
        "state",
    ]


def test_policy_decisions_are_crowns_app_command_and_a_bad_effect_or_limit_asks_nobody():
    from thunderline.messages.crown import DecisionsPage, ListDecisions

    def answer(ask: Ask):
        assert ask.target == "domain:crown" and isinstance(ask.message, ListDecisions)
        assert ask.message.effect == "deny" and ask.message.limit == 5
        return DecisionsPage(headers=ask.message.headers, decisions=[])

    result = drive(
        conversation(a.AdminAppCommand(command="list_decisions", args={"limit": 5, "effect": "deny"}), THUNDERLINE),
        answer,
    )
    assert (result.data["reply"], result.data["columns"][:3]) == ({"decisions": []}, ["decided_at", "action", "effect"])
    for args in ({"effect": "maybe"}, {"limit": 0}):
        bad = drive(
            conversation(a.AdminAppCommand(command="list_decisions", args=args), THUNDERLINE),
            lambda ask: pytest.fail("asked"),
        )
        assert bad.code == "invalid" and next(iter(args)) in bad.message


def test_every_ask_of_the_saga_supervisor_may_be_answered_by_anyone_of_an_expected_type():
    accepted = SagaAccepted(correlation_id=CID, saga="s", existing=False)
    answer = answering({StartSaga: accepted})
    drive(conversation(a.AdminStartSaga(saga="s")), answer)
    ask = answer.asked[0]
    assert ask.from_anyone and SagaAccepted in ask.replies and SagaRefused in ask.replies


def test_list_runs_pages_by_fetching_offset_plus_limit_rows():
    rows = [RunSummary(correlation_id=f"{i}", saga="s", status="completed", started_at=float(i)) for i in range(5)]
    answer = answering({ListRuns: RunsPage(runs=rows, total=9)})
    result = drive(conversation(a.AdminListRuns(limit=2, offset=3)), answer)
    assert answer.asked[0].message.limit == 5
    assert [r["correlation_id"] for r in result.data["runs"]] == ["3", "4"]
    assert (result.data["total"], result.data["offset"]) == (9, 3)


def test_show_run_of_an_ended_run_merges_its_journal_steps_and_its_outcome():
    snapshot = RunSnapshot(
        correlation_id=CID,
        saga="s",
        status="failed",
        started_at=1.0,
        finished_at=2.0,
        steps=[StepSnapshot(name="one", status="undone", attempts=1)],
    )
    outcome = RunOutcome(
        correlation_id=CID,
        saga="s",
        status="failed",
        failed_step="two",
        error={"code": "x"},
        started_at=1.0,
        finished_at=2.0,
    )
    result = drive(
        conversation(a.AdminShowRun(correlation_id=CID)), answering({RunStatus: snapshot, AwaitRun: outcome})
    )
    assert result.data["steps"][0]["name"] == "one" and result.data["failed_step"] == "two"
    alone = drive(
        conversation(a.AdminShowRun(correlation_id=CID)), answering({RunStatus: snapshot, AwaitRun: NoAnswer("sagas")})
    )
    assert alone.data["steps"][0]["name"] == "one" and alone.data["failed_step"] is None


def test_show_run_gives_the_failed_step_the_outcomes_error_message_when_the_journal_kept_only_its_code():
    snapshot = RunSnapshot(
        correlation_id=CID,
        saga="s",
        status="failed",
        started_at=1.0,
        finished_at=2.0,
        steps=[StepSnapshot(name="two", status="failed", attempts=1, error={"code": "boom"})],
    )
    outcome = RunOutcome(
        correlation_id=CID,
        saga="s",
        status="failed",
        failed_step="two",
        error={"code": "boom", "message": "it broke", "retryable": False},
    )
    result = drive(
        conversation(a.AdminShowRun(correlation_id=CID)), answering({RunStatus: snapshot, AwaitRun: outcome})
    )
    assert result.data["steps"][0]["error"] == {"code": "boom", "message": "it broke", "retryable": False}


def test_show_run_lists_steps_in_the_sagas_plan_order_not_as_the_journal_sorted_them():
    names = [
        "validate_email",
        "generate_token",
        "send_magic_link",
        "create_user",
        "provision_vault",
        "create_default_community",
        "emit_onboarding_event",
    ]
    snapshot = RunSnapshot(
        correlation_id=CID,
        saga="user_provisioning",
        status="running",
        started_at=1.0,
        steps=[StepSnapshot(name=n, status="pending", attempts=0) for n in sorted(names)],
    )
    result = drive(conversation(a.AdminShowRun(correlation_id=CID), THUNDERLINE), answering({RunStatus: snapshot}))
    assert [s["name"] for s in result.data["steps"]] == names


def test_list_runs_passes_the_id_prefix_and_time_range_to_the_journal():
    answer = answering({ListRuns: RunsPage(runs=[], total=0)})
    drive(conversation(a.AdminListRuns(id_prefix="01a2", started_after=5.0, started_before=9.0)), answer)
    query = answer.asked[0].message
    assert (query.id_prefix, query.started_after, query.started_before) == ("01a2", 5.0, 9.0)


def test_list_runs_of_a_saga_no_app_declares_and_no_run_has_is_refused_naming_the_known_ones():
    answer = answering({ListRuns: RunsPage(runs=[], total=0)})
    result = drive(conversation(a.AdminListRuns(saga="nosuch"), THUNDERLINE), answer)
    assert result.code == "invalid" and "no saga named 'nosuch'" in result.message
    assert "user_provisioning" in result.message


def test_list_runs_of_a_removed_saga_still_lists_its_runs():
    row = RunSummary(correlation_id=CID, saga="gone", status="needs_operator", started_at=1.0)
    result = drive(
        conversation(a.AdminListRuns(saga="gone"), THUNDERLINE), answering({ListRuns: RunsPage(runs=[row], total=1)})
    )
    assert [r["correlation_id"] for r in result.data["runs"]] == [CID]


def test_the_list_request_refuses_an_unknown_status():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs_operator"):
        a.AdminListRuns(status=["bogus"])


STUCK = RunSnapshot(
    correlation_id=CID,
    saga="s",
    status="stuck",
    started_at=1.0,
    steps=[
        StepSnapshot(name="a", status="undone", attempts=1),
        StepSnapshot(name="b", status="undo_failed", attempts=1),
        StepSnapshot(name="c", status="failed", attempts=1),
    ],
)


@pytest.mark.parametrize(
    "request_, text",
    [
        (
            a.AdminResumeRun(correlation_id=CID, from_step="nosuch"),
            "--from 'nosuch': run " + CID + " (saga s) has no such step; its steps: a, b, c",
        ),
        (a.AdminRetryCompensation(correlation_id=CID, steps=["nosuch"]), "--step 'nosuch': run"),
        (
            a.AdminRetryCompensation(correlation_id=CID, steps=["a"]),
            "--step 'a': its compensation did not fail (it is undone); the failed ones: b",
        ),
    ],
)
def test_operator_actions_naming_a_step_the_run_lacks_are_refused_as_invalid_before_anything_is_asked(request_, text):
    answer = answering({RunStatus: STUCK})
    result = drive(conversation(request_), answer)
    assert result.code == "invalid" and text in result.message
    assert [type(ask.message) for ask in answer.asked] == [RunStatus]


def test_an_operator_action_naming_a_step_that_fits_goes_through():
    answered = OperatorAnswer(correlation_id=CID, accepted=True, status="rolling_back", message="ok")
    from sagaline.messages.saga import RetryCompensation

    answer = answering({RunStatus: STUCK, RetryCompensation: answered})
    result = drive(conversation(a.AdminRetryCompensation(correlation_id=CID, steps=["b"])), answer)
    assert result.data["accepted"] is True


def _health(facts: dict, children=None, count=None):
    children = children or Children(children=(child("flow"),))

    def reply(ask):
        if isinstance(ask.message, WhichChildren):
            return children
        return count if count is not None else CountResult(count=3)

    return drive(conversation(a.AdminHealth(), facts), reply).data


def test_health_is_ok_live_and_ready_when_every_watched_process_runs_and_the_heartbeat_is_fresh():
    data = _health({"pid": 1, "watch": {"admin": 11}, "probes": {"alive": {"admin": True}, "heartbeat_age_s": 0.2}})
    assert (data["status"], data["live"], data["ready"], data["problems"]) == ("ok", True, True, [])
    assert "probes" not in data["daemon"] and "watch" not in data["daemon"]


def test_health_is_live_but_not_ready_while_a_root_child_restarts():
    data = _health({}, Children(children=(child("flow"), child("gate", status="restarting"))))
    assert (data["status"], data["live"], data["ready"]) == ("degraded", True, False)
    assert data["problems"] == ["gate is restarting"]


@pytest.mark.parametrize(
    "facts, count, problem",
    [
        (
            {"watch": {"logger": 12}, "probes": {"alive": {"logger": False}}},
            None,
            "the logger process (pid 12) is gone",
        ),
        ({"probes": {"heartbeat_age_s": 9.5}}, None, "the daemon's watch loop last ticked 9.5 s ago"),
        ({}, NoAnswer("registry"), "the registry did not answer"),
    ],
)
def test_health_is_down_when_the_daemon_is_not_live(facts, count, problem):
    data = _health(facts, count=count)
    assert (data["status"], data["live"], data["ready"]) == ("down", False, False)
    assert problem in data["problems"]


def _health_with_hosts(stats: dict):
    """Health where the registry lists hosts 0 and 1 and each answers ``stats[index]`` (a HostStats field set)."""
    from sagaline.messages.registry import Entries, Entry, Select
    from sagaline.messages.saga import GetHostStats, HostStats

    entries = Entries(entries=tuple(Entry(key=f"sagahost:{i}", holder=f"host-{i}") for i in (1, 0)))

    def reply(ask):
        if isinstance(ask.message, WhichChildren):
            return Children(children=(child("sagas", "supervisor"),))
        if isinstance(ask.message, Select):
            assert ask.message.key_prefix == "sagahost:" and ask.timeout_s == 2.0
            return entries
        if isinstance(ask.message, GetHostStats):
            assert ask.optional and ask.timeout_s == 2.0
            answer = stats[int(ask.address.split("-")[1])]
            if answer is None:
                return NoAnswer(ask.address)
            return HostStats(
                index=int(ask.address.split("-")[1]),
                runs=0,
                process_runs=0,
                recovering=0,
                commits=0,
                writes=0,
                largest_batch=0,
                commit_failures=0,
                envelopes=0,
                items=0,
                storage_fault=answer or None,
            )
        return CountResult(count=3)

    return drive(conversation(a.AdminHealth(), {}), reply).data


def test_health_is_ok_with_storage_ok_when_every_host_can_write_its_journal():
    data = _health_with_hosts({0: "", 1: ""})
    assert (data["status"], data["ready"]) == ("ok", True)
    assert data["storage"] == {
        "ok": True,
        "reason": None,
        "hosts": [{"index": 0, "fault": None, "answered": True}, {"index": 1, "fault": None, "answered": True}],
    }


def test_a_host_that_cannot_write_its_journal_makes_a_live_daemon_degraded_and_not_ready_with_the_reason():
    data = _health_with_hosts({0: "", 1: "disk full: /data has 0 bytes free"})
    assert (data["status"], data["live"], data["ready"]) == ("degraded", True, False)
    assert data["storage"]["ok"] is False
    assert data["storage"]["reason"] == "host 1: disk full: /data has 0 bytes free"
    assert data["problems"] == ["storage: host 1: disk full: /data has 0 bytes free"]


def test_a_host_that_does_not_answer_health_in_time_is_listed_but_is_no_storage_fault():
    data = _health_with_hosts({0: None, 1: ""})
    assert data["storage"]["ok"] is True and data["status"] == "ok"
    assert data["storage"]["hosts"][0] == {"index": 0, "fault": None, "answered": False}


def test_the_convention_view_shows_this_daemon_the_members_and_each_lease_with_its_holders_host():
    import time as clock

    from sagaline.messages.saga import LeaseList, ListLeases

    now = clock.time()
    leases = LeaseList(
        leases=[
            {"resource": "partition:0/2", "owner": "vm:7721/h0/ab@127.0.0.1:4001", "expires_at": now + 3, "token": 1},
            {"resource": "partition:1/2", "owner": "vm:7722/h1/cd@127.0.0.1:4002", "expires_at": now - 1, "token": 4},
        ]
    )
    members = a.MemberList(members=[{"admin": "ActorAddr-(T|:7721)", "role": "member", "capabilities": {"cores": 1}}])
    answer = answering({a.ListMembers: members, ListLeases: leases})
    facts = {"cluster": {"role": "leader", "member": "vm:7720"}}
    result = drive(conversation(a.AdminConvention(), facts), answer)
    assert result.data["self"] == facts["cluster"] and result.data["members"] == members.members
    first, second = result.data["leases"]
    assert first["member"] == "vm:7721" and first["host"] == "127.0.0.1:4001" and first["live"]
    assert second["member"] == "vm:7722" and not second["live"] and second["token"] == 4
    assert answer.asked[0].target == "convention" and answer.asked[0].optional


def test_the_convention_view_without_a_watch_lists_no_members_and_without_a_journal_is_refused():
    from sagaline.messages.saga import LeaseList, ListLeases

    quiet = answering({a.ListMembers: NoAnswer("convention"), ListLeases: LeaseList()})
    result = drive(conversation(a.AdminConvention(), {}), quiet)
    assert result.data == {"self": {}, "leases": [], "members": []}
    refused = SagaRefused(code="journal_unavailable", message="this tree keeps no durable journal")
    error = drive(conversation(a.AdminConvention(), {}), answering({a.ListMembers: NoAnswer("c"), ListLeases: refused}))
    assert error.code == "refused" and error.details["code"] == "journal_unavailable"
