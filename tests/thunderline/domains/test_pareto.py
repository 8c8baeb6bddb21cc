"""The Pareto frontier is a pure function: exactly the non-dominated candidates."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thunderline.domains import nas, pareto, policy
from thunderline.domains.pareto import Candidate, choose, dominates, frontier

candidates = st.lists(
    st.builds(
        Candidate,
        st.text(alphabet="abcdef", min_size=1, max_size=3),
        st.floats(0, 1, allow_nan=False),
        st.integers(1, 50).map(float),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(candidates)
def test_no_frontier_member_is_dominated_by_any_candidate(models):
    front = frontier(models)
    assert not any(dominates(other, member) for member in front for other in models)


@settings(max_examples=300, deadline=None)
@given(candidates)
def test_every_candidate_left_out_is_dominated_by_some_member(models):
    front = frontier(models)
    left_out = list(models)
    for member in front:
        left_out.remove(member)
    assert all(any(dominates(member, c) for member in front) for c in left_out)


@settings(max_examples=200, deadline=None)
@given(candidates)
def test_the_frontier_does_not_depend_on_input_order(models):
    assert frontier(models) == frontier(list(reversed(models)))


def test_a_sorted_top_list_is_not_a_frontier():
    # The original kept the five most accurate: that keeps b (dominated by a) and drops c.
    a, b, c = Candidate("a", 0.9, 100), Candidate("b", 0.89, 500), Candidate("c", 0.5, 10)
    assert frontier([a, b, c]) == [c, a]


def test_identical_models_both_stay_on_the_frontier():
    twins = [Candidate("x", 0.8, 10), Candidate("y", 0.8, 10)]
    assert frontier(twins) == twins


def test_the_chosen_model_is_the_most_accurate_within_the_bound_ties_to_the_smaller():
    front = [Candidate("small", 0.7, 10), Candidate("mid", 0.9, 100), Candidate("big", 0.95, 1000)]
    assert choose(front).id == "big"
    assert choose(front, max_size=500).id == "mid"
    assert choose(front, max_size=5) is None
    assert choose([Candidate("b", 0.9, 20), Candidate("a", 0.9, 10)]).id == "a"


@pytest.mark.parametrize("accuracy, size", [(math.nan, 1), (0.5, math.inf)])
def test_a_candidate_must_have_finite_metrics(accuracy, size):
    with pytest.raises(ValueError):
        Candidate("x", accuracy, size)


@pytest.mark.parametrize("module", [pareto, nas, policy])
def test_the_pure_modules_import_no_actor_storage_or_telemetry_code(module):
    tree = ast.parse(Path(module.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    impure = (
        "thespian",
        "aiosqlite",
        "opentelemetry",
        "sqlite3",
        "asyncio",
        "sklearn",
        "numpy",
        "sagaline.storage",
        "sagaline.actors",
    )
    assert not [n for n in names if n.startswith(impure)]
