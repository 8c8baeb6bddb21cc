"""The taxonomy as data: name format, families, and the domain -> category map.

The map is the runtime's flow plus what loaded apps register; this folder's
conftest loads the Thunderline app, whose map is the original's.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagaline.events import EventError
from sagaline.events.taxonomy import (
    FAMILIES,
    MAX_NAME_LENGTH,
    RUNTIME_CATEGORIES,
    categories_by_domain,
    category_for,
    domains,
    family_of,
    is_well_formed_name,
    may_emit,
    register_domain,
)
from thunderline.events import ADDED_CATEGORIES, EVENT_DOMAINS, ORIGINAL_CATEGORIES

_segment = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@given(segments=st.lists(_segment, min_size=2, max_size=6))
def test_two_or_more_lowercase_segments_joined_by_dots_are_well_formed(segments):
    assert is_well_formed_name(".".join(segments))


@given(segment=_segment)
def test_a_single_segment_is_not_a_well_formed_name(segment):
    assert not is_well_formed_name(segment)


@pytest.mark.parametrize(
    "name",
    [
        "User.onboarding.complete",  # uppercase
        "user..complete",  # empty segment
        ".user.complete",
        "user.complete.",
        "user.9lives",  # segment starts with a digit
        "user._private",  # segment starts with an underscore
        "user.on-boarding",  # dash
        "user.onboarding complete",  # space
        "user.onboarding\n",  # trailing newline (fullmatch, not match)
        "",
    ],
)
def test_names_breaking_the_segment_rule_are_not_well_formed(name):
    assert not is_well_formed_name(name)


def test_a_name_longer_than_the_limit_is_not_well_formed():
    longest = "system." + "a" * (MAX_NAME_LENGTH - len("system."))

    assert is_well_formed_name(longest)
    assert not is_well_formed_name(longest + "a")


def test_a_name_that_is_not_a_string_is_not_well_formed():
    assert not is_well_formed_name(None)
    assert not is_well_formed_name(b"user.onboarding.complete")


def test_the_families_are_the_original_reserved_prefixes_plus_user():
    original = {"system", "reactor", "ui", "audit", "evt", "ml", "ai", "flow", "grid", "cluster"}

    assert original | {"user"} == FAMILIES


def test_the_original_domain_map_is_kept_as_found():
    original = {**ORIGINAL_CATEGORIES, "flow": RUNTIME_CATEGORIES["flow"][:3]}

    assert original == {
        "gate": ("ui.command", "system", "presence"),
        "bolt": ("ml.run", "ml.trial", "system", "ai"),
        "link": ("ui.command", "system", "ai"),
        "crown": ("ai.intent", "system", "ai"),
        "block": ("system",),
        "flow": ("flow.reactor", "system", "ai"),
        "bridge": ("system", "ui.command", "ai"),
    }


def test_ours_adds_only_user_to_gate_and_saga_lifecycle_and_audit_to_flow():
    assert dict(ADDED_CATEGORIES) == {"gate": ("user",)}
    assert RUNTIME_CATEGORIES["flow"][3:] == ("reactor.saga", "audit")


def test_the_map_in_force_is_the_runtimes_flow_then_what_the_app_registered():
    assert dict(categories_by_domain()) == {**RUNTIME_CATEGORIES, **EVENT_DOMAINS}
    for domain in ORIGINAL_CATEGORIES:
        assert categories_by_domain()[domain] == ORIGINAL_CATEGORIES[domain] + ADDED_CATEGORIES.get(domain, ())


def test_the_runtimes_flow_and_the_apps_six_domains_are_the_sources():
    assert domains()[0] == "flow"
    assert set(domains()) == {"gate", "block", "link", "bolt", "crown", "flow", "bridge"}


def test_registering_a_domain_again_with_its_categories_is_harmless_and_with_others_refused():
    register_domain("gate", EVENT_DOMAINS["gate"])

    with pytest.raises(EventError, match="registered already"):
        register_domain("gate", ("system",))
    assert categories_by_domain()["gate"] == EVENT_DOMAINS["gate"]


@pytest.mark.parametrize(
    ("domain", "categories"),
    [
        ("Gate", ("system",)),
        ("the.gate", ("system",)),
        ("gate2", ()),
        ("gate3", ("System",)),
        ("gate4", ("a..b",)),
    ],
)
def test_a_malformed_domain_or_category_is_refused(domain, categories):
    with pytest.raises(EventError):
        register_domain(domain, categories)
    assert domain not in domains()


def test_every_category_starts_with_a_family_except_the_originals_presence_quirk():
    outside = {
        (domain, category)
        for domain, categories in categories_by_domain().items()
        for category in categories
        if family_of(category) not in FAMILIES
    }

    assert outside == {("gate", "presence")}


@pytest.mark.parametrize(
    ("domain", "name", "category"),
    [
        ("bolt", "ml.run.completed", "ml.run"),
        ("bolt", "ml.trial.completed", "ml.trial"),
        ("bolt", "ai.upm.snapshot.activated", "ai"),
        ("crown", "ai.intent.email.compose", "ai.intent"),
        ("gate", "user.onboarding.complete", "user"),
        ("gate", "ui.command.email.requested", "ui.command"),
        ("flow", "reactor.saga.stuck", "reactor.saga"),
        ("flow", "audit.event_drop", "audit"),
        ("block", "system.vault.provisioned", "system"),
    ],
)
def test_a_domain_may_emit_a_name_under_one_of_its_categories(domain, name, category):
    assert category_for(domain, name) == category
    assert may_emit(domain, name)


@pytest.mark.parametrize(
    ("domain", "name"),
    [
        ("bolt", "ml.runner.started"),  # a prefix of a segment is not a match
        ("bolt", "reactor.saga.complete"),  # the original's choice of domain, refused here
        ("gate", "ml.run.completed"),
        ("link", "user.onboarding.complete"),
        ("block", "ai.upm.snapshot.activated"),
        ("bridge", "ml.trial.completed"),
        ("crown", "audit.event_drop"),
        ("thunderbolt", "system.anything.happened"),  # not a domain
    ],
)
def test_a_domain_may_not_emit_a_name_outside_its_categories(domain, name):
    assert category_for(domain, name) is None
    assert not may_emit(domain, name)


def test_the_longest_matching_category_is_reported():
    # crown has both "ai" and "ai.intent".
    assert category_for("crown", "ai.intent.plan.drafted") == "ai.intent"
    assert category_for("crown", "ai.tool_result.received") == "ai"
