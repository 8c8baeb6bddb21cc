"""Rollback: drain what is in flight, then undo last-completed-first."""

from sagaline.saga import Fail, InvocationResult, Ok, Retry, Saga, StepError, input_, local, result, value

NOOP = lambda args, ctx: Ok()  # noqa: E731 - runs are answered by hand here


def undoable():
    return local(NOOP, undo=lambda v, a, c: Ok())


def fan_out_saga(**opts):
    """a -> (b, c, d concurrently) -> e"""
    s = Saga("fan_out", **opts)
    s.input("x")
    s.step("a", undoable(), args={"x": input_("x")})
    for name in "bcd":
        s.step(name, undoable(), args={"a": result("a")})
    s.step("e", undoable(), args={"b": result("b"), "c": result("c"), "d": result("d")})
    return s.build()


def test_completed_steps_are_undone_in_reverse_completion_order_not_declaration_order(manual):
    run = manual(fan_out_saga())
    run.start({"x": 1})
    run.answer("a")
    run.answer("d")
    run.answer("b")
    run.answer("c")
    run.answer("e", Fail(StepError("boom")))
    for expected in ["c", "b", "d", "a"]:
        assert run.undo_order()[-1] == expected
        run.answer(expected, Ok(), kind="undo")
    assert run.undo_order() == ["c", "b", "d", "a"]
    assert run.finished().status == "failed"
    assert run.finished().error.code == "boom"


def test_undo_waits_for_each_previous_undo_to_answer(manual):
    run = manual(fan_out_saga())
    run.start({"x": 1})
    for name in "abcd":
        run.answer(name)
    run.answer("e", Fail(StepError("boom")))
    assert run.undo_order() == ["d"]  # one at a time: c waits for d's answer
    run.answer("d", Ok(), kind="undo")
    assert run.undo_order() == ["d", "c"]


def test_steps_in_flight_are_drained_before_rollback_starts_and_a_late_success_is_undone(manual):
    run = manual(fan_out_saga())
    run.start({"x": 1})
    run.answer("a")
    assert {i.step for i in run.invokes(kind="run")} == {"a", "b", "c", "d"}
    run.answer("b", Fail(StepError("boom")))
    assert run.undo_order() == []  # c and d are still in flight
    assert run.state.status == "draining"
    run.answer("c")
    assert run.undo_order() == []
    run.answer("d", Fail(StepError("also")))
    assert run.undo_order() == ["c"]
    run.answer("c", Ok(), kind="undo")
    assert run.undo_order() == ["c", "a"]
    run.answer("a", Ok(), kind="undo")
    assert run.finished().status == "failed"
    assert run.finished().error.code == "boom"  # the first failure is the one reported
    assert "e" not in {i.step for i in run.invokes()}


def test_a_step_that_fails_after_its_retries_is_compensated_then_the_others_are_undone(manual):
    s = Saga("retrying")
    s.step("first", undoable())
    s.step(
        "flaky",
        local(NOOP, compensate=lambda reason, a, c: Ok(), undo=lambda v, a, c: Ok()),
        args={"f": result("first")},
        max_retries=2,
    )
    run = manual(s.build())
    run.start()
    run.answer("first")
    keys = []
    for attempt in range(3):
        keys.append(run.pending("flaky").key)
        run.answer("flaky", Retry("busy"))
        if attempt < 2:
            assert run.state.steps["flaky"].status == "retrying"
            run.fire_latest("flaky", "retry")
    assert len(run.invokes(kind="run")) == 4  # first + 3 attempts of flaky
    assert len(set(keys)) == 3  # each retry after a definite failure gets a new key
    comp = run.pending("flaky", "compensate")
    assert comp.reason.code == "retries_exceeded"
    assert run.undo_order() == []  # compensate first
    run.answer("flaky", Ok(), kind="compensate")
    assert run.undo_order() == ["first"]
    run.answer("first", Ok(), kind="undo")
    assert run.finished().status == "failed"
    assert run.state.steps["flaky"].status == "failed"


def test_compensate_continue_rescues_the_failing_step(manual):
    s = Saga("rescue")
    s.step("a", local(NOOP, compensate=lambda reason, a, c: Ok()))
    s.step("b", undoable(), args={"a": result("a")})
    s.returns("b")
    run = manual(s.build())
    run.start()
    run.answer("a", Fail(StepError("nope")))
    from sagaline.saga import Continue

    run.answer("a", Continue("fallback"), kind="compensate")
    assert run.pending("b").arguments == {"a": "fallback"}
    run.answer("b", Ok("done"))
    assert run.finished().status == "completed"
    assert run.finished().result == "done"


def test_a_skipped_step_is_not_undone(manual):
    s = Saga("guarded")
    s.input("flag")
    s.step("a", undoable())
    s.step("maybe", undoable(), args={"flag": input_("flag")}, where=lambda args: args["flag"])
    s.step("b", undoable(), args={"m": result("maybe"), "a": result("a")})
    run = manual(s.build())
    run.start({"flag": False})
    run.answer("a")
    assert run.state.steps["maybe"].status == "skipped"
    assert run.pending("b").arguments == {"m": None, "a": "a"}
    run.answer("b", Fail(StepError("x")))
    run.answer("a", Ok(), kind="undo")
    assert run.undo_order() == ["a"]
    assert run.finished().status == "failed"


def test_a_failed_undo_is_retried_then_the_run_ends_stuck_listing_it(manual):
    s = Saga("stubborn")
    s.step("a", local(NOOP, undo=lambda v, a, c: Ok()), undo_retries=2)
    s.step("b", undoable(), args={"a": result("a")})
    s.step("c", undoable(), args={"b": result("b")})
    run = manual(s.build())
    run.start()
    run.answer("a")
    run.answer("b")
    run.answer("c", Fail(StepError("boom")))
    run.answer("b", Ok(), kind="undo")
    for _ in range(3):
        run.answer("a", Fail(StepError("db_locked", retryable=True)), kind="undo")
        if run.state.steps["a"].status == "undoing":
            run.fire_latest("a", "retry")
    assert len([i for i in run.invokes(kind="undo") if i.step == "a"]) == 3
    fin = run.finished()
    assert fin.status == "stuck"
    assert fin.failed_compensations == ("a",)
    assert fin.error.code == "boom"


def test_an_operator_retry_of_a_stuck_run_finishes_the_rollback(manual):
    s = Saga("stubborn")
    s.step("a", undoable(), undo_retries=0)
    s.step("b", undoable(), args={"a": result("a")})
    run = manual(s.build())
    run.start()
    run.answer("a")
    run.answer("b", Fail(StepError("boom")))
    first_key = run.pending("a", "undo").key
    run.answer("a", Fail(StepError("down")), kind="undo")
    assert run.finished().status == "stuck"
    from sagaline.saga import RetryCompensations

    run.feed(RetryCompensations())
    assert run.pending("a", "undo").key != first_key
    run.answer("a", Ok(), kind="undo")
    assert run.finished().status == "failed"
    assert run.state.steps["a"].status == "undone"


def test_a_step_without_undo_is_left_alone_during_rollback(manual):
    s = Saga("mail")
    s.step("send", local(NOOP))  # mail cannot be unsent
    s.step("after", undoable(), args={"s": result("send")})
    s.step("boom", undoable(), args={"s": result("after")}, wait_for=["send"])
    run = manual(s.build())
    run.start()
    run.answer("send")
    run.answer("after")
    run.answer("boom", Fail(StepError("x")))
    run.answer("after", Ok(), kind="undo")
    assert run.undo_order() == ["after"]
    assert run.finished().status == "failed"
    assert run.state.steps["send"].status == "succeeded"


def test_cancel_drains_rolls_back_and_ends_cancelled(manual):
    from sagaline.saga import CancelRequested

    run = manual(fan_out_saga())
    run.start({"x": 1})
    run.answer("a")
    run.answer("b")
    run.feed(CancelRequested("operator"))
    assert run.state.status == "draining"
    run.answer("c")
    run.answer("d")
    assert "e" not in {i.step for i in run.invokes()}
    for step in ["d", "c", "b", "a"]:
        run.answer(step, Ok(), kind="undo")
    fin = run.finished()
    assert fin.status == "cancelled" and fin.error.message == "operator"


def test_a_cancel_after_completion_changes_nothing(manual):
    from sagaline.saga import CancelRequested

    s = Saga("one")
    s.step("a", undoable(), args={"v": value(1)})
    run = manual(s.build())
    run.start()
    run.answer("a")
    assert run.state.status == "completed"
    before = run.state
    assert run.feed(CancelRequested()) == []
    assert run.state is before


def test_a_stopping_run_interrupts_steps_in_flight_that_support_it_and_still_drains_them(manual):
    from sagaline.messages.base import Command
    from sagaline.saga import CancelRequested, CommandStep

    class StopWaiting(Command):
        """Test command."""

    waiting = CommandStep(
        "bridge", build=lambda a, c: None, build_interrupt=lambda a, c: StopWaiting(headers=c.headers())
    )
    s = Saga("long_wait")
    s.step("a", undoable())
    s.step("wait", waiting, args={"a": result("a")})
    s.step("quick", local(NOOP), args={"a": result("a")})
    run = manual(s.build())
    run.start()
    run.answer("a")
    run.feed(CancelRequested("operator"))
    [interrupt] = run.invokes(kind="interrupt")
    assert interrupt.step == "wait" and interrupt.key.endswith(":wait:interrupt:0")
    assert interrupt.run_key == run.pending("wait").key
    assert run.undo_order() == []  # still draining: the interrupted step has not answered
    run.feed(InvocationResult("wait", "interrupt", interrupt.key, Ok()))  # never awaited: ignored
    assert run.state.status == "draining"
    run.answer("quick")
    run.answer("wait", Fail(StepError("training_cancelled")))
    assert run.undo_order() == ["a"]


def test_a_halt_does_not_interrupt_steps_in_flight(manual):
    from sagaline.saga import CommandStep, Halt

    waiting = CommandStep("bridge", build=lambda a, c: None, build_interrupt=lambda a, c: None)
    s = Saga("halting")
    s.step("wait", waiting)
    s.step("pause", local(NOOP))
    run = manual(s.build())
    run.start()
    run.answer("pause", Halt("later"))
    assert run.invokes(kind="interrupt") == []
