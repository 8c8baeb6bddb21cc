"""Policies are data (TOML, validated on load) and evaluation is a pure function of
(policy, subject, now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from thunderline.domains.policy import (
    DEFAULT_POLICY_PATH,
    Policy,
    PolicyError,
    decide,
    evaluate,
    index_policies,
    load_policy,
    parse_policy,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEAD = 'id = "p"\nversion = 2\nactions = ["upm.activate"]\n'


def rule(field, op, **extra):
    return Policy.model_validate(
        {
            "id": "p",
            "version": 2,
            "actions": ["upm.activate"],
            "rules": [{"id": "r", "field": field, "op": op, **extra}],
        }
    )


def good_subject(**changes):
    subject = {
        "action": "upm.activate",
        "drift_score": 0.05,
        "sample_count": 500,
        "trained_by": "cerebros",
        "created_at": NOW - timedelta(days=2),
    }
    return {**subject, **changes}


def test_the_shipped_policy_allows_a_fresh_trusted_quiet_snapshot():
    policy = load_policy(DEFAULT_POLICY_PATH)
    decision = evaluate(policy, good_subject(), NOW)
    assert decision.effect == "allow" and decision.allowed
    assert (decision.policy_id, decision.policy_version, decision.checked) == ("upm-activation", 1, 4)


def test_every_failing_rule_is_a_reason_in_rule_order():
    policy = load_policy(DEFAULT_POLICY_PATH)
    decision = evaluate(
        policy, good_subject(drift_score=0.3, trained_by="eve", created_at=NOW - timedelta(days=31)), NOW
    )
    assert decision.effect == "deny"
    assert decision.failed == ("drift-below-bound", "trusted-trainer", "fresh-snapshot")
    assert decision.reasons[0] == (
        "the latest drift score must be below 0.2, the policy's ceiling, whatever max_drift_score the run asked for"
    )


@pytest.mark.parametrize(
    "op, value, subject_value, holds",
    [
        ("lt", 0.2, 0.19, True),
        ("lt", 0.2, 0.2, False),
        ("le", 0.2, 0.2, True),
        ("gt", 3, 4, True),
        ("ge", 3, 2, False),
        ("eq", "x", "x", True),
        ("ne", "x", "x", False),
        ("in", ["a", "b"], "b", True),
        ("not_in", ["a", "b"], "b", False),
        ("lt", 5, "4", False),
        ("lt", 5, True, False),
    ],
)
def test_comparison_and_membership_operators(op, value, subject_value, holds):
    decision = evaluate(rule("f", op, value=value), {"f": subject_value}, NOW)
    assert decision.allowed is holds


def test_a_missing_field_denies_rather_than_passes():
    decision = evaluate(rule("nested.f", "lt", value=1), {"nested": {}}, NOW)
    assert not decision.allowed and "no 'nested.f'" in decision.reasons[0]
    assert evaluate(rule("nested.f", "lt", value=1), {"nested": {"f": 0}}, NOW).allowed


def test_age_rules_measure_from_now():
    young, old = NOW - timedelta(seconds=50), NOW - timedelta(seconds=500)
    assert evaluate(rule("at", "max_age", value=100), {"at": young}, NOW).allowed
    assert not evaluate(rule("at", "max_age", value=100), {"at": old}, NOW).allowed
    assert evaluate(rule("at", "min_age", value=100), {"at": old}, NOW).allowed
    assert not evaluate(rule("at", "max_age", value=100), {"at": "yesterday"}, NOW).allowed


def test_window_rules_and_a_change_freeze():
    window = {"start": NOW - timedelta(hours=1), "end": NOW + timedelta(hours=1)}
    assert evaluate(rule("now", "within_window", **window), {}, NOW).allowed
    assert not evaluate(rule("now", "outside_window", **window), {}, NOW).allowed
    frozen = parse_policy(
        HEAD + '[[freezes]]\nid = "eoy"\nstart = 2026-11-28T00:00:00Z\n'
        'end = 2026-11-29T00:00:00Z\nreason = "year end"\n'
    )
    decision = evaluate(frozen, {}, NOW)
    assert decision.failed == ("eoy",) and "year end" in decision.reasons[0]
    assert evaluate(frozen, {}, NOW + timedelta(days=1)).allowed  # the end is exclusive


def test_evaluation_is_pure_and_needs_an_aware_now():
    policy, subject = load_policy(DEFAULT_POLICY_PATH), good_subject()
    assert evaluate(policy, subject, NOW) == evaluate(policy, subject, NOW)
    with pytest.raises(ValueError):
        evaluate(policy, subject, NOW.replace(tzinfo=None))


def test_an_action_no_policy_governs_is_denied():
    decision = decide(index_policies([load_policy(DEFAULT_POLICY_PATH)]), {"action": "nuke.everything"}, NOW)
    assert (decision.effect, decision.policy_id, decision.failed) == ("deny", "none", ("no_policy",))


@pytest.mark.parametrize(
    "text, says",
    [
        ("id = ", "not valid TOML"),
        ('id = "p"\nversion = 1\n', "actions"),
        (HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "around"\nvalue = 1\n', "rules.0.op"),
        (HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "in"\nvalue = 3\n', "value must be a list"),
        (HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "lt"\nvalue = "x"\n', "value must be a number"),
        (HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "within_window"\n', "needs start and end"),
        (HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "eq"\nvalue = 1\nsurprise = 2\n', "rules.0.surprise"),
        (HEAD + '[[freezes]]\nid = "f"\nstart = 2026-01-02T00:00:00Z\nend = 2026-01-01T00:00:00Z\n', "before end"),
        (HEAD + '[[freezes]]\nid = "f"\nstart = 2026-01-01T00:00:00\nend = 2026-01-02T00:00:00Z\n', "timezone"),
        (
            HEAD + '[[rules]]\nid = "r"\nfield = "f"\nop = "eq"\nvalue = 1\n[[rules]]\nid = "r"\nfield = "g"\n'
            'op = "eq"\nvalue = 1\n',
            "used twice",
        ),
    ],
)
def test_a_bad_policy_file_is_a_clear_error_naming_the_file_and_the_problem(text, says):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policies/bad.toml")
    assert str(caught.value).startswith("policies/bad.toml: ") and says in str(caught.value)


def test_an_unreadable_file_and_two_policies_for_one_action_are_load_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    one, other = parse_policy(HEAD), parse_policy(HEAD.replace('"p"', '"q"'))
    with pytest.raises(PolicyError, match="governed by both"):
        index_policies([one, other])
