"""Timelines from spans or step times, and the saga graph's layout."""

from sagaline.web import gantt, graph
from tests.web.samples import GRAPH, STEPS, T0


def _span(span_id, name, start, end, parent=None, status="ok", **attrs):
    return {
        "type": "span",
        "trace_id": "t",
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_ns": int(start * 1e6),
        "end_ns": int(end * 1e6),
        "status": status,
        "status_message": "boom" if status == "error" else None,
        "attributes": attrs,
        "pid": 7,
    }


SPANS = [
    _span("root", "saga onboard", 0, 100, **{"sagaline.saga": "onboard"}),
    _span("s2", "step create_user", 10, 30, "root", **{"sagaline.invocation.kind": "step", "sagaline.attempt": 2}),
    _span(
        "s1", "step create_user", 2, 8, "root", "error", **{"sagaline.invocation.kind": "step", "sagaline.attempt": 1}
    ),
    _span(
        "c1",
        "gate CreateUser",
        11,
        29,
        "s2",
        **{"sagaline.command": "CreateUser", "sagaline.idempotency_key": "x:create_user:run:1"},
    ),
    _span("u1", "undo create_user", 80, 90, "root", **{"sagaline.invocation.kind": "undo", "sagaline.attempt": 1}),
    _span("c2", "gate DeleteUser", 81, 89, "u1", **{"sagaline.command": "DeleteUser"}),
    _span(
        "orphan",
        "block ProvisionVault",
        40,
        50,
        "missing-parent",
        **{"sagaline.command": "ProvisionVault", "sagaline.idempotency_key": "x:pv:undo:0"},
    ),
]


def test_spans_become_bars_under_their_parents_in_start_order():
    timeline = gantt.from_spans(list(reversed(SPANS)))
    assert [(b.label, b.depth) for b in timeline.bars] == [
        ("saga onboard", 0),
        ("step create_user", 1),
        ("step create_user #2", 1),
        ("gate CreateUser", 2),
        ("undo create_user", 1),
        ("gate DeleteUser", 2),
        ("block ProvisionVault", 0),
    ]
    assert timeline.source == "spans" and timeline.total == "100.0 ms" and timeline.processes == 1


def test_bars_are_placed_as_percentages_of_the_run():
    bars = {b.label: b for b in gantt.from_spans(SPANS).bars}
    assert (bars["saga onboard"].start_pct, bars["saga onboard"].width_pct) == (0.0, 100.0)
    assert (bars["step create_user #2"].start_pct, bars["step create_user #2"].width_pct) == (10.0, 20.0)


def test_undos_and_what_they_send_are_marked_rollback_and_errors_and_retries_show():
    bars = gantt.from_spans(SPANS).bars
    rollback = {b.label for b in bars if b.rollback}
    assert rollback == {"undo create_user", "gate DeleteUser", "block ProvisionVault"}
    failed = [b for b in bars if b.error]
    assert [(b.label, b.error, b.attempt) for b in failed] == [("step create_user", "boom", 1)]
    assert next(b for b in bars if b.label.endswith("#2")).kind == "step"


def test_a_tiny_span_still_gets_a_visible_bar():
    bars = gantt.from_spans(
        [
            _span("r", "saga x", 0, 1000, **{"sagaline.saga": "x"}),
            _span("t", "step a", 500, 500.01, "r", **{"sagaline.invocation.kind": "step"}),
        ]
    ).bars
    assert bars[1].width_pct == gantt.MIN_WIDTH_PCT


def test_without_spans_the_steps_own_times_draw_a_coarser_timeline():
    timeline = gantt.from_steps(STEPS, T0, None, now=T0 + 0.2)
    assert timeline.source == "steps"
    assert [b.label for b in timeline.bars] == [
        "run",
        "step validate_email",
        "step create_user",
        "step provision_vault",
    ]
    running = timeline.bars[-1]
    assert running.start_pct == 50.0 and running.start_pct + running.width_pct == 100.0
    assert gantt.from_spans([]).source == gantt.from_steps([], None, None, 0).source == "none"


def test_steps_are_layered_after_their_deepest_need_with_implied_edges_left_out():
    layout = graph.layout(GRAPH, {"create_user": "succeeded"})
    ys = {n.name: n.y for n in layout.nodes}
    assert ys["validate_email"] < ys["create_user"] < ys["provision_vault"] < ys["emit"]
    assert {(e.source, e.target) for e in layout.edges} == {
        ("validate_email", "create_user"),
        ("create_user", "provision_vault"),
        ("provision_vault", "emit"),
    }
    assert {n.name: n.status for n in layout.nodes}["create_user"] == "succeeded"
    assert {n.name: n.status for n in layout.nodes}["emit"] == "pending"


def test_parallel_steps_sit_side_by_side_within_the_canvas():
    steps = [
        {"name": "a", "needs": []},
        {"name": "b", "needs": ["a"]},
        {"name": "c", "needs": ["a"]},
        {"name": "d", "needs": ["b", "c"]},
    ]
    layout = graph.layout(steps)
    nodes = {n.name: n for n in layout.nodes}
    assert nodes["b"].y == nodes["c"].y and nodes["b"].x + graph.NODE_W < nodes["c"].x
    assert all(n.x >= 0 and n.x + graph.NODE_W <= layout.width for n in layout.nodes)
    assert len(layout.edges) == 4


def test_a_catalog_with_only_step_names_draws_one_column_without_edges():
    layout = graph.layout(["a", "b", "c"])
    assert (
        not layout.edges_known
        and layout.edges == []
        and [n.y for n in layout.nodes] == sorted(n.y for n in layout.nodes)
    )


def test_a_cycle_in_the_rows_does_not_hang_the_layout():
    layout = graph.layout([{"name": "a", "needs": ["b"]}, {"name": "b", "needs": ["a"]}])
    assert len(layout.nodes) == 2
