"""Loading apps: specs and entry points -> one checked catalog, or one AppError naming the app and the field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sagaline.apps import AppError, Apps, load_apps, loading, resolve_specs
from tests.support import apps as declared

NOTES = "tests.support.apps:notes"
ARCHIVE = "tests.support.apps:archive"


def load(*names: str) -> Apps:
    return load_apps([f"tests.support.apps:{name}" for name in names], entry_points=False)


def refusal(*names: str) -> AppError:
    with pytest.raises(AppError) as caught:
        load(*names)
    return caught.value


def test_the_thunderline_app_loads_its_three_sagas_six_domains_and_its_commands():
    apps = load_apps(["thunderline.app:app"], entry_points=False)
    assert (apps.specs, [a.name for a in apps.apps]) == (("thunderline.app:app",), ["thunderline"])
    assert list(apps.sagas) == ["user_provisioning", "upm_activation", "cerebros_nas"]
    assert [d.name for d in apps.domains] == ["gate", "block", "link", "crown", "bolt", "bridge"]
    assert {"register_snapshot", "list_datasets", "record_drift"} <= set(apps.commands)
    assert apps.saga_app("upm_activation") == apps.command_app("list_snapshots") == "thunderline"


def test_the_catalog_gives_definitions_domains_in_start_order_and_commands():
    apps = load("notes", "archive")
    assert apps.definition("file_away").name == "file_away"
    assert apps.saga_factories()["jot_down"]() is apps.definition("jot_down")
    assert apps.domain_actors() == {
        "flow": "sagaline.actors.flow.FlowActor",
        "notes": "tests.support.apps.NotesActor",
        "archive": "tests.support.apps.ArchiveActor",
    }
    assert list(apps.domain_actors(("archive",))) == ["flow", "archive"]
    assert apps.command("jot").message is declared.Jot
    with pytest.raises(KeyError):
        apps.command("jot", app="archive")
    with pytest.raises(KeyError):
        apps.definition("nope")


def test_message_classes_are_the_declared_modules_messages_and_the_commands():
    classes = load("notes").message_classes()
    assert {declared.Jot, declared.Jotted, declared.Page} <= set(classes)
    assert all(c.__module__ == "tests.support.apps" for c in classes)


def test_one_process_loads_a_spec_list_once_and_actors_reload_it_by_its_resolved_specs():
    first = load("notes")
    assert load("notes") is first
    assert load_apps(first.specs, entry_points=False) is first


def test_blank_and_repeated_specs_are_ignored_and_entry_points_come_after_the_specs(monkeypatch):
    found = [
        SimpleNamespace(module="tests.support.apps", attr="archive"),
        SimpleNamespace(module="tests.support.apps", attr="notes"),
    ]
    monkeypatch.setattr(loading, "_entry_points", lambda group: found if group == "sagaline.apps" else [])
    assert resolve_specs([" ", NOTES, NOTES]) == (NOTES, ARCHIVE)
    assert [a.name for a in load_apps([NOTES, ""]).apps] == ["notes", "archive"]


def test_an_app_may_use_the_domains_of_an_app_it_names_in_uses():
    assert load("notes", "archive").saga_app("file_away") == "archive"


@pytest.mark.parametrize(
    ("names", "app", "field", "words"),
    [
        (
            ("trespasser", "notes"),
            "trespasser",
            "sagas[sneak].steps[to_notes_0]",
            "uses domain 'notes' of app 'notes', which this app does not name in uses",
        ),
        (("dreamer",), "dreamer", "sagas[imagine].steps[to_nowhere_0]", "no loaded app declares"),
        (("archive",), "archive", "uses", "no other app named 'notes' is loaded"),
        (("stranger",), "stranger", "uses", "'ghost'"),
        (
            ("notes", "twin"),
            "twin",
            "sagas[jot_down]",
            "a saga named 'jot_down' is declared twice (also by app 'notes')",
        ),
        (("notes", "notes_again"), "notes", "name", "an app named 'notes' is declared twice"),
        (("flow_thief",), "thief", "domains[flow]", "the runtime's own"),
        (("broken_saga",), "broken", "sagas[1]", "ZeroDivisionError"),
        (("not_a_saga",), "confused", "sagas[0]", "neither a SagaDefinition nor a zero-argument factory"),
        (("bad_actor",), "bad_actor", "domains[desk].actor", "not an actor class"),
        (("bad_settings",), "bad_settings", "domains[desk].settings", "not a dataclass or pydantic model"),
        (("bad_command",), "bad_command", "commands[shout].message", "not a sagaline Command class"),
        (("far_command",), "far_command", "commands[peek].domain", "no loaded app declares"),
        (("bad_columns",), "bad_columns", "commands[peek].columns", "not a sequence of field names"),
        (("Bad_Name",), "tests.support.apps:Bad_Name", "name", "not a lowercase identifier"),
        (("alien_events",), "alien", "event_domains[notes]", "not one of this app's domains"),
        (("not_an_app",), "tests.support.apps:not_an_app", "spec", "names a dict, not a sagaline.apps.App"),
        (("hook_not_callable",), "hook_not_callable", "on_load", "'attach' is not callable"),
        (("hook_fails",), "hook_fails", "on_load", "raised RuntimeError: no telemetry here"),
        (("missing",), "tests.support.apps:missing", "spec", "has no attribute 'missing'"),
    ],
)
def test_a_bad_declaration_is_one_app_error_naming_the_app_and_the_field(names, app, field, words):
    error = refusal(*names)
    assert (error.app, error.field) == (app, field)
    assert words in str(error)
    assert str(error).startswith(f"app {app!r}: {field}: ")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no_such_package.app:app", "cannot import module 'no_such_package.app': ModuleNotFoundError"),
        ("tests.support.apps", "must be 'package.module:attribute'"),
        ("tests.support.apps:", "must be 'package.module:attribute'"),
    ],
)
def test_a_spec_that_does_not_import_is_one_app_error_naming_the_spec(spec, words):
    with pytest.raises(AppError) as caught:
        load_apps([spec], entry_points=False)
    assert (caught.value.app, caught.value.field) == (spec, "spec")
    assert words in str(caught.value)


def test_a_failed_load_is_not_cached_and_leaves_the_catalog_of_a_good_one_alone():
    refusal("notes", "twin")
    assert list(load("notes").sagas) == ["jot_down"]


def test_an_apps_on_load_runs_once_per_process_however_many_spec_lists_load_it():
    from tests.support.apps import HOOK_CALLS

    load("hooked")
    load("hooked", "notes")
    load("notes", "hooked")
    assert HOOK_CALLS["hooked"] == 1  # only this test loads it


def test_loading_the_thunderline_app_attaches_the_original_telemetry_names():
    from sagaline.telemetry.core import telemetry
    from thunderline import telemetry as original
    from thunderline.app import SPEC

    load_apps([SPEC], entry_points=False)
    assert original.HANDLER_ID in telemetry.handlers()


def test_domain_settings_are_checked_by_the_domains_settings_model():
    apps = load("notes", "archive")
    assert apps.settings_problem("notes", {"shelf": "top"}) is None
    assert "unknown setting 'shelf_'" in apps.settings_problem("notes", {"shelf_": "top"})
    assert "shelf" in apps.settings_problem("notes", {"shelf": 3})
    assert apps.settings_problem("archive", {"x": 1}) == "domain 'archive' takes no settings"
    assert apps.settings_problem("flow", {"mode": "raise"}) is None
    with pytest.raises(KeyError):
        apps.settings_problem("nowhere", {})


def test_the_description_is_json_ready_with_each_commands_typed_arguments():
    import json

    described = load("notes").describe()
    json.dumps(described)
    [command] = described["commands"]
    assert [(a["name"], a["type"], a["required"], a["default"]) for a in command["args"]] == [
        ("text", "string", True, None),
        ("copies", "integer", False, 1),
    ]
    assert described["apps"] == [
        {
            "name": "notes",
            "description": "",
            "uses": [],
            "sagas": ["jot_down"],
            "domains": ["notes"],
            "commands": ["jot"],
        }
    ]


def test_the_public_surface_is_exactly_these_names():
    import sagaline.apps

    assert sorted(sagaline.apps.__all__) == [
        "App",
        "AppCommand",
        "AppDomain",
        "AppError",
        "Apps",
        "ENTRY_POINT_GROUP",
        "load_apps",
        "resolve_specs",
    ]
