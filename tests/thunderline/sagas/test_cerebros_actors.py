"""CerebrosNAS end to end on both bases: the root tree with bolt, crown and the bridge as
domain actors, runs driven by the saga actor, effects read from SQLite.

:class:`Lab` (the tree with this issue's domains) is shared with ``test_upm_actors``."""

from __future__ import annotations

import sqlite3

import pytest

from sagaline.client import SagaClient
from sagaline.daemon.tree import start_tree
from sagaline.events.flow import TailEvents
from sagaline.messages.base import Headers
from sagaline.messages.ids import uuid7
from sagaline.messages.registry import Lookup
from tests.support.tree import pid_alive, wait_until
from thunderline.messages.bridge import ListTrials
from thunderline.testing import tree_config

SPACE = {
    "hidden_layers": [1],
    "widths": [4, 8, 16],
    "activations": ["relu"],
    "learning_rates": [0.01],
    "batch_sizes": [128],
    "epochs": 4,
}


class Lab:
    def __init__(self, handle, data_dir, faults=None) -> None:
        self.handle, self.data_dir = handle, data_dir
        self.tree = start_tree(
            handle,
            tree_config(
                data_dir,
                "gate",
                "block",
                "link",
                "crown",
                "bolt",
                "bridge",
                domain_config={"flow": {"mode": "raise"}},
                faults=faults or {},
            ),
        )
        self.client = SagaClient(handle, self.tree.sagas)

    def actor(self, domain: str):
        return self.handle.ask(self.tree.registry, Lookup(key=f"domain:{domain}")).entries[0].holder

    def ask(self, domain: str, command_type, **fields):
        headers = Headers(correlation_id=uuid7(), idempotency_key=uuid7())
        return self.handle.ask(self.actor(domain), command_type(headers=headers, **fields), 30)

    def rows(self, domain: str, sql: str):
        conn = sqlite3.connect(f"file:{self.data_dir / f'{domain}.sqlite'}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


@pytest.fixture
def lab(actor_system, tmp_path):
    return lambda **options: Lab(actor_system, tmp_path / "data", **options)


def test_a_nas_run_through_the_saga_actor_versions_a_model_and_emits_one_event(lab):
    t = lab()
    out = t.client.run("cerebros_nas", {"dataset_id": "digits", "search_space": SPACE, "max_trials": 3}, timeout=120)
    assert out.status == "completed", out
    assert t.rows("bolt", "SELECT state FROM model_runs") == [("succeeded",)]
    assert t.rows("bolt", "SELECT COUNT(*) FROM artifacts") == [(3,)]
    [(version_id, artifact_id, run_id)] = t.rows("bolt", "SELECT id, artifact_id, run_id FROM model_versions")
    assert (out.result["best_model_id"], out.result["version"]["version_id"], out.result["run_id"]) == (
        artifact_id,
        version_id,
        run_id,
    )
    assert t.rows("flow", "SELECT name, correlation_id FROM events WHERE name = 'ml.run.completed'") == [
        ("ml.run.completed", out.correlation_id)
    ]


def test_each_trained_trial_is_announced_on_the_bus_as_it_completes_in_the_runs_correlation_id(lab):
    t = lab()
    out = t.client.run("cerebros_nas", {"dataset_id": "digits", "search_space": SPACE, "max_trials": 3}, timeout=120)
    assert out.status == "completed", out
    trials = wait_until(
        lambda: (lambda rows: rows if len(rows) == 3 else None)(
            t.rows("flow", "SELECT correlation_id, source, seq FROM events WHERE name = 'ml.trial.completed'")
        )
    )
    assert {(cid, source) for cid, source, _ in trials} == {(out.correlation_id, "bolt")}
    [(run_seq,)] = t.rows("flow", "SELECT seq FROM events WHERE name = 'ml.run.completed'")
    assert max(seq for _, _, seq in trials) < run_seq  # every trial's moment came before the run's end
    shown = {x.trial_id: x for x in t.ask("bridge", ListTrials).trials}
    tail = t.handle.ask(t.actor("flow"), TailEvents(name_prefix="ml.trial.", correlation_id=out.correlation_id), 10)
    payloads = sorted((e.payload for e in tail.events), key=lambda p: p["completed_trials"])
    assert [p["completed_trials"] for p in payloads] == [1, 2, 3] and {p["total_trials"] for p in payloads} == {3}
    assert {p["trial_id"] for p in payloads} == set(shown) and {p["run_id"] for p in payloads} == {out.result["run_id"]}
    assert all(0 < p["accuracy"] <= 1 and p["param_count"] > 0 for p in payloads)


def test_a_failure_after_dispatch_through_the_saga_actor_leaves_no_trainer_and_fails_the_run(lab, actor_system):
    t = lab(faults={"bridge": [{"command": "AwaitTrials", "code": "forced"}]})
    endless = dict(SPACE, epochs=1_000_000)
    out = t.client.run("cerebros_nas", {"dataset_id": "digits", "search_space": endless}, timeout=120)
    assert (out.status, out.failed_step, out.error["code"]) == ("failed", "await_completion", "forced")
    trials = t.ask("bridge", ListTrials).trials
    assert len(trials) == 3 and {x.state for x in trials} == {"cancelled"}
    if actor_system.multiprocess:  # a trainer cancelled before it told its pid is killed when it does

        def pids():
            started = [x for x in t.ask("bridge", ListTrials).trials if x.trainer]
            return started and all(x.pid for x in started) and {x.pid for x in started}

        pids = wait_until(pids)
        wait_until(lambda: not any(pid_alive(p) for p in pids))
    [(state, reason)] = t.rows("bolt", "SELECT state, reason FROM model_runs")
    assert state == "failed" and reason.startswith("await_completion failed: forced")


def test_cancelling_a_nas_run_interrupts_its_training_and_rolls_it_back(lab, actor_system):
    # The stopping run interrupts its in-flight await: CancelTrials reaches the bridge,
    # which kills the trainers and answers the await, so the run drains at once.
    t = lab()
    endless = dict(SPACE, epochs=1_000_000)
    started = t.client.start("cerebros_nas", {"dataset_id": "digits", "search_space": endless, "max_trials": 2})
    running = wait_until(
        lambda: (
            [x for x in t.ask("bridge", ListTrials).trials if x.state == "running" and x.pid and x.epoch > 0] or None
        ),
        timeout=60,
    )
    assert t.client.cancel(started.correlation_id, reason="operator").accepted
    out = t.client.wait(started.correlation_id, timeout=60)
    assert out.status == "cancelled", out
    assert {x.state for x in t.ask("bridge", ListTrials).trials} == {"cancelled"}
    if actor_system.multiprocess:
        wait_until(lambda: not any(pid_alive(x.pid) for x in running))
    assert t.rows("bolt", "SELECT state, reason FROM model_runs") == [("cancelled", "its saga run was rolled back")]
