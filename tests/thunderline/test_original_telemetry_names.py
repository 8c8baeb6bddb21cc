"""The original system's telemetry names, emitted beside ours for the Thunderline sagas: the pure
translation, then a real run on an in-process tree seen by a handler attached to the original names."""

from __future__ import annotations

import pytest

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.messages.ids import uuid7
from sagaline.telemetry import Collector
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import Telemetry, telemetry
from thunderline import telemetry as original
from thunderline.testing import thunderline_apps, tree_config

CID, CAUSE = uuid7(), uuid7()
META = {"saga": "user_provisioning", "correlation_id": CID, "causation_id": CAUSE}
MODULE = "Thunderline.Thunderbolt.Sagas.UserProvisioningSaga"


def names(translated):
    return [name for name, _, _ in translated]


def test_a_run_start_is_reactors_run_start_with_the_originals_module_as_saga_and_the_causation():
    [(name, measured, meta)] = original.translate(tn.SAGA_START, {"system_time": 5, "monotonic_time": 9}, META)
    assert (name, measured) == (original.RUN_START, {"system_time": 5})
    assert meta == {
        "saga": MODULE,
        "id": MODULE,
        "saga_name": "user_provisioning",
        "correlation_id": CID,
        "causation_id": CAUSE,
    }


@pytest.mark.parametrize(
    "ours, status, reactor, supervisor",
    [
        (tn.SAGA_COMPLETE, "completed", "ok", "success"),
        (tn.SAGA_FAIL, "failed", "error", "failure"),
        (tn.SAGA_CANCELLED, "cancelled", "error", "failure"),
        (tn.SAGA_STUCK, "stuck", "error", "failure"),
    ],
)
def test_a_run_end_is_reactors_run_stop_and_the_supervisors_saga_complete_with_count_one(
    ours, status, reactor, supervisor
):
    error = None if status == "completed" else {"code": "forced"}
    translated = original.translate(ours, {"duration": 1234}, {**META, "status": status, "error": error})
    assert names(translated) == [original.RUN_STOP, original.SUPERVISOR_COMPLETE]
    (_, stop_measured, stop), (_, counted, done) = translated
    assert stop_measured["duration"] == 1234 and stop["status"] == reactor
    assert stop.get("errors") == error
    assert counted == {"count": 1, "duration": 1234}
    assert (done["status"], done["saga"], done["causation_id"], done["run_status"]) == (
        supervisor,
        MODULE,
        CAUSE,
        status,
    )


def test_a_halted_run_stops_reactors_run_with_halt_and_is_no_completion():
    translated = original.translate(tn.SAGA_FAIL, {"duration": 1}, {**META, "status": "halted"})
    assert [(n, m["status"]) for n, _, m in translated] == [(original.RUN_STOP, "halt")]


@pytest.mark.parametrize(
    "ours, meta, name, status",
    [
        (tn.STEP_START, {}, original.STEP_RUN_START, "run"),
        (tn.STEP_STOP, {}, original.STEP_RUN_STOP, "ok"),
        (tn.STEP_EXCEPTION, {"kind": "fail", "reason": "forced"}, original.STEP_RUN_STOP, "error"),
        (tn.STEP_EXCEPTION, {"kind": "retry", "reason": "busy"}, original.STEP_RUN_STOP, "retry"),
        (tn.STEP_EXCEPTION, {"kind": "halt"}, original.STEP_RUN_STOP, "halt"),
        (tn.COMPENSATE, {}, original.COMPENSATE_START, "compensate"),
        (tn.COMPENSATE_STOP, {"outcome": "continue"}, original.COMPENSATE_STOP, "ok"),
        (tn.COMPENSATE_STOP, {"outcome": "fail"}, original.COMPENSATE_STOP, "error"),
        (tn.UNDO, {}, original.UNDO_START, "undo"),
        (tn.UNDO_STOP, {"outcome": "retry"}, original.UNDO_STOP, "retry"),
    ],
)
def test_step_events_become_reactors_step_events_with_its_statuses(ours, meta, name, status):
    [(translated, measured, md)] = original.translate(ours, {"duration": 7}, {**META, "step": "create_user", **meta})
    assert (translated, md["status"], md["step"], md["saga"]) == (name, status, "create_user", MODULE)
    assert "system_time" in measured and (name[-1] == "start" or measured["duration"] == 7)


def test_another_apps_saga_and_events_outside_the_list_are_not_translated():
    assert original.translate(tn.SAGA_START, {}, {**META, "saga": "place_order"}) == []
    assert original.translate(tn.SUPERVISOR_RESTART, {"count": 1}, META) == []


def test_attaching_twice_is_one_handler_and_the_translation_goes_to_the_same_telemetry():
    source, seen = Telemetry(), Collector()
    original.attach(source)
    original.attach(source)
    source.attach_many("seen", original.ORIGINAL_EVENTS, seen)
    source.execute(tn.SAGA_COMPLETE, {"duration": 3}, {**META, "status": "completed"})
    assert source.handlers().count(original.HANDLER_ID) == 1
    assert seen.names() == [original.RUN_STOP, original.SUPERVISOR_COMPLETE]
    assert original.detach(source) and not original.detach(source)


@pytest.fixture
def seen():
    thunderline_apps()  # loading the app attaches the translation in this process
    collector = Collector()
    telemetry.attach_many("test-original-names", original.ORIGINAL_EVENTS, collector)
    yield collector
    telemetry.detach("test-original-names")


def test_a_real_run_that_rolls_back_is_seen_under_the_original_names(simple_actor_system, tmp_path, seen):
    tree = start_tree(simple_actor_system, tree_config(tmp_path, faults={"link": [{"command": "JoinCommunity"}]}))
    out = SagaClient(simple_actor_system, tree.sagas).run("user_provisioning", {"email": "ada@example.com"})
    assert out.status == "failed"
    events = [(name, md) for name, _, md in seen.events if md["correlation_id"] == out.correlation_id]
    assert events[0][0] == original.RUN_START and {md["saga"] for _, md in events} == {MODULE}
    [(_, done)] = [(n, md) for n, md in events if n == original.SUPERVISOR_COMPLETE]
    assert done["status"] == "failure"
    [(_, stop)] = [(n, md) for n, md in events if n == original.RUN_STOP]
    assert stop["status"] == "error" and stop["errors"]["code"] == "community_join_failed"
    runs = [(n[-1], md["step"]) for n, md in events if n in (original.STEP_RUN_START, original.STEP_RUN_STOP)]
    assert sorted(runs) == sorted(
        [
            (edge, step)
            for step in (
                "validate_email",
                "generate_token",
                "send_magic_link",
                "create_user",
                "provision_vault",
                "create_default_community",
            )
            for edge in ("start", "stop")
        ]
    )
    undone = [md["step"] for n, md in events if n == original.UNDO_STOP]
    assert undone == ["provision_vault", "create_user", "generate_token"]
    assert [md["step"] for n, md in events if n == original.COMPENSATE_STOP] == ["create_default_community"]


def test_a_run_started_with_a_causation_id_carries_it_in_the_original_events(simple_actor_system, tmp_path, seen):
    tree = start_tree(simple_actor_system, tree_config(tmp_path))
    cause = uuid7()
    out = SagaClient(simple_actor_system, tree.sagas).run(
        "user_provisioning", {"email": "bo@example.com"}, causation_id=cause
    )
    assert out.status == "completed"
    mine = [md for _, _, md in seen.events if md["correlation_id"] == out.correlation_id]
    assert mine and {md["causation_id"] for md in mine} == {cause}
