"""Dispatch: dependencies, concurrency, exclusive steps, timeouts, halts, stale events."""

import pytest

from sagaline.saga import (
    Fail,
    Halt,
    InputError,
    InvocationResult,
    Ok,
    ResumeRequested,
    Saga,
    StepError,
    TimerFired,
    input_,
    local,
    result,
)

NOOP = lambda args, ctx: Ok()  # noqa: E731


def chain(n=3, **step_opts):
    s = Saga("chain")
    prev = None
    for i in range(n):
        s.step(f"s{i}", local(NOOP, undo=lambda v, a, c: Ok()), args={"p": result(prev)} if prev else {}, **step_opts)
        prev = f"s{i}"
    s.returns(prev)
    return s.build()


def test_a_step_starts_only_when_every_dependency_succeeded(manual):
    run = manual(chain())
    cmds = run.start()
    assert [c.step for c in run.invokes(cmds)] == ["s0"]
    run.answer("s0", Ok(1))
    assert run.pending("s1").arguments == {"p": 1}


def test_the_run_result_is_the_returns_step_result(manual):
    run = manual(chain(2))
    run.start()
    run.answer("s0", Ok(1))
    run.answer("s1", Ok({"final": True}))
    assert run.finished().status == "completed"
    assert run.finished().result == {"final": True}


def test_no_more_than_max_concurrency_async_steps_are_in_flight(manual):
    s = Saga("wide", max_concurrency=2)
    for i in range(5):
        s.step(f"w{i}", local(NOOP))
    run = manual(s.build())
    run.start()
    assert len(run.invokes()) == 2
    run.answer("w0")
    assert len(run.invokes()) == 3


def test_an_exclusive_step_runs_alone(manual):
    s = Saga("exclusive")
    s.step("a", local(NOOP))
    s.step("solo", local(NOOP), run_async=False)
    s.step("b", local(NOOP))
    run = manual(s.build())
    run.start()
    assert [i.step for i in run.invokes()] == ["a"]
    run.answer("a")
    assert [i.step for i in run.invokes()] == ["a", "solo"]
    run.answer("solo")
    assert [i.step for i in run.invokes()] == ["a", "solo", "b"]


def test_a_timed_out_step_is_resent_with_the_same_idempotency_key(manual):
    run = manual(chain(1, timeout=2.0, max_retries=1))
    run.start()
    first = run.pending("s0")
    assert first.deadline == 2.0
    run.fire_latest("s0", "timeout")
    run.fire_latest("s0", "retry")
    second = run.pending("s0")
    assert second.key == first.key and second.attempt == 2


def test_a_step_that_keeps_timing_out_fails_indefinitely_and_is_compensated(manual):
    s = Saga("lost")
    s.step("a", local(NOOP, undo=lambda v, a, c: Ok(), compensate=lambda r, a, c: Ok()), timeout=1.0, max_retries=0)
    run = manual(s.build())
    run.start()
    run.fire_latest("a", "timeout")
    comp = run.pending("a", "compensate")
    assert comp.reason.code == "timeout" and comp.reason.indefinite
    assert comp.run_key == run.pending("a").key  # names the effect it reverses
    run.answer("a", Ok(), kind="compensate")
    assert run.finished().status == "failed"


def test_a_late_answer_to_a_timed_out_attempt_is_accepted_because_the_key_is_the_same(manual):
    run = manual(chain(1, timeout=1.0))
    run.start()
    key = run.pending("s0").key
    run.fire_latest("s0", "timeout")
    run.feed(InvocationResult("s0", "run", key, Ok("late")))
    assert run.state.steps["s0"].status == "succeeded"
    run.fire_latest("s0", "retry")  # the retry timer is now stale
    assert len(run.invokes()) == 1


def test_stale_timers_and_answers_to_superseded_keys_are_ignored(manual):
    run = manual(chain(1, timeout=1.0))
    run.start()
    old_timer = run.timers("timeout")[-1]
    run.answer("s0", Fail(StepError("x", retryable=True)))
    before = run.state
    assert run.feed(TimerFired(old_timer.token)) == []
    assert run.feed(InvocationResult("s0", "run", "not-the-key", Ok())) == []
    assert run.state is before


def test_halt_drains_then_resume_continues_from_the_halted_step(manual):
    run = manual(chain(2))
    run.start()
    run.answer("s0", Ok(1))
    run.answer("s1", Halt("maintenance"))
    assert run.finished().status == "halted"
    assert run.undo_order() == []
    run.feed(ResumeRequested())
    assert run.pending("s1").attempt == 1
    run.answer("s1", Ok(2))
    assert run.finished().status == "completed"


def test_a_bad_argument_path_fails_the_step_naming_the_argument(manual):
    s = Saga("paths")
    s.step("a", local(NOOP))
    s.step("b", local(NOOP), args={"uid": result("a", "user", "id")})
    run = manual(s.build())
    run.start()
    run.answer("a", Ok({"user": {}}))
    fin = run.finished()
    assert fin.status == "failed" and fin.error.code == "argument_error" and "uid" in fin.error.message


def test_missing_and_broken_inputs_are_all_named_and_nothing_starts(manual):
    s = Saga("inputs")
    s.input("email")
    s.input("count", transform=int)
    s.input("mode", required=False, default="fast")
    s.step("a", local(NOOP), args={"e": input_("email")})
    run = manual(s.build())
    with pytest.raises(InputError) as err:
        run.start({"count": "many", "extra": 1})
    names = {name for name, _ in err.value.problems}
    assert names == {"email", "count", "extra"}
    run.start({"email": "a@b.c", "count": "3"})
    assert run.state.inputs == {"email": "a@b.c", "count": 3, "mode": "fast"}


def test_after_a_timeout_a_transient_failure_keeps_the_key_because_the_first_send_may_have_landed(manual):
    s = Saga("uncertain")
    s.step("a", local(NOOP, undo=lambda v, a, c: Ok(), compensate=lambda r, a, c: Ok()), timeout=1.0, max_retries=2)
    run = manual(s.build())
    run.start()
    key = run.pending("a").key
    run.fire_latest("a", "timeout")
    run.fire_latest("a", "retry")
    run.answer("a", Fail(StepError("storage_unavailable", retryable=True)))
    run.fire_latest("a", "retry")
    assert run.pending("a").key == key and run.pending("a").attempt == 3
    run.answer("a", Fail(StepError("storage_unavailable", retryable=True)))
    comp = run.pending("a", "compensate")
    assert comp.reason.indefinite and comp.run_key == key  # compensated by key, never abandoned
