"""PURE. The admin API of the running daemon: one request model per intent.

The CLI (``sagaline shell`` and the one-shot commands) encodes a request with
:func:`sagaline.messages.codec.encode` and asks the daemon's admin door
(``sagaline.actors.admin.AdminDoor``, Thespian global name
:data:`ADMIN_DOOR_NAME`); the door forwards it to the admin endpoint under
the root supervisor, which validates it and answers with exactly one of:

* :class:`AdminResult` -- ``data`` is plain JSON-ready data whose shape each
  request's docstring gives (the CLI prints it as a table or, with
  ``--json``, as is);
* :class:`AdminError` -- a stable ``code`` and a message; nothing changed
  unless the message says so.

A request that arrives as bytes is answered with bytes (codec-encoded), a
request that arrives as a model with a model. Requests (intent -> what it
asks inside the daemon)::

    AdminHealth              root/which_children + registry count + daemon facts
    AdminCatalog             the loaded apps: their sagas (with typed inputs) and admin commands
    AdminAppCommand          an app's admin command: one command to the domain actor that owns it
    AdminListRuns            saga supervisor: ListRuns -> RunsPage
    AdminShowRun             saga supervisor: RunStatus (running) or AwaitRun (ended)
    AdminStartSaga           saga supervisor: StartSaga
    AdminWaitRun             saga supervisor: AwaitRun
    AdminCancelRun           saga supervisor: CancelRun
    AdminRetryCompensation   saga supervisor: RetryCompensation -> OperatorAnswer
    AdminResumeRun           saga supervisor: ResumeRun -> OperatorAnswer
    AdminTree                which_children down the whole tree, with restart counts
    AdminRegistryLookup      registry: Lookup
    AdminRegistrySelect      registry: Select
    AdminTailEvents          flow (the event bus): TailEvents
    AdminPolicyDecisions     crown: ListDecisions (when crown runs)
    AdminNasRuns             bolt: ListModelRuns + bridge: ListTrials (when they run)

Error codes (:data:`AdminErrorCode`): ``malformed`` (not a message: bad
bytes, wrong shape, not bytes or a model), ``too_large`` (over
:data:`ADMIN_MAX_BYTES`), ``unknown_request`` (a message that is no admin
request), ``unsupported_version``, ``invalid`` (a field fails validation; the
message names it), ``busy`` (too many requests in progress), ``unavailable``
(the actor the request needs is not running), ``unsupported`` (that actor
does not answer this yet), ``refused`` / ``not_found`` (the saga supervisor
refused; ``details.code`` keeps its own code), ``timeout``, ``internal``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from sagaline.messages.base import ActorRef, Message

__all__ = [
    "ADMIN_DOOR_NAME", "ADMIN_REGISTRY_KEY", "ADMIN_MAX_BYTES", "AdminErrorCode",
    "AdminRequest", "AdminHealth", "AdminCatalog", "AdminListRuns", "AdminShowRun", "AdminStartSaga",
    "AdminWaitRun", "AdminCancelRun", "AdminRetryCompensation", "AdminResumeRun", "AdminTree",
    "AdminRegistryLookup", "AdminRegistrySelect", "AdminTailEvents", "AdminPolicyDecisions",
    "AdminNasRuns", "AdminAppCommand", "AdminResult", "AdminError", "AdminForward", "AdminDoorInit", "AdminDoorReady",
    "admin_requests",
]

#: Thespian global name of the admin door (the one actor a CLI can find by name).
ADMIN_DOOR_NAME = "sagaline.admin"
#: Registry key of the admin endpoint.
ADMIN_REGISTRY_KEY = "admin"
#: Largest admin request accepted, encoded (64 KiB: a saga's inputs fit many times over).
ADMIN_MAX_BYTES = 64 * 1024

AdminErrorCode = Literal["malformed", "too_large", "unknown_request", "unsupported_version", "invalid",
                         "busy", "unavailable", "unsupported", "refused", "not_found", "timeout",
                         "internal"]

_Id = Field(min_length=1, max_length=64)
_Name = Field(min_length=1, max_length=200)


class AdminRequest(Message):
    """Base of every admin request (abstract)."""

    ABSTRACT: ClassVar[bool] = True
    #: Seconds the endpoint spends on a request before answering ``timeout``.
    DEFAULT_TIMEOUT_S: ClassVar[float] = 10.0

    def deadline_s(self) -> float:
        """Seconds the endpoint may spend on this request."""
        return self.DEFAULT_TIMEOUT_S


class AdminHealth(AdminRequest):
    """Is the daemon well? ``data``: ``status`` (ok | degraded), ``daemon``
    (pid, base, admin_port, bind_address, data_dir, started_at, uptime_s),
    ``children`` (the root's children: id, status, restarts, pid),
    ``registered`` (registry key count)."""


class AdminCatalog(AdminRequest):
    """What the loaded apps offer. ``data``: ``apps`` (name, description, uses, sagas, domains,
    commands), ``sagas`` (name, app, version, description, steps, inputs: name, type, required,
    default, description, schema) and ``commands`` (name, app, domain, help, args: as inputs)."""

    saga: str | None = Field(default=None, max_length=200)
    """Only this saga (``not_found`` when no app declares it); None: everything."""


class AdminListRuns(AdminRequest):
    """Runs, newest first. ``data``: ``runs`` (RunSummary fields), ``total``."""

    status: list[str] = Field(default_factory=list, max_length=16)
    """Only runs in these statuses (empty: any)."""
    saga: str | None = Field(default=None, max_length=200)
    """Only runs of this saga."""
    limit: int = Field(default=50, ge=1, le=10_000)
    """Most rows returned."""


class AdminShowRun(AdminRequest):
    """One run. ``data``: ``correlation_id``, ``saga``, ``status``, ``started_at``,
    ``finished_at`` and, while it runs, ``steps`` (name, status, attempts,
    started_at, finished_at, error, compensation_error); once ended,
    ``result``, ``error``, ``failed_step``, ``failed_compensations``."""

    correlation_id: str = _Id
    """The run."""


class AdminStartSaga(AdminRequest):
    """Start a run. ``data``: ``correlation_id``, ``saga``, ``existing`` and,
    with ``wait``, the outcome (``status``, ``result``, ``error``, ...)."""

    saga: str = _Name
    """Name of the saga (see :class:`AdminCatalog`)."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """The run's inputs."""
    correlation_id: str | None = Field(default=None, max_length=64)
    """The run's id (UUID v7); generated when None."""
    causation_id: str | None = Field(default=None, max_length=64)
    """What caused the run (UUID v7), carried into its events and telemetry; None: nothing said."""
    wait: bool = False
    """Answer only when the run has ended, with its outcome."""
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """With ``wait``: seconds to wait for the end."""

    def deadline_s(self) -> float:
        return self.timeout_s if self.wait else self.DEFAULT_TIMEOUT_S


class AdminWaitRun(AdminRequest):
    """Wait for a run to end. ``data``: the outcome (as :class:`AdminShowRun` of an ended run)."""

    correlation_id: str = _Id
    """The run."""
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """Seconds to wait."""

    def deadline_s(self) -> float:
        return self.timeout_s


class AdminCancelRun(AdminRequest):
    """Cancel a running run (it drains and rolls back). ``data``:
    ``correlation_id``, ``accepted``, ``status``."""

    correlation_id: str = _Id
    """The run."""
    reason: str = Field(default="cancelled by operator", max_length=500)
    """Recorded as the cancellation reason."""


class AdminRetryCompensation(AdminRequest):
    """Retry a stuck run's failed compensations. ``data``: ``correlation_id``,
    ``accepted``, ``status``, ``message``."""

    correlation_id: str = _Id
    """The stuck run."""
    steps: list[str] = Field(default_factory=list, max_length=100)
    """Only these steps' compensations (empty: all)."""


class AdminResumeRun(AdminRequest):
    """Continue a failed or halted run from a step. ``data``: as :class:`AdminRetryCompensation`."""

    correlation_id: str = _Id
    """The run."""
    from_step: str | None = Field(default=None, max_length=200)
    """The step to run again first; None: where it stopped."""


class AdminTree(AdminRequest):
    """The supervision tree. ``data``: ``tree``: the root node, each node
    ``id``, ``status``, ``type``, ``restarts``, ``pid``, ``name``, ``children``."""

    max_depth: int = Field(default=8, ge=1, le=32)
    """How deep to walk."""


class AdminRegistryLookup(AdminRequest):
    """Who holds ``key``. ``data``: ``entries`` (key, holder, value)."""

    key: str = Field(min_length=1, max_length=500)
    """The key."""


class AdminRegistrySelect(AdminRequest):
    """Registry entries by key prefix/pattern. ``data``: ``entries``."""

    prefix: str | None = Field(default=None, max_length=500)
    """Keys starting with this."""
    pattern: str | None = Field(default=None, max_length=500)
    """Keys matching this shell-style pattern."""
    limit: int = Field(default=200, ge=1, le=10_000)
    """At most this many."""


class AdminTailEvents(AdminRequest):
    """The newest stored events. ``data``: ``events`` (newest last)."""

    limit: int = Field(default=20, ge=1, le=1000)
    """How many at most."""
    name_prefix: str = Field(default="", max_length=200)
    """Only names starting with this."""
    correlation_id: str | None = Field(default=None, max_length=64)
    """Only this run's events."""


class AdminPolicyDecisions(AdminRequest):
    """Crown's audited policy decisions, newest first. ``data``: ``decisions``."""

    limit: int = Field(default=20, ge=1, le=1000)
    """How many at most."""
    correlation_id: str | None = Field(default=None, max_length=64)
    """Only this run's decisions."""
    effect: Literal["allow", "deny"] | None = None
    """Only allows or only denials."""


class AdminNasRuns(AdminRequest):
    """NAS model runs with their trials' progress. ``data``: ``runs`` (bolt's
    ModelRunRecord fields plus ``trials``: trial_id, state, epoch, epochs)."""

    state: Literal["initialized", "running", "succeeded", "failed", "cancelled"] | None = None
    """Only runs in this state."""


class AdminAppCommand(AdminRequest):
    """Run a loaded app's admin command (see ``AdminCatalog``'s ``commands``). ``data``: ``app``,
    ``command``, ``domain`` and ``reply``: the domain's answer (its fields but the headers).
    A domain's ``CommandFailed`` is answered as ``refused`` with its code in ``details.code``."""

    command: str = _Name
    """The command's name."""
    app: str | None = Field(default=None, max_length=200)
    """The app declaring it; None: whichever does (command names are unique)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The command message's fields (validated by its model)."""


class AdminResult(Message):
    """The answer to an admin request that succeeded."""

    request: str
    """The request's class name."""
    data: dict[str, Any]
    """JSON-ready data (shape in the request's docstring)."""


class AdminError(Message):
    """The answer to an admin request that failed; nothing changed."""

    code: AdminErrorCode
    """What went wrong (see the module docstring)."""
    message: str
    """For a human: what, and what to do."""
    request: str | None = None
    """The request's class name, when it could be read."""
    details: dict[str, Any] = Field(default_factory=dict)
    """More facts (e.g. the saga supervisor's own refusal code)."""


class AdminForward(Message):
    """Door -> endpoint: a request as received, and who gets the answer."""

    payload: Any = None
    """The request: codec bytes or a model (checked by the endpoint, not here)."""
    reply_to: ActorRef = None
    """Where the answer goes (the CLI's endpoint)."""


class AdminDoorInit(Message):
    """Daemon -> the admin door: where the registry is (the door finds the endpoint there)."""

    registry: ActorRef = None
    """The registry actor."""


class AdminDoorReady(Message):
    """The door's answer to :class:`AdminDoorInit`."""

    endpoint_found: bool
    """True when the admin endpoint was registered."""


def admin_requests() -> dict[str, type[AdminRequest]]:
    """Every concrete admin request class, by name."""
    found: dict[str, type[AdminRequest]] = {}
    pending = list(AdminRequest.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__dict__.get("ABSTRACT", False):
            found[cls.__name__] = cls
    return found
