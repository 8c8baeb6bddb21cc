"""What a client sees of a run (``shell.snapshot``): the same record for a running run and an ended one."""

from sagaline.saga import Fail, Ok, Saga, StepError, input_, local, result
from sagaline.saga.shell import snapshot

NOOP = lambda args, ctx: Ok()  # noqa: E731 - runs are answered by hand here


def three_steps(undo_retries: int = 0):
    s = Saga("three")
    s.input("x")
    s.input("label", default="none")
    s.step("a", local(NOOP, undo=lambda v, a, c: Ok()), args={"x": input_("x")}, undo_retries=undo_retries)
    s.step("b", local(NOOP, undo=lambda v, a, c: Ok()), args={"a": result("a")}, undo_retries=undo_retries)
    s.step("c", local(NOOP), args={"b": result("b")})
    s.returns("c")
    return s.build()


def test_a_completed_run_shows_its_inputs_with_defaults_its_result_and_each_steps_result_in_completion_order(manual):
    run = manual(three_steps())
    run.start({"x": 1})
    for name in "abc":
        run.answer(name, Ok(f"{name}-value"))
    shot = snapshot(run.state)
    assert (shot.status, shot.inputs, shot.result) == ("completed", {"x": 1, "label": "none"}, "c-value")
    assert [(s.name, s.result, s.completed_seq) for s in shot.steps] == [
        ("a", "a-value", 0),
        ("b", "b-value", 1),
        ("c", "c-value", 2),
    ]
    assert all(s.compensation_kind is None and s.compensation_attempts == 0 for s in shot.steps)
    assert (shot.error, shot.failed_step, shot.failed_compensations) == (None, None, [])


def test_a_failed_run_shows_the_failure_with_its_message_and_every_undo_with_its_attempts(manual):
    run = manual(three_steps())
    run.start({"x": 1})
    run.answer("a")
    run.answer("b")
    run.answer("c", Fail(StepError("boom", "it broke")))
    run.answer("b", Ok(), kind="undo")
    run.answer("a", Ok(), kind="undo")
    shot = snapshot(run.state)
    assert (shot.status, shot.failed_step) == ("failed", "c")
    assert shot.error["code"] == "boom" and shot.error["message"] == "it broke"
    steps = {s.name: s for s in shot.steps}
    assert steps["c"].error["message"] == "it broke" and steps["c"].result is None
    assert (steps["b"].status, steps["b"].compensation_kind, steps["b"].compensation_attempts) == ("undone", "undo", 1)
    assert steps["a"].result == "a"  # what was undone is still shown


def test_a_stuck_run_names_the_undo_that_failed_for_good_with_its_error_and_attempts(manual):
    run = manual(three_steps(undo_retries=1))
    run.start({"x": 1})
    run.answer("a")
    run.answer("b")
    run.answer("c", Fail(StepError("boom")))
    run.answer("b", Ok(), kind="undo")
    run.answer("a", Fail(StepError("undo_broke", "still there", retryable=True)), kind="undo")
    run.fire_latest("a", "retry")
    run.answer("a", Fail(StepError("undo_broke", "still there", retryable=True)), kind="undo")
    shot = snapshot(run.state)
    a = next(s for s in shot.steps if s.name == "a")
    assert (shot.status, shot.failed_compensations) == ("stuck", ["a"])
    assert (a.status, a.compensation_kind, a.compensation_attempts) == ("undo_failed", "undo", 2)
    assert a.compensation_error["message"] == "still there"


def test_a_cancelled_run_shows_why(manual):
    from sagaline.saga.signals import CancelRequested

    run = manual(three_steps())
    run.start({"x": 1})
    run.feed(CancelRequested("operator said so"))
    run.answer("a")
    run.answer("a", Ok(), kind="undo")
    shot = snapshot(run.state)
    assert (shot.status, shot.reason) == ("cancelled", "operator said so")
