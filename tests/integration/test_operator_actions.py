"""Operator actions through the saga supervisor: list runs, retry a stuck run's compensations,
resume a failed run by a successor (carrying over what survived its rollback)."""

from __future__ import annotations

from sagaline.hosts.saga_support import carry_over
from sagaline.messages.ids import uuid7
from sagaline.messages.saga import ListRuns, OperatorAnswer, ResumeRun, RetryCompensation
from sagaline.saga import Executor, Fail, InvocationResult, Ok, StepError
from tests.integration.crash.support import JournalView, effect_counts
from thunderline.testing import definition

SAGA = "user_provisioning"
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
NOTHING = {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0}


def _ask(t, message, timeout: float = 10.0):
    return t.handle.ask(t.tree.sagas, message, timeout)


def test_retry_compensation_rolls_a_stuck_run_back_again_until_it_ends_failed(make_tree):
    t = make_tree(
        faults={
            "block": [{"command": "ProvisionVault", "code": "vault_quota_exceeded"}],
            "link": [{"command": "LeaveCommunity", "code": "community_locked", "times": 1}],
        }
    )
    stuck = t.client.run(SAGA, {"email": "ada@example.com"})
    assert stuck.status == "stuck" and effect_counts(t.db, stuck.correlation_id)["memberships"] == 1
    answer = _ask(t, RetryCompensation(correlation_id=stuck.correlation_id))
    assert isinstance(answer, OperatorAnswer) and answer.accepted, answer
    out = t.client.wait(stuck.correlation_id, timeout=30)
    assert out.status == "failed" and out.failed_compensations == []
    assert effect_counts(t.db, stuck.correlation_id) == NOTHING
    assert _ask(t, ListRuns(status=["stuck"])).total == 0
    again = _ask(t, RetryCompensation(correlation_id=stuck.correlation_id))
    assert not again.accepted and again.status == "failed" and "only a stuck run" in again.message


def test_operator_actions_are_refused_for_unknown_running_or_unfit_runs(make_tree):
    t = make_tree(faults={"block": [{"command": "ProvisionVault", "action": "delay", "seconds": 0.5}]})
    running = t.client.start(SAGA, {"email": "ada@example.com"}).correlation_id
    busy = _ask(t, ResumeRun(correlation_id=running))
    unknown = _ask(t, RetryCompensation(correlation_id=uuid7()))
    completed = t.client.wait(running, timeout=30)
    resume_completed = _ask(t, ResumeRun(correlation_id=running))
    assert (busy.accepted, busy.status) == (False, "running")
    assert (unknown.accepted, unknown.status, unknown.message) == (False, "unknown", "no such run")
    assert completed.status == "completed"
    assert not resume_completed.accepted and "cannot be resumed" in resume_completed.message


def test_resume_of_a_failed_run_starts_a_successor_that_completes_it(make_tree):
    t = make_tree(faults={"block": [{"command": "ProvisionVault", "code": "vault_quota_exceeded", "times": 1}]})
    failed = t.client.run(SAGA, {"email": "ada@example.com"})
    assert failed.status == "failed" and effect_counts(t.db, failed.correlation_id) == NOTHING
    answer = _ask(t, ResumeRun(correlation_id=failed.correlation_id))
    assert answer.accepted and answer.successor and answer.status == "running", answer
    out = t.client.wait(answer.successor, timeout=30)
    assert out.status == "completed"
    assert effect_counts(t.db, answer.successor) == EVERYTHING
    page = _ask(t, ListRuns())
    rows = {s.correlation_id: s for s in page.runs}
    assert rows[failed.correlation_id].successor == answer.successor
    assert rows[answer.successor].resumed_from == failed.correlation_id
    # validate_email survived the rollback (it has no undo): carried over, not run again
    events = JournalView(t.db.data_dir).events(answer.successor)
    assert events[0] == "validate_email:run:ok" and "generate_token:run:ok" in events
    twice = _ask(t, ResumeRun(correlation_id=failed.correlation_id))
    assert not twice.accepted and twice.successor == answer.successor and "already resumed" in twice.message


def test_resume_from_an_unknown_step_is_refused_and_starts_nothing(make_tree):
    t = make_tree(faults={"block": [{"command": "ProvisionVault", "code": "vault_quota_exceeded"}]})
    failed = t.client.run(SAGA, {"email": "ada@example.com"})
    answer = _ask(t, ResumeRun(correlation_id=failed.correlation_id, from_step="no_such_step"))
    assert not answer.accepted and "no step 'no_such_step'" in answer.message
    assert _ask(t, ListRuns()).total == 1


def _rolled_back():
    """A UserProvisioning run (pure) that failed at provision_vault and was rolled back."""
    executor = Executor(definition(SAGA))
    state, _ = executor.start(uuid7(), {"email": "a@b.co"}, 0.0)
    values = {
        "validate_email": "a@b.co",
        "generate_token": {"token": "t"},
        "send_magic_link": {},
        "create_user": {"user_id": "u"},
        "create_default_community": {"m": 1},
    }
    for step in ("validate_email", "generate_token", "send_magic_link", "create_user", "create_default_community"):
        state, _ = executor.transition(
            state, InvocationResult(step, "run", state.steps[step].inflight, Ok(values[step])), 1.0
        )
    state, _ = executor.transition(
        state,
        InvocationResult("provision_vault", "run", state.steps["provision_vault"].inflight, Fail(StepError("quota"))),
        2.0,
    )
    while not state.terminal:  # the failing step's compensation, then the undos, all succeed
        step = next(s for s in state.steps.values() if s.status in ("compensating", "undoing"))
        kind = "compensate" if step.status == "compensating" else "undo"
        state, _ = executor.transition(state, InvocationResult(step.name, kind, step.inflight, Ok()), 3.0)
    return executor, state


def test_carry_over_keeps_only_results_the_rollback_left_whose_inputs_are_unchanged():
    executor, old = _rolled_back()
    assert old.status == "failed"
    # send_magic_link has no undo but depends on the undone token: it must run again
    assert carry_over(executor, old, "provision_vault") == {"validate_email": "a@b.co"}
    assert carry_over(executor, old, None) == {"validate_email": "a@b.co"}
    assert carry_over(executor, old, "validate_email") == {}


def _halted_history():
    """Journal writes of a UserProvisioning run whose create_user answered Halt (it drained and stopped)."""
    from sagaline.messages.saga import RunOutcome, StartSaga
    from sagaline.saga import Halt
    from sagaline.saga.journal import Begin, Finish, append_of

    executor, cid = Executor(definition(SAGA)), uuid7()
    state, _ = executor.start(cid, {"email": "ada@example.com"}, 1.0)
    writes = [Begin(StartSaga(saga=SAGA, inputs={"email": "ada@example.com"}, correlation_id=cid), 1, 1.0)]
    answers = [
        ("validate_email", Ok("ada@example.com")),
        ("generate_token", Ok({"token": "t", "email": "x"})),
        ("send_magic_link", Ok({})),
        ("create_user", Halt("gate in maintenance")),
    ]
    for seq, (step, outcome) in enumerate(answers, 1):
        event = InvocationResult(step, "run", state.steps[step].inflight, outcome)
        state, _ = executor.transition(state, event, 1.0 + seq)
        writes.append(append_of(cid, seq, 1.0 + seq, event, state))
    assert state.status == "halted"
    writes.append(Finish(cid, "halted", RunOutcome(correlation_id=cid, saga=SAGA, status="halted", finished_at=5.0)))
    return cid, writes


def test_resume_of_a_halted_run_continues_it_in_place_at_its_pending_steps(tmp_path):
    from tests.integration.crash.support import seed_journal, simple_life

    cid, writes = _halted_history()
    (tmp_path / "data").mkdir()
    seed_journal(tmp_path / "data" / "journal.sqlite", writes)
    with simple_life(tmp_path / "data", tmp_path / "logs") as t:
        listed = [s.correlation_id for s in _ask(t, ListRuns(status=["halted"])).runs]
        refused = _ask(t, ResumeRun(correlation_id=cid, from_step="validate_email"))
        resumed = _ask(t, ResumeRun(correlation_id=cid))
        out = t.client.wait(cid, timeout=30)
    assert listed == [cid]
    assert not refused.accepted and "pending steps" in refused.message
    assert resumed.accepted and resumed.successor is None
    assert out.status == "completed" and out.correlation_id == cid
    events = JournalView(t.db.data_dir).events(cid)
    assert events[3:5] == ["create_user:run:halt", "create_user:run:ok"]  # the same run, the halted step again
    assert t.db.rows("gate", "SELECT created_by_key FROM users") == [(f"{cid}:create_user:run:1",)]


def test_operator_actions_need_the_durable_journal(make_tree):
    from sagaline.messages.saga import SagaRefused

    t = make_tree(journal="memory")
    assert isinstance(_ask(t, ListRuns()), SagaRefused)
    answer = _ask(t, ResumeRun(correlation_id=uuid7()))
    assert not answer.accepted and "no durable journal" in answer.message
