"""The journal actor: the single writer of ``journal.sqlite``, with group commit.

A supervised child of the root (before the saga supervisor), registered as
``journal``. Every saga actor writes its run through it (the
:class:`~sagaline.actors.journal_port.ActorJournal` port): begins, one
append per applied event, the finish. The saga actor carries out the
commands that follow from a write only when this actor acknowledges it,
which makes the journal **write-ahead**: an effect is never started before
the event that decided it is durable.

**Group commit.** A Thespian actor sees one message at a time and is never
told that its mailbox is empty. So a write is put in the pending batch and,
if no flush is scheduled yet, the actor sends *itself* a
:class:`~sagaline.messages.journal.JournalFlush`. A message to oneself is
queued behind every message already received (multiprocTCPBase appends it
to the envelopes read so far; simpleSystemBase to its queue), so the flush
runs once the writes that arrived meanwhile have joined the batch; the
writes that arrive *during* a commit form the next batch. Batches grow with
load and cost nothing when idle: no fixed delay is added. (A
``wakeupAfter(0)`` batches the envelopes read in the same pass alike and
measured the same; the self-message is kept because it queues the same way
on both bases.) A batch is also flushed at once at ``max_batch`` writes. After the commit every writer gets one
:class:`~sagaline.messages.journal.JournalAck` per run (``upto`` its highest
token). ``flush_delay_s`` > 0 waits that long instead (a commit delay, as
PostgreSQL's); ``group_commit=False`` commits every write alone (the
baseline ``bench/bench_recovery.py`` measures against).

**Durability** (``synchronous``, WAL mode):

* ``NORMAL`` (default): a commit is in the WAL file when acknowledged, not
  yet fsynced. It survives the daemon being killed (SIGKILL, OOM, a crash),
  which is what recovery relies on; a power loss or kernel crash may lose
  the last commits (the database stays consistent). Recovery then re-sends
  an older state of a run: domain commands are exactly-once per idempotency
  key, so their effects are not doubled, but a run may redo steps it had
  already recorded.
* ``FULL``: the WAL is fsynced at every commit; acknowledged writes also
  survive power loss. One fsync per *batch* thanks to group commit.

Failures: a retryable storage error (disk full, I/O error, locked) keeps
the batch and retries it with backoff (up to 5 s); meanwhile no write is
acknowledged, so no run makes progress: nothing is done that is not
recorded. Any other error crashes the actor; its supervisor restarts it and
saga actors re-send what was not acknowledged (writes are idempotent).

**Retention.** Every ``prune_every_s`` the journal deletes completed,
failed and cancelled runs finished more than ``retention_s`` ago (None:
keep forever). Stuck, halted and needs_operator runs are kept.

**Rehearsal hook** ``halt_at`` (tests only, like fault rules): when a write
matching the rule reaches a flush, the journal writes up to ``before`` or
``after`` it, touches ``marker``, then freezes (blocks until killed) or goes
mute (acts dead). This stops a run deterministically at a chosen point.

Args: ``db_path``, ``synchronous``, ``group_commit`` (True), ``max_batch``
(1000), ``flush_delay_s`` (0), ``retention_s`` (7 days), ``prune_every_s``
(300), ``halt_at`` (None).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sagaline.actors.base import BaseActor
from sagaline.messages.journal import (FindRun, GetJournalStats, JournalAck, JournalAppend, JournalFlush,
                                       JournalStats, JournalWrite, LoadRun, LoadUnfinished, PruneRuns, QueryRuns,
                                       RunFound, RunsPruned, RunsQueried, UnfinishedRuns)
from sagaline.storage.aio import AsyncRunner
from sagaline.storage.errors import StorageError
from sagaline.storage.journal_sqlite import SqliteJournal
from sagaline.storage.sqlite import SqliteOptions

__all__ = ["JournalActor", "HaltRule", "DEFAULT_RETENTION_S"]

_log = logging.getLogger("sagaline.journal")
#: Finished runs are kept a week unless configured otherwise.
DEFAULT_RETENTION_S = 7 * 24 * 3600.0
_IO_TIMEOUT_S = 60.0
_MAX_RETRY_S = 5.0


class HaltRule:
    """Where the rehearsal hook stops the journal (see the module docstring).

    Data: ``{"when": "before"|"after", "step": str, "kind": "run"|"compensate"|"undo",
    "outcome": "ok"|"fail"|None, "action": "freeze"|"mute", "marker": path}``.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.when = data.get("when", "after")
        self.step, self.kind = data["step"], data.get("kind", "run")
        self.outcome, self.action = data.get("outcome"), data.get("action", "freeze")
        self.marker = data.get("marker")
        if self.when not in ("before", "after") or self.action not in ("freeze", "mute"):
            raise ValueError(f"bad halt_at rule {data!r}")

    def match(self, ops: list[JournalWrite]) -> int | None:
        """Index of the first write the rule stops at, or None."""
        for index, op in enumerate(ops):
            event = op.event if isinstance(op, JournalAppend) else {}
            if (event.get("e") == "result" and event.get("step") == self.step and event.get("kind") == self.kind
                    and (self.outcome is None or (event.get("outcome") or {}).get("t") == self.outcome)):
                return index
        return None


class JournalActor(BaseActor):
    """The journal's single writer (see the module docstring)."""

    def on_start(self, args: dict[str, Any]) -> None:
        self.runner = AsyncRunner("journal-aio")
        options = SqliteOptions(synchronous=args.get("synchronous", "NORMAL"))
        self.group = bool(args.get("group_commit", True))
        self.max_batch = max(1, int(args.get("max_batch", 1000)))
        self.flush_delay = float(args.get("flush_delay_s", 0.0))
        retention = args.get("retention_s", DEFAULT_RETENTION_S)
        self.retention = None if retention is None else float(retention)
        self.prune_every = float(args.get("prune_every_s", 300.0))
        self.halt = HaltRule(args["halt_at"]) if args.get("halt_at") else None
        self.muted = False
        self.batch: list[tuple[JournalWrite, Any]] = []
        self.generation, self.scheduled, self.retry_s = 0, False, 0.0
        self.stats: dict[str, Any] = {"commits": 0, "writes": 0, "largest": 0, "failures": 0, "seconds": 0.0,
                                      "sizes": Counter()}
        self.store = self.runner.run(SqliteJournal.open(args["db_path"], options), _IO_TIMEOUT_S)
        if self.retention is not None:
            self.timers.start("prune", self.prune_every)

    # ----- writes ------------------------------------------------------------------------

    def receive_JournalWrite(self, message: JournalWrite, sender: Any) -> None:
        if self.muted:
            return
        self.batch.append((message, sender))
        if not self.group or len(self.batch) >= self.max_batch:
            self._flush()
        elif not self.scheduled and not self.retry_s:
            self._schedule()

    def _schedule(self) -> None:
        self.scheduled = True
        self.generation += 1
        if self.flush_delay > 0:
            self.timers.start("flush", self.flush_delay, self.generation)
        else:
            self.send(self.myAddress, JournalFlush(generation=self.generation))

    def receive_JournalFlush(self, message: JournalFlush, sender: Any) -> None:
        if message.generation == self.generation and self.scheduled:
            self._flush()

    def on_timer(self, name: str, data: Any) -> None:
        if name == "flush" and data == self.generation and self.scheduled:
            self._flush()
        elif name == "retry":
            self._flush()  # the backoff (retry_s) is kept until a commit succeeds
        elif name == "prune":
            self._prune(self.retention)
            self.timers.start("prune", self.prune_every)

    def _flush(self) -> None:
        """Commit the pending batch in one transaction, then acknowledge every writer."""
        self.scheduled = False
        if not self.batch or self.muted:
            return
        batch, self.batch = self.batch, []
        halt_index = self.halt.match([op for op, _ in batch]) if self.halt else None
        if halt_index is not None:
            batch = batch[:halt_index + (self.halt.when == "after")]
        if batch and not self._commit(batch):
            return
        if halt_index is not None:
            self._halt()
            return
        self._acknowledge(batch)

    def _commit(self, batch: list[tuple[JournalWrite, Any]]) -> bool:
        started = time.perf_counter()
        try:
            self.runner.run(self.store.write([op for op, _ in batch], time.time()), _IO_TIMEOUT_S)
        except StorageError as exc:
            if not exc.retryable:
                raise
            self.stats["failures"] += 1
            self.retry_s = min(_MAX_RETRY_S, max(0.05, self.retry_s * 2))
            _log.warning("journal commit failed (%s); retrying %d writes in %.2f s", exc, len(batch), self.retry_s)
            self.batch = batch + self.batch
            self.timers.start("retry", self.retry_s)
            return False
        self.retry_s = 0.0
        self.stats["seconds"] += time.perf_counter() - started
        self._count(len(batch))
        if self.batch and not self.scheduled:
            self._schedule()
        return True

    def _count(self, size: int) -> None:
        self.stats["commits"] += 1
        self.stats["writes"] += size
        self.stats["largest"] = max(self.stats["largest"], size)
        self.stats["sizes"][size.bit_length() - 1] += 1

    def _acknowledge(self, batch: list[tuple[JournalWrite, Any]]) -> None:
        upto: dict[str, tuple[Any, int]] = {}  # one writer per run (addresses are not hashable)
        for op, sender in batch:
            upto[op.correlation_id] = (sender, max(op.token, upto.get(op.correlation_id, (None, 0))[1]))
        for cid, (sender, token) in upto.items():
            if sender is not None:
                self.send(sender, JournalAck(correlation_id=cid, upto=token))

    def _halt(self) -> None:
        if self.halt.marker:
            Path(self.halt.marker).write_text("halted\n")
        _log.warning("journal halted by its rehearsal rule (%s)", self.halt.action)
        if self.halt.action == "mute":
            self.muted, self.batch = True, []
            return
        while True:  # freeze: the test kills the whole system now
            time.sleep(3600)

    # ----- reads (after flushing, so a reader sees every write sent before it) -----------

    def _read(self, coroutine: Any) -> Any:
        if self.batch:
            self._flush()
        return self.runner.run(coroutine, _IO_TIMEOUT_S)

    def receive_LoadRun(self, message: LoadRun, sender: Any) -> None:
        if not self.muted:
            self.send(sender, self._read(self.store.load(message.correlation_id)))

    def receive_LoadUnfinished(self, message: LoadUnfinished, sender: Any) -> None:
        if not self.muted:
            self.send(sender, UnfinishedRuns(runs=self._read(self.store.unfinished())))

    def receive_FindRun(self, message: FindRun, sender: Any) -> None:
        if self.muted:
            return
        summary, outcome, steps = self._read(self.store.find(message.correlation_id))
        self.send(sender, RunFound(request=message.request, correlation_id=message.correlation_id,
                                   summary=summary, outcome=outcome, steps=steps))

    def receive_QueryRuns(self, message: QueryRuns, sender: Any) -> None:
        if not self.muted:
            page = self._read(self.store.list_runs(message.query, time.time()))
            self.send(sender, RunsQueried(request=message.request, page=page))

    def receive_PruneRuns(self, message: PruneRuns, sender: Any) -> None:
        age = self.retention if message.older_than_s is None else message.older_than_s
        self.send(sender, RunsPruned(pruned=self._prune(age)))

    def receive_GetJournalStats(self, message: GetJournalStats, sender: Any) -> None:
        sizes = self.stats["sizes"]
        self.send(sender, JournalStats(
            commits=self.stats["commits"], writes=self.stats["writes"], largest_batch=self.stats["largest"],
            failures=self.stats["failures"], commit_seconds=round(self.stats["seconds"], 3),
            batch_sizes=[sizes.get(i, 0) for i in range(max(sizes, default=-1) + 1)]))

    def _prune(self, age: float | None) -> int:
        if age is None or self.muted:
            return 0
        total = 0
        for _ in range(20):  # bounded: a huge backlog is pruned over several ticks
            pruned = self._read(self.store.prune(time.time() - age))
            total += pruned
            if pruned < 5000:
                break
        if total:
            _log.info("journal pruned %d finished runs older than %.0f s", total, age)
        return total

    # ----- end -----------------------------------------------------------------------------

    def on_terminate(self, reason: Any) -> None:
        runner = getattr(self, "runner", None)
        if runner is None:
            return
        try:
            if self.batch and not self.muted:
                self._flush()
            if getattr(self, "store", None) is not None:
                runner.run(self.store.close(), 5.0)
        except Exception:
            _log.exception("journal: closing failed")
        runner.close()
