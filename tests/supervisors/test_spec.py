"""Child specs and flags are validated data with OTP defaults."""

import pytest
from pydantic import ValidationError

from sagaline.supervisors import spec as specs
from sagaline.supervisors.spec import InvalidSpec, child_spec, shutdown_ms, supervisor_spec


def test_defaults_follow_otp():
    worker = child_spec("w", "pkg.mod.Worker")
    assert (worker.restart, worker.type, shutdown_ms(worker)) == ("permanent", "worker", 5000)
    sup = supervisor_spec("s", [worker])
    assert sup.type == "supervisor" and shutdown_ms(sup) is None  # infinity
    flags = specs.SupervisorFlags()
    assert (flags.strategy, flags.max_restarts, flags.max_seconds) == ("one_for_one", 3, 5.0)


def test_brutal_kill_and_explicit_timeouts_are_kept():
    assert shutdown_ms(child_spec("w", "a.B", shutdown="brutal_kill")) == "brutal_kill"
    assert shutdown_ms(child_spec("w", "a.B", shutdown=250)) == 250


@pytest.mark.parametrize(
    "fields,bad_field",
    [
        (dict(id="", start="a.B"), "id"),
        (dict(id="x", start="not a path"), "start"),
        (dict(id="x", start="a.B", restart="sometimes"), "restart"),
        (dict(id="x", start="a.B", shutdown=-1), "shutdown"),
    ],
)
def test_an_invalid_spec_names_the_bad_field(fields, bad_field):
    with pytest.raises(InvalidSpec) as caught:
        child_spec(**fields)
    assert caught.value.field.startswith(bad_field)


def test_duplicate_child_ids_are_refused():
    with pytest.raises(InvalidSpec) as caught:
        supervisor_spec("s", [child_spec("a", "x.Y"), child_spec("a", "x.Z")])
    assert caught.value.field == "children[1].id"


def test_specs_are_frozen():
    with pytest.raises(ValidationError):
        child_spec("w", "a.B").id = "other"


def test_an_unknown_strategy_is_refused_when_the_flags_are_built():
    with pytest.raises(InvalidSpec) as caught:
        specs.supervisor_flags(strategy="one_for_none")
    assert caught.value.field == "strategy"
    assert "one_for_one" in str(caught.value) and "rest_for_one" in str(caught.value)


def test_a_dynamic_supervisor_takes_no_strategy_it_is_always_one_for_one():
    with pytest.raises(InvalidSpec) as caught:
        specs.dynamic_flags(strategy="one_for_all")
    assert caught.value.field == "strategy"


def test_a_spec_names_its_actor_by_the_class_and_the_path_resolves_back_to_it():
    from sagaline.supervisors.children import resolve_actor_class
    from sagaline.supervisors.supervisor import Supervisor

    spec = child_spec("s", specs.class_path(Supervisor))
    assert spec.start == "sagaline.supervisors.supervisor.Supervisor" == specs.SUPERVISOR_CLASS
    assert resolve_actor_class(spec.start) is Supervisor
