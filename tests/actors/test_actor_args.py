"""Actors' args as models: defaults declared once, a wrong type or an unknown key refused naming the field,
and a bad arg failing the actor's start with that message."""

from typing import Any

import pytest

from sagaline.actors.actor_args import ActorArgs, BadArgs
from sagaline.actors.domain_args import DomainArgs, FlowArgs
from sagaline.actors.spawn import ActorStartFailed, start_actor
from sagaline.admin.admin_args import DEFAULT_WORKERS, EndpointArgs, WorkerArgs
from sagaline.daemon.config import AdminSettings
from sagaline.domains.faults import FaultRule
from sagaline.hosts.host_args import HostArgs
from sagaline.hosts.saga_supervisor_args import DEFAULT_PRUNE_EVERY_S, SagaSupervisorArgs
from sagaline.storage.sqlite import SqliteOptions
from sagaline.supervisors.spec import DynamicFlags, SupervisorFlags, child_spec
from sagaline.supervisors.strategy import DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS
from sagaline.supervisors.supervisor_args import DynamicSupervisorArgs, SupervisorArgs
from thunderline.actors.bridge_args import TRAINER, BridgeArgs

pytestmark = pytest.mark.timeout(60)

#: (model, minimal valid args, a field, a value of the wrong type for it)
MODELS: list[tuple[type[ActorArgs], dict[str, Any], str, Any]] = [
    (SupervisorArgs, {}, "children", "not a list"),
    (DynamicSupervisorArgs, {}, "flags", 3),
    (SagaSupervisorArgs, {}, "prune_every_s", "often"),
    (HostArgs, {}, "index", "first"),
    (DomainArgs, {"db_path": "d.sqlite"}, "synchronous", "SOMETIMES"),
    (FlowArgs, {"db_path": "d.sqlite"}, "apps", 7),
    (EndpointArgs, {}, "workers", "many"),
    (WorkerArgs, {}, "watch", ["daemon"]),
    (BridgeArgs, {}, "faults", "all of them"),
]
IDS = [model.__name__ for model, *_ in MODELS]


@pytest.mark.parametrize(("model", "valid", "field", "wrong"), MODELS, ids=IDS)
def test_a_wrong_type_is_refused_naming_the_field(model, valid, field, wrong):
    with pytest.raises(BadArgs) as caught:
        model.parse({**valid, field: wrong})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"bad {model.__name__}: {field}")


@pytest.mark.parametrize(("model", "valid", "field", "wrong"), MODELS, ids=IDS)
def test_an_unknown_key_is_refused_naming_it(model, valid, field, wrong):
    with pytest.raises(BadArgs) as caught:
        model.parse({**valid, "wokers": 4})
    assert caught.value.field == "wokers"
    assert "wokers: Extra inputs are not permitted" in str(caught.value)


@pytest.mark.parametrize(("model", "valid", "field", "wrong"), MODELS, ids=IDS)
def test_the_args_are_frozen_and_travel_as_plain_data(model, valid, field, wrong):
    args = model.parse(valid)
    with pytest.raises(ValueError):
        setattr(args, field, wrong)
    assert model.parse(args.model_dump()) == args


@pytest.mark.parametrize(("model", "valid", "field", "wrong"), MODELS, ids=IDS)
def test_every_actor_may_be_given_a_registry_value(model, valid, field, wrong):
    assert model.parse(valid).registry_value is None
    assert model.parse({**valid, "registry_value": {"role": "x"}}).registry_value == {"role": "x"}


def test_a_missing_required_field_is_named():
    with pytest.raises(BadArgs) as caught:
        DomainArgs.parse({"synchronous": "FULL"})
    assert caught.value.field == "db_path" and "db_path: Field required" in str(caught.value)


def test_every_problem_is_in_the_message_the_first_one_is_the_field():
    with pytest.raises(BadArgs) as caught:
        EndpointArgs.parse({"workers": -1, "saga_hosts": "two"})
    assert caught.value.field == "workers"
    assert "workers: Input should be greater than or equal to 0" in str(caught.value)
    assert "saga_hosts: Input should be a valid integer" in str(caught.value)


def test_a_nested_field_is_named_by_its_path():
    with pytest.raises(BadArgs) as caught:
        SupervisorArgs.parse({"flags": {"strategy": "one_for_none"}})
    assert caught.value.field == "flags.strategy"
    with pytest.raises(BadArgs) as caught:
        SupervisorArgs.parse({"children": [{"id": "a", "start": "not a path"}]})
    assert caught.value.field == "children.0.start"


def test_supervisor_defaults_are_the_flags_defaults():
    assert SupervisorArgs.parse(None) == SupervisorArgs(flags=SupervisorFlags(), children=())
    assert SupervisorArgs.parse({}).flags.max_restarts == DEFAULT_MAX_RESTARTS
    assert DynamicSupervisorArgs.parse({}).flags == DynamicFlags()
    assert DynamicSupervisorArgs.parse({}).flags.max_seconds == DEFAULT_MAX_SECONDS


def test_supervisor_children_are_parsed_into_specs():
    spec = child_spec("a", "pkg.mod.Worker", {"x": 1}, restart="transient")
    args = SupervisorArgs.parse({"children": [spec.model_dump()]})
    assert args.children == (spec,)


def test_saga_supervisor_defaults():
    args = SagaSupervisorArgs.parse({})
    assert (args.count, args.journal, args.journal_path, args.retention_s) == (1, "sqlite", None, None)
    assert args.prune_every_s == DEFAULT_PRUNE_EVERY_S
    assert args.flags == SupervisorFlags()


def test_host_defaults():
    args = HostArgs.parse({})
    assert (args.index, args.count, args.journal, args.synchronous, args.lease_s) == (0, 1, "sqlite", "FULL", None)


def test_domain_defaults_are_the_stores():
    args = DomainArgs.parse({"db_path": "d.sqlite"})
    assert args.synchronous == SqliteOptions.synchronous
    assert (args.config, args.faults) == ({}, ())
    assert FlowArgs.parse({"db_path": "d.sqlite"}).apps == ()


def test_domain_faults_are_fault_rules():
    rule = {"command": "Reserve", "action": "crash"}
    assert DomainArgs.parse({"db_path": "d", "faults": [rule]}).faults == (FaultRule.model_validate(rule),)


def test_admin_defaults_are_the_daemons():
    args = EndpointArgs.parse({})
    assert args.workers == DEFAULT_WORKERS == AdminSettings().workers
    assert (args.owner_pid, args.saga_hosts, args.watch, args.heartbeat) == (None, 0, {}, None)
    assert WorkerArgs.parse({}) == WorkerArgs(facts={}, watch={}, heartbeat=None, root=None)


def test_bridge_defaults_and_its_config():
    args = BridgeArgs.parse({})
    assert (args.db_path, args.config.max_parallel, args.config.trainer) == (None, 2, TRAINER)
    assert BridgeArgs.parse({"config": {"max_parallel": 4}}).config.max_parallel == 4
    with pytest.raises(BadArgs) as caught:
        BridgeArgs.parse({"config": {"max_parallel": "two"}})
    assert caught.value.field == "config.max_parallel"


def test_a_bad_arg_fails_the_actors_start_naming_the_field(actor_system, tmp_path):
    args = {"db_path": str(tmp_path / "notes.sqlite"), "synchronous": "SOMETIMES"}
    with pytest.raises(ActorStartFailed) as caught:
        start_actor(actor_system, "tests.support.apps.NotesActor", args)
    assert caught.value.reason.error_type == "BadArgs"
    assert caught.value.reason.detail.startswith("bad DomainArgs: synchronous: Input should be 'NORMAL' or 'FULL'")
    assert not (tmp_path / "notes.sqlite").exists()  # refused before the store was opened
