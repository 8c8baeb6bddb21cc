"""Building definitions: checks that name the culprit, the plan, compose, Mermaid."""

import pytest

from sagaline.saga import (
    CycleError,
    DefinitionError,
    Driver,
    Ok,
    Saga,
    UnknownDependencyError,
    input_,
    local,
    plan,
    result,
    to_mermaid,
    value,
)

NOOP = local(lambda args, ctx: Ok())


def test_a_result_of_an_unknown_step_is_a_plan_error_naming_both_steps():
    s = Saga("bad")
    s.step("a", NOOP, args={"x": result("ghost")})
    with pytest.raises(UnknownDependencyError) as err:
        s.build()
    assert (err.value.step, err.value.missing) == ("a", "ghost")
    assert "'a'" in str(err.value) and "'ghost'" in str(err.value)


def test_waiting_for_an_unknown_step_is_a_plan_error():
    s = Saga("bad")
    s.step("a", NOOP, wait_for=["nowhere"])
    with pytest.raises(UnknownDependencyError, match="nowhere"):
        s.build()


def test_a_dependency_cycle_is_a_plan_error_naming_the_cycle():
    s = Saga("loop")
    s.step("start", NOOP)
    s.step("a", NOOP, args={"c": result("c")}, wait_for=["start"])
    s.step("b", NOOP, args={"a": result("a")})
    s.step("c", NOOP, args={"b": result("b")})
    with pytest.raises(CycleError) as err:
        s.build()
    assert set(err.value.cycle) == {"a", "b", "c"}
    assert err.value.cycle[0] == err.value.cycle[-1]
    assert "start" not in err.value.cycle


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda s: s.step("dup", NOOP) or s.step("dup", NOOP), "declared twice"),
        (lambda s: s.step("Bad-Name", NOOP), "lowercase identifier"),
        (lambda s: s.step("a", NOOP, args={"x": input_("nope")}), "unknown input 'nope'"),
        (lambda s: s.step("a", NOOP, max_retries=-1), "max_retries"),
        (lambda s: s.step("a", NOOP, timeout=0), "timeout"),
        (lambda s: s.step("a", object()), "impl"),
        (lambda s: s.step("a", NOOP) or s.returns("zzz"), "returns"),
    ],
)
def test_invalid_definitions_raise_one_error_naming_the_field(mutate, fragment):
    s = Saga("broken")
    mutate(s)
    with pytest.raises(DefinitionError, match=fragment):
        s.build()


def test_the_plan_orders_dependencies_first_and_keeps_declaration_order_otherwise():
    s = Saga("order")
    s.step("late", NOOP, args={"e": result("early")})
    s.step("early", NOOP)
    s.step("other", NOOP)
    p = plan(s.build())
    assert p.order == ("early", "late", "other")
    assert p.deps["late"] == {"early"}
    assert p.descendants("early") == {"late"}


def test_a_composed_saga_runs_inside_the_parent_and_yields_its_result():
    inner = Saga("inner")
    inner.input("n", transform=int)
    inner.step("double", local(lambda a, c: Ok(a["n"] * 2)), args={"n": input_("n")})
    inner.returns("double")
    outer = Saga("outer")
    outer.step("seed", local(lambda a, c: Ok("21")))
    outer.compose("calc", inner.build(), args={"n": result("seed")})
    outer.step("report", local(lambda a, c: Ok(f"got {a['v']}")), args={"v": result("calc")})
    outer.returns("report")
    definition = outer.build()
    assert {"calc.inputs", "calc.double", "calc"} <= {s.name for s in definition.steps}
    report = Driver(definition).run({})
    assert report.status == "completed" and report.finished.result == "got 42"


def test_mermaid_shows_every_step_input_and_edge():
    s = Saga("shown")
    s.input("email")
    s.step("check", NOOP, args={"email": input_("email")})
    s.step(
        "save",
        local(lambda a, c: Ok(), undo=lambda v, a, c: Ok()),
        args={"c": result("check"), "k": value(1)},
        timeout=5,
    )
    s.step("tell", NOOP, wait_for=["save"])
    text = to_mermaid(s.build())
    assert text.startswith("flowchart TD")
    assert 'i_email(["input email"])' in text
    assert "i_email -->|email| s_check" in text
    assert "s_check -->|c| s_save" in text
    assert "s_save -.-> s_tell" in text
    assert "timeout 5s" in text and 's_save[["' in text  # undoable: double border
