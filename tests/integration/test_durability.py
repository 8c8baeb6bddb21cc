"""The durable journal in a running tree: write-ahead records, restarts, durable timers,
needs_operator, stuck announcements, retention, and cancellations racing completion; every test
on both storage backends (``storage_url``: SQLite files, a PostgreSQL database)."""

from __future__ import annotations

from sagaline.messages.ids import uuid7
from sagaline.messages.saga import ListRuns, ResumeRun, RunSnapshot, StartSaga
from sagaline.saga import Executor
from sagaline.saga.journal import Append, Begin, replay
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.location import store_location
from sagaline.telemetry import Collector
from sagaline.telemetry import names as tn
from sagaline.telemetry.core import telemetry
from tests.integration.crash.support import JournalView, drive, effect_counts, seed_journal, simple_life
from tests.support.tree import wait_until
from thunderline.testing import definition

SAGA = "user_provisioning"
EVERYTHING = {"users": 1, "live_tokens": 1, "vaults": 1, "memberships": 1}
NOTHING = {"users": 0, "live_tokens": 0, "vaults": 0, "memberships": 0}
STUCK_FAULTS = {
    "block": [{"command": "ProvisionVault", "code": "vault_quota_exceeded"}],
    "link": [{"command": "LeaveCommunity", "code": "community_locked"}],
}


def test_every_transition_is_journaled_and_replays_to_the_runs_outcome(make_tree, storage_url):
    t = make_tree(storage_url=storage_url)
    out = t.client.run(SAGA, {"email": "ada@example.com"})
    journal = SqliteJournal.open(store_location(storage_url, t.db.data_dir, "journal"))
    try:
        loaded = journal.load(out.correlation_id)
    finally:
        journal.close()
    state = replay(Executor(definition(SAGA)), loaded)
    assert loaded.finished and loaded.outcome == out
    assert (state.status, state.result) == ("completed", out.result)
    events = JournalView(t.db.data_dir, storage_url).events(out.correlation_id)
    assert events[:4] == [f"{s}:run:ok" for s in ("validate_email", "generate_token", "send_magic_link", "create_user")]
    assert sorted(events[4:6]) == ["create_default_community:run:ok", "provision_vault:run:ok"]  # concurrent
    assert events[6:] == ["emit_onboarding_event:run:ok"]


def test_a_start_with_a_correlation_id_the_journal_knows_returns_that_run_after_a_restart(tmp_path, storage_url):
    cid = uuid7()
    with simple_life(tmp_path / "data", tmp_path / "l1", storage_url=storage_url) as t:
        assert t.client.run(SAGA, {"email": "ada@example.com"}, correlation_id=cid).status == "completed"
    with simple_life(tmp_path / "data", tmp_path / "l2", storage_url=storage_url) as t:
        again = t.client.start(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
        waited = t.client.run(SAGA, {"email": "ada@example.com"}, correlation_id=cid)
        status = t.client.status(cid)
    assert again.existing and waited.status == "completed" and waited.correlation_id == cid
    assert isinstance(status, RunSnapshot) and status.status == "completed"
    assert {s.name: s.status for s in status.steps}["provision_vault"] == "succeeded"
    assert effect_counts(t.db, cid) == EVERYTHING


def test_a_retry_timer_pending_at_a_crash_is_re_armed_for_its_remaining_time(tmp_path, storage_url):
    marker = tmp_path / "halted"
    faults = {"gate": [{"command": "CreateUser", "retryable": True, "times": 1, "code": "gate_busy"}]}
    halt = {"when": "after", "step": "create_user", "outcome": "fail", "action": "mute", "marker": str(marker)}
    with simple_life(tmp_path / "data", tmp_path / "l1", storage_url=storage_url, faults=faults, halt_at=halt) as t:
        cid = t.client.start(SAGA, {"email": "ada@example.com"}).correlation_id
        wait_until(lambda: drive(t) and marker.exists(), timeout=20)
    journal = JournalView(tmp_path / "data", storage_url)
    store = SqliteJournal.open(store_location(storage_url, tmp_path / "data", "journal"))
    try:
        step = replay(Executor(definition(SAGA)), store.load(cid)).steps["create_user"]
    finally:
        store.close()
    assert step.status == "retrying" and step.retry_at is not None
    with simple_life(tmp_path / "data", tmp_path / "l2", storage_url=storage_url) as t:
        out = t.client.wait(cid, timeout=30)
    assert out.status == "completed"
    assert journal.events(cid).count("create_user:run:fail") == 1
    assert effect_counts(t.db, cid) == EVERYTHING


def test_runs_of_a_retired_saga_or_with_corrupt_rows_need_an_operator_and_are_never_dropped(tmp_path, storage_url):
    data = tmp_path / "data"
    data.mkdir()
    retired, corrupt, misfit = uuid7(), uuid7(), uuid7()

    def begin(cid, saga, inputs):
        return Begin(StartSaga(saga=saga, inputs=inputs, correlation_id=cid), 1, 1.0)

    seed_journal(
        store_location(storage_url, data, "journal"),
        [
            begin(retired, "retired_saga", {"email": "a@b.co"}),
            begin(corrupt, SAGA, {"email": "a@b.co"}),
            Append(corrupt, 1, 2.0, {"e": "gibberish"}, "running"),
            begin(misfit, SAGA, {"mail": 1}),
        ],
    )
    with simple_life(data, tmp_path / "l1", storage_url=storage_url) as t:
        page = wait_until(
            lambda: (p := t.handle.ask(t.tree.sagas, ListRuns(status=["needs_operator"]), 10)).total == 3 and p,
            timeout=20,
        )
        codes = {s.correlation_id: s.error_code for s in page.runs}
        retry = t.handle.ask(t.tree.sagas, ResumeRun(correlation_id=corrupt), 10)
        retired_answer = t.handle.ask(t.tree.sagas, ResumeRun(correlation_id=retired), 10)
        again = t.client.wait(corrupt, timeout=20)
    assert codes == {retired: "unknown_saga", corrupt: "corrupt_record", misfit: "corrupt_record"}
    assert retry.accepted and again.status == "needs_operator"
    assert not retired_answer.accepted and "not in the catalog" in retired_answer.message
    assert JournalView(data, storage_url).statuses() == {
        retired: "needs_operator",
        corrupt: "needs_operator",
        misfit: "needs_operator",
    }


def test_a_stuck_run_is_announced_by_an_event_and_telemetry_and_listed_with_its_failed_compensations(
    tmp_path, storage_url
):
    collector = Collector()
    telemetry.attach_many("durability-stuck", [tn.SAGA_STUCK], collector)
    try:
        with simple_life(tmp_path / "data", tmp_path / "l1", storage_url=storage_url, faults=STUCK_FAULTS) as t:
            out = t.client.run(SAGA, {"email": "ada@example.com"})
            page = t.handle.ask(t.tree.sagas, ListRuns(status=["stuck"]), 10)
    finally:
        telemetry.detach("durability-stuck")
    assert out.status == "stuck" and out.failed_compensations == ["create_default_community"]
    assert [(s.correlation_id, s.failed_compensations) for s in page.runs] == [
        (out.correlation_id, ["create_default_community"])
    ]
    [(_, meta)] = collector.named(tn.SAGA_STUCK)
    assert meta["failed_compensations"] == ["create_default_community"]
    from sagaline.messages.codec import unpack_value

    [(payload,)] = t.db.rows(
        "flow",
        "SELECT payload FROM events WHERE name = 'reactor.saga.stuck' AND correlation_id = ?",
        out.correlation_id,
    )
    assert unpack_value(payload) == {
        "saga": SAGA,
        "failed_step": "provision_vault",
        "reason": "vault_provisioning_failed",
        "failed_compensations": ["create_default_community"],
    }
    assert effect_counts(t.db, out.correlation_id) == {**NOTHING, "memberships": 1}


def _ids_in_share(ratio: float, inside: int, outside: int) -> list[str]:
    """Correlation ids of which ``inside`` fall in a fault rule's ``ratio`` share and ``outside`` do not."""
    import zlib

    found: dict[bool, list[str]] = {True: [], False: []}
    while len(found[True]) < inside or len(found[False]) < outside:
        cid = uuid7()
        found[zlib.crc32(cid.encode()) % 10_000 < ratio * 10_000].append(cid)
    return found[True][:inside] + found[False][:outside]


def test_finished_runs_are_pruned_after_the_retention_age_but_stuck_runs_are_kept(make_tree, storage_url):
    t = make_tree(
        storage_url=storage_url,
        retention_s=0.2,
        prune_every_s=0.1,
        faults={"link": STUCK_FAULTS["link"], "block": [{**STUCK_FAULTS["block"][0], "ratio": 0.5}]},
    )
    ids = _ids_in_share(0.5, inside=2, outside=3)  # fault rules pick runs by a hash of their id
    outcomes = [t.client.run(SAGA, {"email": f"u{i}@example.com"}, correlation_id=cid) for i, cid in enumerate(ids)]
    stuck = {o.correlation_id for o in outcomes if o.status == "stuck"}
    assert len(stuck) == 2 and {o.status for o in outcomes} == {"stuck", "completed"}
    wait_until(lambda: {s.correlation_id for s in t.handle.ask(t.tree.sagas, ListRuns(), 10).runs} == stuck, timeout=30)
    assert JournalView(t.db.data_dir, storage_url).rows("SELECT COUNT(DISTINCT correlation_id) FROM run_events") == [
        (len(stuck),)
    ]


def test_a_cancel_racing_completion_ends_in_exactly_one_terminal_state(make_tree, storage_url):
    import time

    t = make_tree(storage_url=storage_url, hosts=2)
    results = []
    for i in range(14):
        accepted = t.client.start(SAGA, {"email": f"race{i}@example.com"})
        for _ in range(i):
            drive(t)
            if t.handle.multiprocess:
                time.sleep(0.005)
        answer = t.client.cancel(accepted.correlation_id, reason="racing")
        results.append((accepted.correlation_id, answer))
    journal = JournalView(t.db.data_dir, storage_url)
    for cid, answer in results:
        out = t.client.wait(cid, timeout=30)
        late = t.client.cancel(cid)
        assert out.status in ("completed", "cancelled"), out
        assert answer.accepted == (out.status == "cancelled"), (answer, out)
        assert not late.accepted and late.status == out.status
        assert journal.statuses()[cid] == out.status
        assert effect_counts(t.db, cid) == (EVERYTHING if out.status == "completed" else NOTHING)
        events = journal.rows("SELECT COUNT(*) FROM run_events WHERE correlation_id = ?", cid)[0][0]
        assert journal.rows("SELECT last_seq FROM runs WHERE correlation_id = ?", cid) == [(events,)]
