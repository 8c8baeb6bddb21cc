"""PURE. A saga's steps and their dependencies laid out for a server-rendered SVG.

:func:`layout` places each step in the layer after its deepest dependency
(top to bottom, as ``sagaline graph``'s Mermaid ``flowchart TD``), steps of
one layer side by side in declaration order, and draws one edge per
dependency (a result it takes or a ``wait_for``) that no longer path
already implies (a transitive reduction: ``create_user`` needs
``validate_email`` through ``send_magic_link``, so that edge is not drawn
again across the nodes between them). Each node carries the
run's state of that step (``pending`` when none is known), which the page
colours. Steps come from the catalog (``AdminCatalog``'s ``graph`` rows:
name, needs, runs, undo); when a daemon reports only step names, they are
drawn in one column without edges and :attr:`Layout.edges_known` is False.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GraphNode", "GraphEdge", "Layout", "layout", "NODE_W", "NODE_H"]

#: Node size and gaps, in SVG user units (fits a 24-character step name in 12.5 px bold text).
NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 200, 46, 24, 42, 12


@dataclass(frozen=True)
class GraphNode:
    name: str
    x: float
    y: float
    status: str
    runs: str
    undo: bool
    label: str


@dataclass(frozen=True)
class GraphEdge:
    path: str
    """SVG path data from the dependency's bottom to the step's top."""
    source: str
    target: str


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    edges_known: bool = True


def _rows(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """Catalog rows as dicts (a bare name becomes a step with unknown needs)."""
    return [dict(s) if isinstance(s, Mapping) else {"name": str(s)} for s in steps]


def _layers(rows: list[dict[str, Any]]) -> dict[str, int]:
    names = {r["name"] for r in rows}
    needs = {r["name"]: [n for n in r.get("needs") or () if n in names] for r in rows}
    layer: dict[str, int] = {}

    def depth(name: str, trail: frozenset[str]) -> int:
        if name not in layer:
            deps = [d for d in needs[name] if d not in trail]  # a cycle cannot be planned; never loop on one
            layer[name] = 1 + max((depth(d, trail | {name}) for d in deps), default=-1)
        return layer[name]

    for row in rows:
        depth(row["name"], frozenset())
    return layer


def _reduced(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each step's direct needs minus those reachable through another of its needs."""
    needs = {r["name"]: [n for n in r.get("needs") or () if n != r["name"]] for r in rows}
    reach: dict[str, set[str]] = {}

    def ancestors(name: str, trail: frozenset[str]) -> set[str]:
        if name not in reach:
            found: set[str] = set()
            for dep in needs.get(name, ()):
                if dep not in trail:
                    found |= {dep} | ancestors(dep, trail | {name})
            reach[name] = found
        return reach[name]

    return {
        name: [d for d in deps if not any(d in ancestors(other, frozenset({name})) for other in deps if other != d)]
        for name, deps in needs.items()
    }


def _cut(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def layout(steps: Iterable[Any], states: Mapping[str, str] | None = None) -> Layout:
    """Place ``steps`` (catalog rows or names) with ``states`` (step -> status) for an SVG."""
    rows, states = _rows(steps), states or {}
    if not rows:
        return Layout(0, 0, [], [])
    known = all("needs" in r for r in rows)
    layer = _layers(rows) if known else {r["name"]: i for i, r in enumerate(rows)}
    by_layer: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_layer.setdefault(layer[row["name"]], []).append(row)
    widest = max(len(v) for v in by_layer.values())
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X
    nodes: dict[str, GraphNode] = {}
    for level, members in sorted(by_layer.items()):
        span = len(members) * NODE_W + (len(members) - 1) * GAP_X
        x0 = (width - span) / 2
        for index, row in enumerate(members):
            name = row["name"]
            nodes[name] = GraphNode(
                name,
                x0 + index * (NODE_W + GAP_X),
                MARGIN + level * (NODE_H + GAP_Y),
                states.get(name, "pending"),
                str(row.get("runs") or ""),
                bool(row.get("undo")),
                _cut(name),
            )
    edges = (
        [_edge(nodes[dep], nodes[name]) for name, deps in _reduced(rows).items() for dep in deps if dep in nodes]
        if known
        else []
    )
    height = 2 * MARGIN + (max(by_layer) + 1) * NODE_H + max(by_layer) * GAP_Y
    return Layout(width, height, [nodes[r["name"]] for r in rows], edges, known)


def _edge(source: GraphNode, target: GraphNode) -> GraphEdge:
    x1, y1 = source.x + NODE_W / 2, source.y + NODE_H
    x2, y2 = target.x + NODE_W / 2, target.y
    middle = (y1 + y2) / 2
    return GraphEdge(
        f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2 - 4:.1f}",
        source.name,
        target.name,
    )
