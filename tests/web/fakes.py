"""A stand-in for the console's gateway: canned daemon answers, and the calls it was asked."""

from __future__ import annotations

import copy
from typing import Any

from sagaline.client.errors import BadInput, DaemonUnreachable, NotFound
from sagaline.client.results import StartResult
from sagaline.messages.saga import CancelAnswer, OperatorAnswer
from tests.web.samples import (
    CATALOG,
    CID,
    CONVENTION,
    DONE,
    EVENTS,
    HEALTH,
    TREE,
    completed_run,
    running_run,
    summary,
)


class FakeGateway:
    """Answers like a daemon with one running and one completed run of saga ``onboard``."""

    def __init__(self) -> None:
        self.runs = {CID: running_run(), DONE: completed_run()}
        self.rows = [summary(CID), summary(DONE, "completed", started=running_run()["started_at"] - 1)]
        self.requests: list[Any] = []
        self.calls: list[tuple] = []
        self.down = False

    async def request(self, request: Any) -> dict[str, Any]:
        if self.down:
            raise DaemonUnreachable("no sagaline daemon is running on 127.0.0.1:7720", "unreachable")
        self.requests.append(request)
        kind = type(request).__name__
        if kind == "AdminListRuns":
            rows = [
                r
                for r in self.rows
                if (not request.status or r["status"] in request.status)
                and (not request.saga or r["saga"] == request.saga)
            ]
            return {
                "runs": rows[request.offset : request.offset + request.limit],
                "total": len(rows),
                "offset": request.offset,
            }
        if kind == "AdminShowRun":
            if request.correlation_id not in self.runs:
                raise NotFound(f"not_found: no run {request.correlation_id!r}", "not_found")
            return copy.deepcopy(self.runs[request.correlation_id])
        return copy.deepcopy(
            {
                "AdminTree": TREE,
                "AdminHealth": HEALTH,
                "AdminTailEvents": EVENTS,
                "AdminCatalog": CATALOG,
                "AdminConvention": CONVENTION,
            }[kind]
        )

    async def catalog(self) -> dict[str, Any]:
        return await self.request(type("AdminCatalog", (), {})())

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        if name == "start":
            saga, inputs = args
            if inputs.get("email") == "refused@example.com":
                raise BadInput("invalid: saga 'onboard': invalid input: email: taken", "invalid")
            return StartResult(correlation_id="01a241ff-0000-7000-8000-000000000001", saga=saga, existing=False)
        if name == "cancel":
            return CancelAnswer(correlation_id=args[0], accepted=True, status="draining")
        return OperatorAnswer(
            correlation_id=args[0],
            accepted=True,
            status="running",
            message="resumed",
            successor="01a241ff-0000-7000-8000-000000000002",
        )

    async def close(self) -> None:
        pass
