"""PURE. The admin API of the running daemon: one request model per intent.

A client (:class:`sagaline.Client`, under the CLI) finds the daemon's admin
door (``sagaline.admin.door.AdminDoor``, Thespian global name
:data:`ADMIN_DOOR_NAME`) and sends it :class:`AdminConnect`; the answer,
:class:`AdminDirectory`, lists the admin workers. From then on it sends each
request, encoded with :func:`sagaline.messages.codec.encode`, straight to
one worker (one request at a time per worker); the worker validates it,
asks inside the daemon and answers with exactly one of:

* :class:`AdminResult` -- ``data`` is plain JSON-ready data whose shape each
  request's docstring gives (the CLI prints it as a table or, with
  ``--json``, as is);
* :class:`AdminError` -- a stable ``code`` and a message; nothing changed
  unless the message says so.

A request sent to the door itself (or to the endpoint) is handed to a free
worker and answered the same way (one hop more). A request that arrives as
bytes is answered with bytes (codec-encoded), a request that arrives as a
model with a model. Requests (intent -> what it asks inside the daemon)::

    AdminHealth              root/which_children + registry count + daemon facts
    AdminCatalog             the loaded apps: their sagas (with typed inputs) and admin commands
    AdminAppCommand          an app's admin command: one command to the domain actor that owns it
    AdminListRuns            saga supervisor: ListRuns -> RunsPage (offset + limit rows, sliced)
    AdminShowRun             saga supervisor: RunStatus, and AwaitRun once ended (merged)
    AdminStartSaga           saga supervisor: StartSaga
    AdminWaitRun             saga supervisor: AwaitRun
    AdminCancelRun           saga supervisor: CancelRun
    AdminRetryCompensation   saga supervisor: RetryCompensation -> OperatorAnswer
    AdminResumeRun           saga supervisor: ResumeRun -> OperatorAnswer
    AdminTree                which_children down the whole tree, with restart counts
    AdminRegistryLookup      registry: Lookup
    AdminRegistrySelect      registry: Select
    AdminTailEvents          flow (the event bus): TailEvents
    AdminConvention          convention: ListMembers; saga supervisor: ListLeases

Error codes (:data:`AdminErrorCode`): ``malformed`` (not a message: bad
bytes, wrong shape, not bytes or a model), ``too_large`` (over
:data:`ADMIN_MAX_BYTES`, or nested deeper than :data:`ADMIN_MAX_DEPTH`),
``unknown_request`` (a message that is no admin request),
``unsupported_version``, ``invalid`` (a field fails validation; the message
names it), ``busy`` (every admin worker is answering another request; try
again), ``starting`` (the daemon is still starting; try again),
``unavailable`` (the actor the request needs is not running),
``unsupported`` (that actor does not answer this yet), ``refused`` /
``not_found`` (the saga supervisor refused; ``details.code`` keeps its own
code), ``timeout`` (no answer within the request's time; ``details.waited_s``
says how long it really waited), ``internal``.

Control messages (:class:`AdminDoorInit`) carry the daemon's control token:
the door accepts exactly one, from the daemon (see
:mod:`sagaline.runtime.guards`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from sagaline.messages.base import ActorRef, Message
from sagaline.messages.saga import RunStatusName

__all__ = [
    "ADMIN_DOOR_NAME",
    "ADMIN_REGISTRY_KEY",
    "ADMIN_MAX_BYTES",
    "AdminErrorCode",
    "AdminRequest",
    "AdminHealth",
    "AdminCatalog",
    "AdminListRuns",
    "AdminShowRun",
    "AdminStartSaga",
    "AdminWaitRun",
    "AdminCancelRun",
    "AdminRetryCompensation",
    "AdminResumeRun",
    "AdminTree",
    "AdminRegistryLookup",
    "AdminRegistrySelect",
    "AdminTailEvents",
    "AdminAppCommand",
    "AdminResult",
    "AdminError",
    "AdminConvention",
    "ListMembers",
    "MemberList",
    "AdminForward",
    "AdminDoorInit",
    "AdminDoorReady",
    "AdminConnect",
    "AdminDirectory",
    "AdminBounced",
    "AdminWorkerPing",
    "AdminWorkerState",
    "ADMIN_MAX_DEPTH",
    "admin_requests",
]

#: Thespian global name of the admin door (the one actor a CLI can find by name).
ADMIN_DOOR_NAME = "sagaline.admin"
#: Registry key of the admin endpoint.
ADMIN_REGISTRY_KEY = "admin"
#: Largest admin request accepted, encoded (64 KiB: a saga's inputs fit many times over).
ADMIN_MAX_BYTES = 64 * 1024
#: Deepest nesting of lists and maps accepted in an encoded admin request (the frame
#: ``[tag, version, payload]`` is level 1, a saga's ``inputs`` map level 3). Pickling
#: a value nested 460 levels deep overflowed Python's recursion limit (issue 16).
ADMIN_MAX_DEPTH = 32

AdminErrorCode = Literal[
    "malformed",
    "too_large",
    "unknown_request",
    "unsupported_version",
    "invalid",
    "busy",
    "starting",
    "unavailable",
    "unsupported",
    "refused",
    "not_found",
    "timeout",
    "internal",
]

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
    """Is the daemon well? ``data``: ``status`` (ok: ready | degraded: live
    but not ready | down: not live), ``live`` (the daemon process, the
    Thespian admin and logger, the registry, the root supervisor and the
    admin door run, and the daemon's watch loop ticked within the last
    seconds), ``ready`` (live, and every child of the root runs: starts will
    be served), ``problems`` (why not, one line each), ``daemon`` (pid, base,
    admin_port, bind_address, data_dir, started_at, uptime_s), ``children``
    (the root's children: id, status, restarts, pid), ``registered``
    (registry key count), ``storage`` (``ok``: every saga host can write
    the journal; ``reason``: why not, host by host; ``hosts``: index, fault,
    answered). A storage fault makes a live daemon ``degraded`` and not
    ready (starts are refused with ``storage_unavailable``)."""


class AdminCatalog(AdminRequest):
    """What the loaded apps offer. ``data``: ``apps`` (name, description, uses, sagas, domains,
    commands), ``sagas`` (name, app, version, description, steps, inputs: name, type, required,
    default, description, schema; graph: name, needs, runs, undo per step) and ``commands`` (name, app,
    domain, help, args: as inputs)."""

    saga: str | None = Field(default=None, max_length=200)
    """Only this saga (``not_found`` when no app declares it); None: everything."""


class AdminListRuns(AdminRequest):
    """Runs, newest first. ``data``: ``runs`` (RunSummary fields), ``total`` (matching rows in all),
    ``offset``. A ``saga`` that no app declares and no run has is refused (``invalid``)."""

    status: list[RunStatusName] = Field(default_factory=list, max_length=16)
    """Only runs in these statuses (empty: any)."""
    saga: str | None = Field(default=None, max_length=200)
    """Only runs of this saga."""
    id_prefix: str | None = Field(default=None, min_length=1, max_length=64)
    """Only runs whose correlation id starts with this (how an abbreviated id is resolved)."""
    started_after: float | None = None
    """Only runs started at or after this wall-clock time (seconds since the epoch)."""
    started_before: float | None = None
    """Only runs started before this wall-clock time."""
    limit: int = Field(default=50, ge=1, le=10_000)
    """Most rows returned."""
    offset: int = Field(default=0, ge=0, le=10_000)
    """Rows to skip first (the next page starts at ``offset + limit``; at most 10,000 rows deep)."""


class AdminShowRun(AdminRequest):
    """One run, as much as is known. ``data``: the
    :class:`~sagaline.messages.saga.RunSnapshot` fields (``correlation_id``,
    ``saga``, ``status``, ``started_at``, ``finished_at``, ``inputs``,
    ``reason``, ``causation_id``, ``resumed_from``, ``successor``, ``steps``
    in plan order: name, status, attempts, started_at, finished_at, error,
    result, completed_seq, compensation_kind, compensation_attempts,
    compensation_error) and, once ended, the outcome's ``result``, ``error``,
    ``failed_step``, ``failed_compensations``. A field the host does not know
    is null (e.g. an ended run's inputs where its journal keeps none)."""

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
    """The run's id (UUID v7); generated when None. Starting is idempotent per id:
    a client that got no answer sends the same request again with the same id."""
    causation_id: str | None = Field(default=None, max_length=64)
    """What caused the run (UUID v7), if known."""
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
    ``id``, ``status``, ``type``, ``restarts``, ``pid``, ``name``, ``last_exit`` (why its last
    incarnation ended, if it did), ``children``."""

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


class AdminAppCommand(AdminRequest):
    """Run a loaded app's admin command (see ``AdminCatalog``'s ``commands``). ``data``: ``app``,
    ``command``, ``domain``, ``reply``: the domain's answer (its fields but the headers), and
    ``columns``: the record fields a listing shows (the command's ``columns``; empty: every field).
    A domain's ``CommandFailed`` is answered as ``refused`` with its code in ``details.code``."""

    command: str = _Name
    """The command's name."""
    app: str | None = Field(default=None, max_length=200)
    """The app declaring it; None: whichever does (command names are unique)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The command message's fields (validated by its model)."""


class AdminConvention(AdminRequest):
    """The convention as this daemon sees it (``sagaline members``). ``data``: ``self`` (this daemon:
    ``role``, ``member``, ``join``, ``capabilities``); ``members`` (the other actor systems its admin
    knows, each ``admin``, ``role``, ``capabilities``: a leader sees every member, a member its
    leader); ``leases`` (each saga-host partition: ``resource``, ``member``, ``owner``, ``host``
    (address), ``expires_in_s``, ``token``, ``live``)."""


class ListMembers(Message):
    """Admin worker -> the convention watch: the actor systems of the convention. Answered with :class:`MemberList`."""


class MemberList(Message):
    """The convention watch's answer: one dict per remote actor system (``admin``, ``role``, ``capabilities``)."""

    members: list[dict[str, Any]] = Field(default_factory=list)
    """Each member, as plain data."""


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
    """Door -> endpoint -> worker: a request as received, and who gets the answer."""

    payload: Any = None
    """The request: codec bytes or a model (checked by the worker, not here)."""
    reply_to: ActorRef = None
    """Where the answer goes (the client's endpoint)."""
    attempts: int = 0
    """Workers that already bounced it as busy."""


class AdminDoorInit(Message):
    """Daemon -> the admin door: where the registry is (the door finds the endpoint there).

    Accepted once, and only with the daemon's control token; any other is
    refused and logged (a client could otherwise re-point the door)."""

    registry: ActorRef = None
    """The registry actor."""
    token: str = ""
    """The control token of the process that started the actor system."""


class AdminDoorReady(Message):
    """The door's answer to :class:`AdminDoorInit`."""

    endpoint_found: bool
    """True when the admin endpoint was registered."""
    pid: int = 0
    """The door's OS pid (the daemon watches it)."""


class AdminConnect(Message):
    """Client -> the door: where are the admin workers? Answered with :class:`AdminDirectory`
    (or an :class:`AdminError`: ``starting`` while the daemon starts)."""

    client_version: str = Field(default="", max_length=64)
    """The client's sagaline version (logged; the answer carries the daemon's)."""


class AdminDirectory(Message):
    """The admin workers a client may send requests to, one request at a time each."""

    workers: list[ActorRef]
    """The workers' addresses. A worker that ended (and was replaced) no longer
    accepts anything: ask the door again."""
    version: str
    """The daemon's sagaline version."""
    daemon_pid: int
    """The daemon's OS pid."""
    sagas: list[ActorRef] = Field(default_factory=list)
    """The saga hosts in partition order (empty while one restarts): a client may send
    :class:`AdminStartSaga` (with its correlation id) and :class:`AdminWaitRun` for run X, the same
    bytes, to ``sagas[partition_of(X, len(sagas))]`` instead of a worker (see
    :mod:`sagaline.hosts.host_desk`). A host that restarted no longer accepts anything: ask the door again."""


class AdminBounced(Message):
    """Worker -> endpoint: a forwarded request arrived while the worker was busy."""

    forward: AdminForward
    """The request as it was forwarded (the endpoint tries another worker)."""


class AdminWorkerPing(Message):
    """Endpoint -> worker: are you alive, and is your request overdue?"""


class AdminWorkerState(Message):
    """Worker -> endpoint: the answer to :class:`AdminWorkerPing`."""

    busy: bool
    """True while it answers a request."""
    overdue_s: float = 0.0
    """Seconds past its request's deadline (its own timer should have answered by then)."""
    stack_thrash: bool = False
    """Sent unasked before the worker retires: its message loop pays a page fault storm per
    request (see ``sagaline.admin.worker``); its replacement starts at another depth."""


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
