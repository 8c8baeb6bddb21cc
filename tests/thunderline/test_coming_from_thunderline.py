"""``docs/coming-from-thunderline.md``'s table, checked against the code: its sagaline column says
what the code has (steps in order, inputs and defaults, start options, refusal and error codes,
constants, results, known events, payload keys, telemetry names, the default policy's rules), and
nothing the code has is missing from it."""

from __future__ import annotations

import ast
import importlib
import json
import re
import typing
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sagaline.events.known import known_event, known_events
from sagaline.messages.admin import AdminStartSaga
from sagaline.messages.saga import SagaRefused, StartSaga
from sagaline.telemetry import names as tn
from thunderline import telemetry as original
from thunderline.domains.policy import DEFAULT_POLICY_PATH, decide, load_policy
from thunderline.sagas import cerebros_nas, upm_activation, user_provisioning
from thunderline.testing import thunderline_apps

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "coming-from-thunderline.md"
SAGAS = {"user_provisioning": user_provisioning, "upm_activation": upm_activation, "cerebros_nas": cerebros_nas}
TICKED = re.compile(r"`([^`]*)`")


def _rows() -> list[dict[str, str]]:
    lines = [ln for ln in PAGE.read_text().splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["kind", "where", "original", "sagaline", "why they differ"]
    rows = []
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        rows.append(dict(zip(header, cells, strict=False)))
    return rows


ROWS = _rows()


def ours(kind: str) -> list[tuple[str, list[str], str]]:
    """(where, backticked spans of the sagaline cell, the cell) of every row of ``kind`` that has a sagaline side."""
    return [
        (r["where"], TICKED.findall(r["sagaline"]), r["sagaline"])
        for r in ROWS
        if r["kind"] == kind and not r["sagaline"].startswith("(none")
    ]


def test_the_page_is_linked_from_the_readme_and_every_row_is_of_a_known_kind():
    assert "docs/coming-from-thunderline.md" in (REPO / "README.md").read_text()
    kinds = {
        "step",
        "input",
        "start option",
        "refusal",
        "constant",
        "error",
        "result",
        "event",
        "payload",
        "telemetry",
        "policy rule",
        "behaviour",
    }
    assert {r["kind"] for r in ROWS} == kinds
    differing = [r for r in ROWS if r["original"] != r["sagaline"] and not r["why they differ"] and not _same_names(r)]
    assert differing == [], "a row whose sides differ must say why"


def _same_names(row: dict[str, str]) -> bool:
    """Rows whose sides name the same thing and differ only by ours' detail in parentheses."""
    a, b = TICKED.findall(row["original"]), TICKED.findall(row["sagaline"])
    return bool(a) and bool(b) and a[0] == b[0]


def test_every_step_of_every_saga_is_listed_in_plan_order():
    apps = thunderline_apps()
    listed = defaultdict(list)
    for where, ticks, _ in ours("step"):
        listed[where].append(ticks[0])
    assert {name: [s.name for s in apps.definition(name).steps] for name in SAGAS} == dict(listed)


def test_every_input_is_listed_with_its_default():
    apps = thunderline_apps()
    listed = {}
    for where, ticks, cell in ours("input"):
        default = re.search(r"default `([^`]*)`", cell)
        listed[(where, ticks[0])] = json.loads(default.group(1)) if default else "required"
    actual = {
        (name, i.name): "required" if i.required else i.default for name in SAGAS for i in apps.definition(name).inputs
    }
    assert listed == actual


def test_the_start_options_are_fields_of_the_start_messages_and_no_saga_input():
    options = [ticks[0] for _, ticks, _ in ours("start option")]
    assert sorted(options) == ["causation_id", "correlation_id"]
    for option in options:
        assert option in StartSaga.model_fields and option in AdminStartSaga.model_fields
        assert all(option not in {i.name for i in thunderline_apps().definition(n).inputs} for n in SAGAS)


def _refusal_codes() -> set[str]:
    return set(typing.get_args(SagaRefused.model_fields["code"].annotation))


def test_the_refusal_codes_at_start_are_the_saga_supervisors_own():
    listed = {ticks[0] for _, ticks, _ in ours("refusal")} - {"correlation_id_taken"}
    assert listed <= _refusal_codes()
    assert {"invalid_correlation_id", "invalid_causation_id", "invalid_input", "unknown_saga"} <= listed


def test_a_different_saga_under_a_taken_correlation_id_has_its_refusal_code():
    assert "correlation_id_taken" in _refusal_codes()


def _resolve(path: str):
    module_name, *_rest = path.split(".")
    target, i = importlib.import_module(module_name), 1
    parts = path.split(".")
    while i < len(parts):  # import as deep as the modules go, then follow attributes
        try:
            target = importlib.import_module(".".join(parts[: i + 1]))
        except ModuleNotFoundError:
            break
        i += 1
    for part in parts[i:]:
        fields = getattr(target, "model_fields", None)
        target = fields[part].default if isinstance(fields, dict) and part in fields else getattr(target, part)
    return target


def test_every_constant_has_the_value_the_page_gives():
    checked = 0
    for _, ticks, _cell in ours("constant"):
        path, shown = ticks[0], ticks[1]
        value = _resolve(path)
        assert (value if isinstance(value, str) else repr(value)) == shown, path
        checked += 1
    assert checked >= 15


def _documented_codes(module) -> set[str]:
    after = module.__doc__.split("Error codes")[1]
    return {c for c in re.findall(r"``([a-z_]+)``", after)}


def test_every_error_code_of_every_saga_is_listed_and_raised_somewhere_in_the_app():
    listed = defaultdict(set)
    for where, ticks, _ in ours("error"):
        listed[where].add(ticks[0])
    assert {name: _documented_codes(module) for name, module in SAGAS.items()} == dict(listed)
    source = "\n".join(p.read_text() for p in (REPO / "thunderline").rglob("*.py"))
    for codes in listed.values():
        for code in codes:
            assert f'"{code}"' in source, f"{code} is documented but never raised"


def _result_keys() -> dict[str, set[str]]:
    version = {"version_id": "v", "artifact_id": "a", "metrics": {"accuracy": 0.9}, "frontier": []}
    return {
        "user_provisioning": set(
            user_provisioning._onboarding_result(None, {"user": 1, "vault": 2, "membership": 3}).value
        ),
        "upm_activation": set(
            upm_activation._done(
                None, {"snapshot": 1, "previous": None, "adapters": {"adapters": []}, "decision": {}}
            ).value
        ),
        "cerebros_nas": set(cerebros_nas._done(None, {"run": {"run_id": "r"}, "version": version}).value),
    }


def _keys(cell: str) -> set[str]:
    [braced] = [t for t in TICKED.findall(cell) if t.startswith("{")]
    return {k.strip() for k in braced.strip("{}").split(",")}


def test_every_sagas_result_keys_are_listed():
    assert {where: _keys(cell) for where, _, cell in ours("result")} == _result_keys()


def test_every_known_event_is_listed_with_its_version_source_reliability_and_pipeline():
    thunderline_apps()
    listed = set()
    for _, ticks, cell in ours("event"):
        name = ticks[0]
        entry = known_event(name)
        assert entry is not None, name
        facts = re.search(r"v(\d+) from (\w+), (persistent|transient)(?:, (\w+))?", cell)
        assert facts, cell
        version, source, reliability, pipeline = facts.groups()
        assert (int(version), {source}, reliability, pipeline) == (
            entry.version,
            set(entry.sources),
            entry.reliability,
            entry.pipeline,
        ), name
        listed.add(name)
    assert listed == {name for name, _ in known_events()}


def test_every_known_events_payload_keys_are_listed():
    thunderline_apps()
    listed = {where: _keys(cell) for where, _, cell in ours("payload")}
    assert listed == {name: set(e.payload.model_fields) for (name, _), e in known_events().items()}


def _name(tick: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in tick.strip("[]").split(","))


def test_every_telemetry_name_we_emit_is_listed_and_every_listed_name_is_emitted():
    listed = {_name(ticks[0]) for _, ticks, _ in ours("telemetry")}
    assert listed == set(tn.ALL_EVENTS) | set(original.ORIGINAL_EVENTS)


def test_every_rule_of_the_default_policy_is_listed_as_it_is_written():
    policy = load_policy(DEFAULT_POLICY_PATH)
    rules = {r.id: f"{r.field} {r.op} {r.value!r}" for r in policy.rules}
    listed = {ticks[0]: ticks[1] if len(ticks) > 1 else None for _, ticks, _ in ours("policy rule")}
    assert listed.pop("no_policy") is None
    assert decide({}, {"action": "upm.activate"}, datetime.now(UTC)).failed == ("no_policy",)
    assert listed == rules


def test_the_readme_writes_out_the_default_policy_with_a_reason_for_each_rule():
    readme = (REPO / "README.md").read_text()
    section = readme.split("### The default crown policy")[1].split("\n## ")[0]
    for rule in load_policy(DEFAULT_POLICY_PATH).rules:
        [line] = [ln for ln in section.splitlines() if f"`{rule.id}`" in ln]
        assert "|" in line and len(line.split("|")[-2].strip()) > 20, f"no reason given for {rule.id}"


def test_the_table_parses_its_own_python_literals():
    for _, _, cell in ours("input"):
        default = re.search(r"default `([^`]*)`", cell)
        if default:
            json.loads(default.group(1))
    for _, ticks, _ in ours("policy rule"):
        if len(ticks) > 1 and " in " in ticks[1]:
            ast.literal_eval(ticks[1].split(" in ", 1)[1])
