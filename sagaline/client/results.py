"""PURE. What :class:`sagaline.Client` returns, beside the message models it reuses.

Reused as they are: :class:`~sagaline.messages.saga.RunOutcome` (``wait``),
:class:`~sagaline.messages.saga.RunSummary` (rows of ``list``),
:class:`~sagaline.messages.saga.StepSnapshot` (steps of ``get``),
:class:`~sagaline.messages.saga.CancelAnswer` (``cancel``) and
:class:`~sagaline.messages.saga.OperatorAnswer` (``retry``, ``resume``).
The records here gather what one answer says and are built from the
daemon's JSON-ready ``data`` with :meth:`from_data` (unknown keys ignored, so
a newer daemon does not break an older client).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from sagaline.messages.saga import RunOutcome, RunSummary, StepSnapshot

__all__ = ["StartResult", "RunRecord", "RunList", "Health"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        """Build from an :class:`~sagaline.messages.admin.AdminResult`'s ``data``."""
        return cls.model_validate(data)


class StartResult(_Record):
    """The answer to ``Client.start``."""

    correlation_id: str
    """The run's id (the client's own when it gave one)."""
    saga: str
    """The saga it runs."""
    existing: bool
    """True when a run with this id already existed: nothing new was started."""
    outcome: RunOutcome | None = None
    """With ``wait``: how the run ended."""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        outcome = (
            RunOutcome.model_validate({k: v for k, v in data.items() if k in RunOutcome.model_fields})
            if "status" in data
            else None
        )
        return cls(
            correlation_id=data["correlation_id"],
            saga=data["saga"],
            existing=bool(data.get("existing")),
            outcome=outcome,
        )


class RunRecord(_Record):
    """Everything known of one run (``Client.get``)."""

    correlation_id: str
    """The run."""
    saga: str
    """Its saga."""
    status: str
    """Where it stands (running, draining, rolling_back, halted, completed, failed, cancelled, stuck,
    needs_operator)."""
    started_at: float | None = None
    """Wall-clock start time (seconds since the epoch)."""
    finished_at: float | None = None
    """Wall-clock end time, once ended."""
    steps: list[StepSnapshot] = Field(default_factory=list)
    """Its steps in plan order (empty when the daemon keeps no journal and the run has ended)."""
    result: Any = None
    """Its result, once completed."""
    error: dict[str, Any] | None = None
    """The failure that stopped it (code, message, ...), if any."""
    failed_step: str | None = None
    """The step whose failure stopped it, if any."""
    failed_compensations: list[str] = Field(default_factory=list)
    """For stuck runs: the compensations that failed for good."""
    inputs: dict[str, Any] | None = None
    """Its inputs, defaults filled in (None: the daemon does not know them here)."""
    reason: str | None = None
    """Why it was cancelled or halted, when it was."""
    causation_id: str | None = None
    """What caused it (for a successor: the run it resumes)."""
    resumed_from: str | None = None
    """The run it resumes, if any (when the daemon says)."""
    successor: str | None = None
    """The run that resumed it, if any (when the daemon says)."""

    @property
    def ended(self) -> bool:
        """True once the run changes no more by itself."""
        return self.status in ("completed", "failed", "cancelled", "stuck", "halted", "needs_operator")


class RunList(_Record):
    """One page of runs, newest first (``Client.list``)."""

    runs: list[RunSummary]
    """The rows of this page."""
    total: int
    """How many runs matched in all."""
    offset: int = 0
    """Rows skipped before this page."""

    @property
    def next_offset(self) -> int | None:
        """The ``offset`` of the next page, or None after the last."""
        following = self.offset + len(self.runs)
        return following if self.runs and following < self.total else None


class Health(_Record):
    """The daemon's own view of itself (``Client.health``)."""

    status: Literal["ok", "degraded", "down"]
    """ok: ready; degraded: live but not ready (a root child restarting, or a storage fault); down: not live."""
    live: bool = True
    """Its top-level processes run and its watch loop ticks (a liveness probe)."""
    ready: bool = True
    """Live, and every child of the root runs: starts will be served (a readiness probe)."""
    problems: list[str] = Field(default_factory=list)
    """Why not live or not ready, one line each."""
    daemon: dict[str, Any] = Field(default_factory=dict)
    """pid, base, admin_port, bind_address, data_dir, started_at, uptime_s, version."""
    children: list[dict[str, Any]] = Field(default_factory=list)
    """The root's children: id, status, restarts, pid."""
    registered: int | None = None
    """Registry entries."""
    storage: dict[str, Any] = Field(default_factory=dict)
    """Can the saga hosts write the journal: ``ok``, ``reason`` (why not, host by host), ``hosts``
    (index, fault, answered). A fault makes a live daemon ``degraded`` and not ready."""

    @property
    def storage_ok(self) -> bool:
        """False while a saga host cannot write the journal (starts are refused ``storage_unavailable``)."""
        return bool(self.storage.get("ok", True))
