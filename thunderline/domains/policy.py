"""PURE. Policies as data and their evaluation: ``(policy, subject, now) -> Decision``.

The crown domain decides whether an action may happen (promoting a UPM
snapshot, say) by evaluating a policy over the *subject*: a flat (or
nested, reached by dotted paths) map of facts about the action, e.g.
``{"action": "upm.activate", "drift_score": 0.08, "trained_by": "cerebros",
"created_at": <datetime>}``. Nothing is ``eval``'d: a rule is a field, an
operator from a closed set and operands.

A policy file (TOML; the shipped default is ``policies/default.toml``)::

    id = "upm-activation"           # names the policy in every decision
    version = 1                     # bump when the rules change
    actions = ["upm.activate"]      # the subject actions it governs
    description = "..."

    [[rules]]                       # every rule must hold, else deny
    id = "drift-below-bound"
    field = "drift_score"           # dotted path into the subject; "now" is the evaluation time
    op = "lt"                       # lt le gt ge eq ne in not_in within_window
    value = 0.2                     #   outside_window max_age min_age
    reason = "drift must be below 0.2"   # said when the rule denies (a default otherwise)

    [[freezes]]                     # change freezes: deny while start <= now < end
    id = "year-end"
    start = 2026-12-20T00:00:00Z
    end = 2027-01-05T00:00:00Z
    reason = "year-end change freeze"

Operands: ``lt``/``le``/``gt``/``ge`` take a number or a datetime ``value``;
``eq``/``ne`` any scalar; ``in``/``not_in`` a list; ``within_window`` /
``outside_window`` take ``start`` and ``end`` (aware datetimes) and judge a
datetime field (``field = "now"`` for the evaluation time); ``max_age`` /
``min_age`` take ``value`` seconds and judge ``now - field``.

Evaluation fails closed: a missing field, or a value of the wrong type for
its operator, denies with a reason saying so. A subject with no governing
policy is denied (:func:`decide`). A file that does not match this format
raises :class:`PolicyError` naming the file and the field.

Only the standard library and pydantic; no I/O except :func:`load_policy`'s
read of the one file it is given.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "Op",
    "Rule",
    "Freeze",
    "Policy",
    "Decision",
    "PolicyError",
    "evaluate",
    "decide",
    "parse_policy",
    "load_policy",
    "index_policies",
    "DEFAULT_POLICY_PATH",
]

#: The policy shipped with the package (UPM activation).
DEFAULT_POLICY_PATH = Path(__file__).with_name("policies") / "default.toml"

Op = Literal[
    "lt", "le", "gt", "ge", "eq", "ne", "in", "not_in", "within_window", "outside_window", "max_age", "min_age"
]
_ORDER = {
    "lt": (lambda a, b: a < b, "<"),
    "le": (lambda a, b: a <= b, "<="),
    "gt": (lambda a, b: a > b, ">"),
    "ge": (lambda a, b: a >= b, ">="),
}
_WINDOW = ("within_window", "outside_window")
_AGE = ("max_age", "min_age")


class PolicyError(ValueError):
    """A policy file is unreadable or does not match the format (raised on load).

    The message names the file and the offending field; crown refuses to
    start with it, so fix the file and start again.
    """


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rule(_Strict):
    """One condition the subject must meet."""

    id: str = Field(min_length=1)
    """Names the rule in decisions (unique within its policy)."""
    field: str = Field(min_length=1)
    """Dotted path into the subject; ``now`` is the evaluation time."""
    op: Op
    """The operator (see the module docstring)."""
    value: Any = None
    """Operand of comparisons, lists and ages."""
    start: AwareDatetime | None = None
    """Window start (inclusive), for the window operators."""
    end: AwareDatetime | None = None
    """Window end (exclusive), for the window operators."""
    reason: str = ""
    """What a denial by this rule says; a default naming the rule is used when empty."""

    @model_validator(mode="after")
    def _operands(self) -> Rule:
        problem = _operand_problem(self)
        if problem:
            raise ValueError(f"rule {self.id!r} ({self.op}): {problem}")
        return self


def _operand_problem(rule: Rule) -> str | None:
    if rule.op in _WINDOW:
        if rule.start is None or rule.end is None:
            return "needs start and end"
        return "start must be before end" if rule.start >= rule.end else None
    if rule.start is not None or rule.end is not None:
        return "start/end belong to window operators only"
    if rule.op in ("in", "not_in"):
        return None if isinstance(rule.value, list) else "value must be a list"
    if rule.op in _AGE or rule.op in _ORDER:
        ok = _number(rule.value) or (rule.op in _ORDER and isinstance(rule.value, datetime))
        return None if ok else "value must be a number" + ("" if rule.op in _AGE else " or a datetime")
    return "needs a value" if rule.value is None else None


class Freeze(_Strict):
    """A change freeze: every action the policy governs is denied inside it."""

    id: str = Field(min_length=1)
    """Names the freeze in decisions."""
    start: AwareDatetime
    """Start (inclusive)."""
    end: AwareDatetime
    """End (exclusive)."""
    reason: str = ""
    """What the denial says."""

    @model_validator(mode="after")
    def _ordered(self) -> Freeze:
        if self.start >= self.end:
            raise ValueError(f"freeze {self.id!r}: start must be before end")
        return self


class Policy(_Strict):
    """A named, versioned set of rules and freezes governing some actions."""

    id: str = Field(min_length=1)
    """The policy's name, recorded with every decision."""
    version: int = Field(ge=1)
    """Its version, recorded with every decision."""
    actions: list[str] = Field(min_length=1)
    """Subject actions (``subject["action"]``) it governs."""
    description: str = ""
    """What it is for."""
    rules: list[Rule] = Field(default_factory=list)
    """Conditions that must all hold."""
    freezes: list[Freeze] = Field(default_factory=list)
    """Windows in which everything is denied."""

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        ids = [r.id for r in self.rules] + [f.id for f in self.freezes]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule/freeze ids used twice: {', '.join(twice)}")
        return self


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy says about a subject.

    Attributes:
        effect: ``allow`` or ``deny``.
        reasons: Why: each failed rule's or freeze's reason for a denial;
            one line saying every rule passed for an allow.
        policy_id, policy_version: The policy that decided (``none``/0 when none governs).
        failed: Ids of the rules and freezes that denied.
        checked: How many rules and freezes were evaluated.
    """

    effect: Literal["allow", "deny"]
    reasons: tuple[str, ...]
    policy_id: str
    policy_version: int
    failed: tuple[str, ...] = ()
    checked: int = 0

    @property
    def allowed(self) -> bool:
        """True for an allow."""
        return self.effect == "allow"


def evaluate(policy: Policy, subject: Mapping[str, Any], now: datetime) -> Decision:
    """Evaluate every freeze and rule of ``policy`` for ``subject`` at ``now``.

    Args:
        policy: The policy.
        subject: Facts about the action (plain data; datetimes aware).
        now: The evaluation time (aware).

    Returns:
        ``allow`` when no freeze covers ``now`` and every rule holds, else
        ``deny`` with one reason per failure.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    failures = [
        (f.id, f"change freeze {f.id!r} until {f.end.isoformat()}" + (f": {f.reason}" if f.reason else ""))
        for f in policy.freezes
        if f.start <= now < f.end
    ]
    for rule in policy.rules:
        problem = _check(rule, subject, now)
        if problem is not None:
            failures.append((rule.id, rule.reason or f"rule {rule.id!r} failed: {problem}"))
    checked = len(policy.freezes) + len(policy.rules)
    if failures:
        return Decision(
            "deny", tuple(r for _, r in failures), policy.id, policy.version, tuple(i for i, _ in failures), checked
        )
    return Decision(
        "allow",
        (f"all {checked} checks of {policy.id} v{policy.version} passed",),
        policy.id,
        policy.version,
        (),
        checked,
    )


def decide(policies: Mapping[str, Policy], subject: Mapping[str, Any], now: datetime) -> Decision:
    """Evaluate the policy governing ``subject["action"]``; deny when none does.

    Args:
        policies: Action -> policy (see :func:`index_policies`).
        subject: Facts about the action, including ``action``.
        now: The evaluation time (aware).

    Raises:
        ValueError: ``now`` is naive.
    """
    action = subject.get("action")
    policy = policies.get(action) if isinstance(action, str) else None
    if policy is None:
        return Decision("deny", (f"no policy governs action {action!r}",), "none", 0, ("no_policy",), 0)
    return evaluate(policy, subject, now)


def _lookup(subject: Mapping[str, Any], path: str, now: datetime) -> tuple[bool, Any]:
    if path == "now":
        return True, now
    value: Any = subject
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _check(rule: Rule, subject: Mapping[str, Any], now: datetime) -> str | None:
    """None when ``rule`` holds, else what is wrong."""
    found, value = _lookup(subject, rule.field, now)
    if not found or value is None:
        return f"the subject has no {rule.field!r}"
    if rule.op in _ORDER:
        return _compare(rule, value)
    if rule.op in ("eq", "ne"):
        holds = (value == rule.value) == (rule.op == "eq")
        return None if holds else f"{rule.field} is {value!r}, {rule.op} {rule.value!r} required"
    if rule.op in ("in", "not_in"):
        holds = (value in rule.value) == (rule.op == "in")
        return None if holds else f"{rule.field} {value!r} is {'not ' if rule.op == 'in' else ''}in {rule.value!r}"
    if not _aware(value):
        return f"{rule.field} must be an aware datetime, not {type(value).__name__}"
    if rule.op in _WINDOW:
        inside = rule.start <= value < rule.end
        holds = inside == (rule.op == "within_window")
        where = "outside" if not inside else "inside"
        return None if holds else f"{rule.field} {value.isoformat()} is {where} the window"
    age = (now - value).total_seconds()
    holds = age <= rule.value if rule.op == "max_age" else age >= rule.value
    return None if holds else f"{rule.field} is {age:.0f} s old ({rule.op} {rule.value} s)"


def _compare(rule: Rule, value: Any) -> str | None:
    holds_fn, symbol = _ORDER[rule.op]
    comparable = (_number(value) and _number(rule.value)) or (_aware(value) and isinstance(rule.value, datetime))
    if not comparable:
        return f"{rule.field} is a {type(value).__name__}, not comparable with {rule.value!r}"
    return None if holds_fn(value, rule.value) else f"{rule.field} is {value!r}, {symbol} {rule.value!r} required"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate a policy from TOML text.

    Raises:
        PolicyError: Not TOML, or not a valid policy; the message names
            ``source``, the field (e.g. ``rules.1.value``) and the problem.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<policy>"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyError(f"{source}: {where}: {first['msg']}{more}") from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate the policy file at ``path``.

    Raises:
        PolicyError: The file cannot be read or is not a valid policy.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc}") from None
    return parse_policy(text, str(path))


def index_policies(policies: Sequence[Policy]) -> dict[str, Policy]:
    """Map each governed action to its policy.

    Raises:
        PolicyError: Two policies govern the same action (which one decides
            would be ambiguous).
    """
    by_action: dict[str, Policy] = {}
    for policy in policies:
        for action in policy.actions:
            other = by_action.get(action)
            if other is not None and other.id != policy.id:
                raise PolicyError(f"action {action!r} is governed by both {other.id!r} and {policy.id!r}")
            by_action[action] = policy
    return by_action
