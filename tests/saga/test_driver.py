"""The in-process driver runs definitions end to end against plain Python."""

from sagaline.messages.common import CommandFailed
from sagaline.saga import CommandStep, Driver, Fail, Ok, Retry, Saga, StepError, local, result
from sagaline.saga.steps import reply_outcome
from tests.saga.support import Echo, EchoReply


def test_local_steps_retry_with_backoff_on_a_virtual_clock_and_complete():
    attempts = {"n": 0}

    def flaky(args, ctx):
        attempts["n"] += 1
        return Retry("busy") if attempts["n"] < 3 else Ok(attempts["n"])

    s = Saga("flaky")
    s.step("f", local(flaky))
    s.returns("f")
    report = Driver(s.build()).run({})
    assert report.status == "completed" and report.finished.result == 3
    assert [e.what for e in report.timeline].count("backoff") == 2
    assert report.timeline[-1].at > 0  # virtual time moved, no real sleep


def test_an_exception_in_a_step_is_a_failure_not_a_crash():
    s = Saga("raising")
    s.step("bad", local(lambda a, c: 1 / 0))
    report = Driver(s.build()).run({})
    assert report.status == "failed" and report.finished.error.code == "exception"
    assert "ZeroDivisionError" in report.finished.error.message


def test_a_callback_returning_outside_its_closed_set_is_a_bad_outcome():
    s = Saga("weird")
    s.step("w", local(lambda a, c: "not an outcome"))
    report = Driver(s.build()).run({})
    assert report.finished.error.code == "bad_outcome"


def test_command_steps_go_through_dispatch_and_replies_become_outcomes():
    sent = []

    def dispatch(target, command):
        sent.append((target, command))
        if command.text == "fail":
            return CommandFailed(headers=command.headers, code="nope", message="refused")
        return EchoReply(headers=command.headers, text=command.text.upper())

    def echo(text):
        return CommandStep(
            "echo",
            build=lambda a, ctx: Echo(headers=ctx.headers(), text=text),
            build_undo=lambda v, a, ctx: Echo(headers=ctx.headers(), text="undo"),
        )

    s = Saga("remote")
    s.step("one", echo("hi"))
    s.step("two", echo("fail"), args={"o": result("one")})
    report = Driver(s.build(), dispatch=dispatch).run({}, run_id=None)
    assert report.status == "failed" and report.finished.error.code == "nope"
    assert [c.text for _, c in sent] == ["hi", "fail", "undo"]
    assert all(t == "echo" for t, _ in sent)
    keys = [c.headers.idempotency_key for _, c in sent]
    assert keys[0].endswith(":one:run:0") and keys[2].endswith(":one:undo:0")
    assert all(c.headers.correlation_id == report.state.run_id for _, c in sent)


def test_a_lost_command_times_out_and_is_compensated_by_its_undo_command_with_the_run_key():
    sent = []

    def dispatch(target, command):
        sent.append(command)
        if command.text == "create":
            raise TimeoutError  # the message is lost
        return EchoReply(headers=command.headers, text="ok")

    step = CommandStep(
        "echo",
        build=lambda a, ctx: Echo(headers=ctx.headers(), text="create"),
        build_undo=lambda v, a, ctx: Echo(headers=ctx.headers(), text=f"delete {ctx.run_key}"),
    )
    s = Saga("lossy")
    s.step("create", step, timeout=1.0, max_retries=1)
    report = Driver(s.build(), dispatch=dispatch).run({})
    assert [c.text.split()[0] for c in sent] == ["create", "create", "delete"]
    assert sent[0].headers.idempotency_key == sent[1].headers.idempotency_key
    assert sent[2].text == f"delete {sent[0].headers.idempotency_key}"
    assert report.status == "failed" and report.finished.error.code == "timeout"


def test_reply_outcome_reads_command_failed_and_plain_replies():
    from sagaline.messages import Headers, uuid7

    h = Headers(correlation_id=uuid7())
    assert reply_outcome(EchoReply(headers=h, text="x")) == Ok({"text": "x"})
    failed = reply_outcome(CommandFailed(headers=h, code="c", message="m", retryable=True))
    assert failed == Fail(StepError("c", "m", retryable=True))
    assert reply_outcome("junk").error.code == "unexpected_reply"


def test_a_backoff_callback_that_raises_is_logged_and_the_default_backoff_applies(caplog):
    attempts = {"n": 0}

    def flaky(args, ctx):
        attempts["n"] += 1
        return Retry("busy") if attempts["n"] < 2 else Ok(attempts["n"])

    def broken(reason, args, ctx):
        raise ValueError("no delay today")

    s = Saga("broken_backoff")
    s.step("f", local(flaky, backoff=broken))
    s.returns("f")
    report = Driver(s.build()).run({})
    assert report.status == "completed" and report.finished.result == 2  # the run was not stalled
    said = [r for r in caplog.records if "backoff callback failed" in r.getMessage()]
    assert len(said) == 1 and "step f" in said[0].getMessage() and said[0].exc_info[0] is ValueError
