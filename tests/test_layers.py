"""The package-level import graph of sagaline has no cycle (import-linter's contracts in pyproject.toml
state the layers; this proves the weaker, whole-graph property they imply, for every package)."""

import grimp


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("sagaline", cache_dir=None)
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if importer != "sagaline" and _package(importer) != _package(imported):
                edges.setdefault(_package(importer), set()).add(_package(imported))
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` (as a path that ends where it starts), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], path[len(path) :] = "open", [node]
        for after in sorted(edges.get(node, ())):
            if state.get(after) == "open":
                return path[path.index(after) :] + [after]
            if after not in state and (found := visit(after)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_of_three():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "d": {"a"}}) is None


def test_the_packages_of_sagaline_import_each_other_without_a_cycle():
    edges = _package_graph()
    assert "sagaline.actors" in edges and "sagaline.messages" in edges["sagaline.actors"]  # the graph is real
    assert _cycle(edges) is None
