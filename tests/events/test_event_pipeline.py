"""Pipeline selection and delivery reliability, as the original's taxonomy says."""

import pytest
from event_samples import NOW, emitted

from sagaline.events import new_event, reliability_of, select_pipeline
from sagaline.messages.ids import uuid7


def _event(name, source="block", priority=None, **meta):
    return new_event(name, source, {}, uuid7(), now=NOW, priority=priority, meta=meta)


# (case, event builder, expected pipeline)
TABLE = [
    (
        "meta.pipeline wins over an ai. name",
        lambda: _event("ai.tool_result.received", "bolt", pipeline="general"),
        "general",
    ),
    (
        "meta.pipeline wins over a target",
        lambda: _event("system.x.done", pipeline="realtime", target="link"),
        "realtime",
    ),
    (
        "meta.pipeline wins over critical priority",
        lambda: _event("system.x.done", "block", "critical", pipeline="general"),
        "general",
    ),
    ("an ai. name goes realtime", lambda: _event("ai.tool_result.received", "bolt"), "realtime"),
    ("a grid. name goes realtime", lambda: _event("grid.zone.updated", "flow"), "realtime"),
    ("the family wins over a target", lambda: _event("ai.intent.plan.drafted", "crown", target="bolt"), "realtime"),
    ("a targeted event goes cross_domain", lambda: _event("system.x.done", target="link"), "cross_domain"),
    (
        "an event with targets goes cross_domain",
        lambda: _event("system.x.done", targets=["gate", "bolt"]),
        "cross_domain",
    ),
    (
        "a target wins over high priority",
        lambda: _event("system.x.done", "block", "high", target="link"),
        "cross_domain",
    ),
    ("high priority goes realtime", lambda: _event("system.x.done", "block", "high"), "realtime"),
    ("critical priority goes realtime", lambda: _event("system.x.done", "block", "critical"), "realtime"),
    ("normal priority goes general", lambda: _event("system.x.done"), "general"),
    ("low priority goes general", lambda: _event("system.x.done", "block", "low"), "general"),
    ("an unknown meta.pipeline is ignored", lambda: _event("system.x.done", pipeline="fast"), "general"),
    ("an empty targets list is no target", lambda: _event("system.x.done", targets=[]), "general"),
    # the registered defaults (the original's, where it had them)
    ("user.onboarding.complete", lambda: emitted("user.onboarding.complete"), "cross_domain"),
    ("ai.upm.snapshot.activated", lambda: emitted("ai.upm.snapshot.activated"), "realtime"),
    ("ml.run.completed", lambda: emitted("ml.run.completed"), "cross_domain"),
    ("ml.trial.completed", lambda: emitted("ml.trial.completed"), "realtime"),
    ("flow.reactor.retry has no default", lambda: emitted("flow.reactor.retry"), "general"),
    ("reactor.saga.complete", lambda: emitted("reactor.saga.complete"), "realtime"),
    ("reactor.saga.fail", lambda: emitted("reactor.saga.fail"), "realtime"),
    ("reactor.saga.stuck", lambda: emitted("reactor.saga.stuck"), "realtime"),
]


@pytest.mark.parametrize(("case", "build", "pipeline"), TABLE, ids=[case for case, _, _ in TABLE])
def test_the_pipeline_is_chosen_by_the_first_matching_rule(case, build, pipeline):
    assert select_pipeline(build()) == pipeline


def test_reliability_comes_from_meta_then_the_registry_then_defaults_to_transient():
    registered = emitted("ml.run.completed")
    bare = registered.model_copy(update={"meta": {}})
    unknown = _event("system.x.done").model_copy(update={"meta": {}})

    assert reliability_of(registered) == "persistent"
    assert reliability_of(bare) == "persistent"
    assert reliability_of(unknown) == "transient"
    assert reliability_of(_event("system.x.done", reliability="persistent")) == "persistent"


@pytest.mark.parametrize(
    ("name", "reliability"),
    [
        ("user.onboarding.complete", "persistent"),
        ("ai.upm.snapshot.activated", "transient"),
        ("ml.run.completed", "persistent"),
        ("flow.reactor.retry", "transient"),
    ],
)
def test_the_reference_reliabilities_hold(name, reliability):
    assert reliability_of(emitted(name)) == reliability
