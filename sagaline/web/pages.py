"""What each page shows: asks the daemon (through the :class:`~sagaline.web.gateway.Gateway`),
shapes the answers with the pure views, renders the live parts.

Each page has a context builder (``runs``, ``run``, ``tree``, ``events``)
used for the whole page, and a ``*_parts`` twin that renders only the
parts a live view replaces (``{element id: html}``, see
:mod:`sagaline.web.feeds`), from the same templates, so a page and its live
updates never disagree.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from sagaline.client.errors import NotFound
from sagaline.messages import admin as m
from sagaline.web import gantt, graph
from sagaline.web.feeds import Parts
from sagaline.web.gateway import Gateway
from sagaline.web.settings import WebSettings
from sagaline.web.traces import TraceCache
from sagaline.web.views import STATUSES, RunFilter, count_rows, event_rows, fmt_duration, fmt_time, run_facts, tree_rows

__all__ = ["Pages", "LINEAGE_SCAN"]

#: Newest runs searched for a run's list row (its lineage) when the daemon's record lacks it.
LINEAGE_SCAN = 500
#: Seconds counts by status are kept while the newest runs change (two polls if longer)...
COUNTS_FRESH_S = 5.0
#: ...and while they do not.
COUNTS_STALE_S = 30.0
#: Events shown by the tail.
EVENTS_SHOWN = 50


class Pages:
    """The pages' data and live parts.

    Args:
        gateway: The daemon.
        render: ``(template name, context) -> html``.
        traces: Where spans are read.
        settings: The console's settings.
        clock: Wall-clock seconds (tests pass a fixed one).
    """

    def __init__(
        self,
        gateway: Gateway,
        render: Callable[[str, dict], str],
        traces: TraceCache,
        settings: WebSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway, self.render, self.traces, self.settings, self.clock = gateway, render, traces, settings, clock
        self._counts: dict[str, tuple[float, tuple, list[dict]]] = {}
        self._lineage: dict[str, dict[str, Any]] = {}

    # ----- runs ---------------------------------------------------------------------------------

    async def runs(self, flt: RunFilter) -> dict[str, Any]:
        size = self.settings.page_size
        data = await self.gateway.request(m.AdminListRuns(**flt.list_request(size, self.settings.scan_limit)))
        rows, total, note = data["runs"], data["total"], ""
        if flt.scans:
            now = self.clock()
            kept = [r for r in rows if flt.keep(r, now)]
            total, rows = len(kept), kept[(flt.page - 1) * size : flt.page * size]
            if data["total"] > len(data["runs"]):
                note = (
                    f"The time range and id prefix were applied among the newest {len(data['runs'])} of "
                    f"{data['total']} runs."
                )
        self._remember(rows)
        catalog = await self.gateway.catalog()
        newest = tuple((r["correlation_id"], r["status"]) for r in data["runs"][:size])
        return {
            "filter": flt,
            "saga_names": [s["name"] for s in catalog.get("sagas", ())],
            "rows": [_run_row(r) for r in rows],
            "total": total,
            "note": note,
            "pages": max(1, math.ceil(total / size)),
            "counts": await self._status_counts(flt.saga, newest),
            "statuses": STATUSES,
        }

    async def runs_parts(self, flt: RunFilter) -> Parts:
        context = await self.runs(flt)
        return Parts(
            {
                "runs-rows": self.render("_runs_rows.html", context),
                "runs-counts": self.render("_runs_counts.html", context),
                "runs-pager": self.render("_runs_pager.html", context),
            }
        )

    async def _status_counts(self, saga: str, newest: tuple) -> list[dict[str, Any]]:
        """Runs by status: one cheap request per status (the admin request counts one filter at a
        time), asked again when the newest runs changed (at most every :data:`COUNTS_FRESH_S`, or
        two polls) or every :data:`COUNTS_STALE_S` anyway."""
        cached = self._counts.get(saga)
        if cached is not None:
            age = self.clock() - cached[0]
            fresh = max(COUNTS_FRESH_S, 2 * self.settings.poll_s)
            if age < fresh or (cached[1] == newest and age < max(COUNTS_STALE_S, fresh)):
                return cached[2]
        answers = await asyncio.gather(
            *(self.gateway.request(m.AdminListRuns(status=[s], saga=saga or None, limit=1)) for s in STATUSES)
        )
        rows = count_rows({s: a["total"] for s, a in zip(STATUSES, answers, strict=False)})
        self._counts[saga] = (self.clock(), newest, rows)
        return rows

    def _remember(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row.get("resumed_from") or row.get("successor"):
                self._lineage[row["correlation_id"]] = row
        while len(self._lineage) > 10_000:
            self._lineage.pop(next(iter(self._lineage)))

    # ----- one run ------------------------------------------------------------------------------

    async def run(self, cid: str, look_up_lineage: bool = True) -> dict[str, Any]:
        """Raises NotFound (no such run) and the other client errors."""
        data = await self.gateway.request(m.AdminShowRun(correlation_id=cid))
        summary = self._lineage.get(cid)
        if summary is None and look_up_lineage and "successor" not in data:
            summary = await self._summary(cid)
        facts = run_facts(data, summary)
        saga = await self._saga_row(facts.saga)
        steps = (saga or {}).get("graph") or (saga or {}).get("steps") or [s.name for s in facts.steps]
        spans = await asyncio.to_thread(self.traces.spans, cid, data.get("started_at"))
        timeline = (
            gantt.from_spans(spans)
            if spans
            else gantt.from_steps(
                data.get("steps") or [], data.get("started_at"), data.get("finished_at"), self.clock()
            )
        )
        return {
            "run": facts,
            "graph": graph.layout(steps, facts.states),
            "timeline": timeline,
            "traces_dir": self.traces.directory,
        }

    async def run_parts(self, cid: str) -> Parts:
        context = await self.run(cid, look_up_lineage=False)
        return Parts({"run-live": self.render("_run_live.html", context)}, final=context["run"].ended)

    async def _summary(self, cid: str) -> dict[str, Any] | None:
        data = await self.gateway.request(m.AdminListRuns(limit=LINEAGE_SCAN))
        self._remember(data["runs"])
        return next((r for r in data["runs"] if r["correlation_id"] == cid), None)

    async def _saga_row(self, name: str) -> dict[str, Any] | None:
        catalog = await self.gateway.catalog()
        return next((s for s in catalog.get("sagas", ()) if s["name"] == name), None)

    # ----- sagas --------------------------------------------------------------------------------

    async def sagas(self) -> dict[str, Any]:
        catalog = await self.gateway.catalog()
        return {"sagas": catalog.get("sagas", []), "apps": catalog.get("apps", [])}

    async def saga(self, name: str) -> dict[str, Any]:
        """Raises NotFound when no loaded app declares ``name``."""
        row = await self._saga_row(name)
        if row is None:
            raise NotFound(f"no saga named {name!r}", "not_found")
        return {"saga": row, "graph": graph.layout(row.get("graph") or row.get("steps") or [])}

    # ----- tree, events -------------------------------------------------------------------------

    async def tree(self) -> dict[str, Any]:
        tree, health = await asyncio.gather(self.gateway.request(m.AdminTree()), self.gateway.request(m.AdminHealth()))
        daemon = dict(health.get("daemon") or {})
        return {
            "rows": tree_rows(tree["tree"]),
            "health": health,
            "daemon": daemon,
            "uptime": fmt_duration(daemon.get("uptime_s")),
            "started": fmt_time(daemon.get("started_at")),
        }

    async def convention(self) -> dict[str, Any]:
        """This daemon's place in the convention, its members, and who holds which partition."""
        data = await self.gateway.request(m.AdminConvention())
        return {"me": data.get("self") or {}, "members": data.get("members") or [], "leases": data.get("leases") or []}

    async def tree_parts(self) -> Parts:
        context = await self.tree()
        return Parts({"tree-live": self.render("_tree_live.html", context)})

    async def events(self, name: str, cid: str) -> dict[str, Any]:
        data = await self.gateway.request(
            m.AdminTailEvents(limit=EVENTS_SHOWN, name_prefix=name, correlation_id=cid or None)
        )
        return {"events": event_rows(data.get("events") or [], name, cid), "name": name, "cid": cid}

    async def events_parts(self, name: str, cid: str) -> Parts:
        context = await self.events(name, cid)
        return Parts({"events-rows": self.render("_events_rows.html", context)})


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    started, finished = row.get("started_at"), row.get("finished_at")
    return {
        **row,
        "started": fmt_time(started),
        "updated": fmt_time(row.get("updated_at")),
        "took": fmt_duration(finished - started) if started is not None and finished is not None else "",
    }
