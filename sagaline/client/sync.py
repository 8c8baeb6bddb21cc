"""``sagaline.Client``: start, wait for, inspect and steer runs in a running daemon, from any Python process.

::

    from sagaline import Client, Refused

    with Client("./data") as client:              # or Client(address="127.0.0.1:7720")
        started = client.start("user_provisioning", {"email": "ada@example.com"}, wait=True)
        print(started.correlation_id, started.outcome.status)
        record = client.get(started.correlation_id)   # steps, result, error
        page = client.list(status=["failed"], limit=20)

Connecting (:meth:`Client.connect`, done by the constructor unless
``connect=False``) asks the daemon's admin door for its admin workers and
its saga hosts. A start or a wait goes straight to the saga host of its
run (the partition of its correlation id): two messages between processes,
the request and its answer (:mod:`sagaline.hosts.host_desk`). Every other
call goes to one idle worker, which asks the daemon's actors for it. A
host that restarted is noticed at once (the message cannot be delivered):
the client asks the door again, and asks a worker while any host is down.
A client never starts an actor system, never creates an actor and never
stops the daemon.

Concurrency: a client is thread-safe; each call uses one worker, so a client
runs as many calls at once as the daemon has workers (``admin.workers``),
and further calls wait (within their own time) for one of its workers to
be free. A worker that another client is using answers ``busy`` and the
next is tried; when every worker was busy, :class:`~sagaline.client.errors.Busy`.
A worker that went away (it retires after a request that timed out) is
noticed within milliseconds (the message cannot be delivered): the client
asks the door again and carries on.

Honest outcomes: a start always travels with a correlation id (the
caller's, else one made here), so when its answer does not arrive (or the
daemon answers ``timeout``) it is sent once more with the same id: starting
is idempotent per id. If that too comes back empty, or a start with
``wait`` did not end in time,
:class:`~sagaline.client.errors.OutcomeUnknown` carries the id to look up.
Every timeout says how long the client really waited.

Errors are drawn in :mod:`sagaline.client.errors`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from sagaline.client.channel import Channel, ThespianChannel, decode_answer
from sagaline.client.errors import (
    BadInput,
    ClientError,
    DaemonUnreachable,
    NotFound,
    OutcomeUnknown,
    Refused,
    Timeout,
    error_for,
)
from sagaline.client.locate import Target, locate, parse_address
from sagaline.client.results import Health, RunList, RunRecord, StartResult
from sagaline.messages import admin as m
from sagaline.messages import codec
from sagaline.messages.ids import uuid7
from sagaline.messages.saga import CancelAnswer, OperatorAnswer, RunOutcome
from sagaline.saga.placement import partition_of

__all__ = ["Client", "ANSWER_MARGIN_S", "RESOLVE_CANDIDATES"]

#: Seconds the client waits beyond a request's own deadline (the daemon answers ``timeout`` at the deadline).
ANSWER_MARGIN_S = 5.0
#: Runs an ambiguous id prefix names in its error (enough to pick from, short enough to read).
RESOLVE_CANDIDATES = 10


class _NoAnswer:
    """Nothing came back in time (the request may or may not have been carried out)."""

    def __init__(self, waited_s: float, allowed_s: float) -> None:
        self.waited_s, self.allowed_s = waited_s, allowed_s


class _Workers:
    """This client's view of the daemon's admin workers: which are idle, which in use (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._known: list[Any] = []
        self._idle: deque[Any] = deque()
        self._in_use: list[Any] = []

    def reset(self, workers: Iterable[Any]) -> None:
        with self._cond:
            self._known = list(workers)
            self._idle = deque(w for w in self._known if w not in self._in_use)
            self._cond.notify_all()

    def take(self, deadline: float) -> Any:
        """An idle worker, waiting for one until ``deadline``; None if none came free."""
        with self._cond:
            while not self._idle:
                left = deadline - time.monotonic()
                if left <= 0 or not self._known:
                    return None
                self._cond.wait(left)
            worker = self._idle.popleft()
            self._in_use.append(worker)
            return worker

    def give_back(self, worker: Any) -> None:
        with self._cond:
            self._release(worker)
            if worker in self._known:
                self._idle.append(worker)
                self._cond.notify()

    def drop(self, worker: Any) -> None:
        with self._cond:
            self._release(worker)
            self._known = [w for w in self._known if w != worker]
            self._idle = deque(w for w in self._idle if w != worker)

    def _release(self, worker: Any) -> None:
        for index, held in enumerate(self._in_use):
            if held == worker:
                del self._in_use[index]
                return

    def __len__(self) -> int:
        with self._cond:
            return len(self._known)


class Client:
    """A connection to one running daemon (see the module docstring).

    Args:
        data_dir: The daemon's data directory (its ``daemon.json`` names the port); default:
            ``SAGALINE_DATA_DIR``, else ``./data`` (and ``SAGALINE_ADMIN_PORT`` wins when set).
        address: ``"host:port"`` (or ``(host, port)``) of the daemon's admin port, instead of a data directory.
        connect: Connect now (default); else on the first call, or :meth:`connect`.
        channel: The transport (tests pass a :class:`~sagaline.testing.channel.FakeChannel`).

    Raises:
        DaemonUnreachable: no daemon there (DaemonStarting: it is starting).
        BadInput: ``address`` is no address.
    """

    def __init__(
        self,
        data_dir: Any = None,
        *,
        address: str | tuple[str, int] | None = None,
        connect: bool = True,
        channel: Channel | None = None,
    ) -> None:
        if channel is None:
            if address is None:
                target = locate(data_dir=data_dir)
            else:
                host, port = parse_address(address)
                target = replace(locate(admin_port=port, host=host, data_dir=data_dir), source="address")
            channel = ThespianChannel(target)
        self._channel = channel
        self._workers = _Workers()
        self._connected = False
        self._refreshing = threading.Lock()
        self._hosts: list[Any] = []
        self.daemon_version: str | None = None
        if connect:
            self.connect()

    @property
    def target(self) -> Target:
        """Where the daemon is, and why there."""
        return self._channel.target

    @property
    def capacity(self) -> int:
        """How many calls this client can have in flight at once (the daemon's admin workers it knows)."""
        return len(self._workers)

    def connect(self) -> Client:
        """Connect (again): fetch the admin workers from the door.

        Raises:
            DaemonUnreachable: no daemon there (DaemonStarting: it is starting).
        """
        directory = self._channel.open()
        self._workers.reset(directory.workers)
        self._hosts = list(directory.sagas)
        self.daemon_version, self._connected = directory.version, True
        return self

    def close(self) -> None:
        """Let go of the connection; the daemon keeps running."""
        self._channel.close()
        self._connected = False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ----- the typed calls ------------------------------------------------------------------

    def start(
        self,
        saga: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        wait: bool = False,
        timeout: float = 60.0,
    ) -> StartResult:
        """Start a run of ``saga`` (idempotent per ``correlation_id``: a run with that id is returned,
        not started again).

        Args:
            inputs: The run's inputs (checked by the saga before anything runs).
            correlation_id: The run's id (a UUID v7; made here when None).
            causation_id: What caused the run (a UUID v7), if known.
            wait: Answer only once the run has ended (``outcome`` is then set).
            timeout: With ``wait``: seconds to wait for the end.

        Raises:
            BadInput: unknown saga, invalid inputs or ids. Refused: too many runs, shutting down.
            OutcomeUnknown: no answer even after sending it again, or (``wait``) not ended in time.
        """
        request = _build(
            m.AdminStartSaga,
            saga=saga,
            inputs=dict(inputs or {}),
            correlation_id=correlation_id,
            causation_id=causation_id,
            wait=wait,
            timeout_s=timeout,
        )
        return StartResult.from_data(self._data(request))

    def wait(self, correlation_id: str, *, timeout: float = 60.0) -> RunOutcome:
        """Wait for a run to end (at once if it has); return how it ended.

        Raises:
            NotFound: no such run. Timeout: it did not end within ``timeout``.
        """
        return RunOutcome.model_validate(
            self._data(_build(m.AdminWaitRun, correlation_id=correlation_id, timeout_s=timeout))
        )

    def get(self, correlation_id: str) -> RunRecord:
        """Everything known of a run: status, steps, and once ended its result or error.

        Raises:
            NotFound: no such run.
        """
        return RunRecord.from_data(self._data(_build(m.AdminShowRun, correlation_id=correlation_id)))

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        saga: str | None = None,
        limit: int = 50,
        offset: int = 0,
        id_prefix: str | None = None,
        started_after: float | None = None,
        started_before: float | None = None,
    ) -> RunList:
        """Runs, newest first: ``status`` (one or several), ``saga``, correlation ids starting with
        ``id_prefix``, started in ``[started_after, started_before)`` (seconds since the epoch); a page
        of ``limit`` rows from ``offset`` (``RunList.next_offset`` gives the next page; at most 10,000
        rows deep).

        Raises:
            BadInput: an unknown status, or a saga that no app declares and no run has.
        """
        statuses = [status] if isinstance(status, str) else list(status or [])
        request = _build(
            m.AdminListRuns,
            status=statuses,
            saga=saga,
            limit=limit,
            offset=offset,
            id_prefix=id_prefix,
            started_after=started_after,
            started_before=started_before,
        )
        return RunList.from_data(self._data(request))

    def resolve(self, id_or_prefix: str) -> str:
        """The full correlation id of the one run whose id starts with ``id_or_prefix``.

        Raises:
            NotFound: no run's id starts with it.
            BadInput: it is empty, or several runs' ids start with it (``details["candidates"]``
                names up to :data:`RESOLVE_CANDIDATES` of them, newest first).
        """
        prefix = id_or_prefix.strip().lower()
        if not prefix:
            raise BadInput("an empty run id", "invalid")
        page = self.list(id_prefix=prefix, limit=RESOLVE_CANDIDATES)
        if page.total == 1:
            return page.runs[0].correlation_id
        if page.total == 0:
            raise NotFound(f"not_found: no run whose id starts with {prefix!r}", "not_found")
        if any(run.correlation_id == prefix for run in page.runs):
            return prefix
        shown = [f"{run.correlation_id} ({run.saga}, {run.status})" for run in page.runs]
        more = f" and {page.total - len(shown)} more" if page.total > len(shown) else ""
        raise BadInput(
            f"run id prefix {prefix!r} is ambiguous: {page.total} runs match: {'; '.join(shown)}{more}",
            "ambiguous",
            {"candidates": [run.correlation_id for run in page.runs], "total": page.total},
        )

    def cancel(self, correlation_id: str, *, reason: str = "cancelled by operator") -> CancelAnswer:
        """Cancel a running run (it drains and rolls back). ``accepted`` is False when it had already ended.

        Raises:
            NotFound: no such run.
        """
        return CancelAnswer.model_validate(
            self._data(_build(m.AdminCancelRun, correlation_id=correlation_id, reason=reason))
        )

    def retry(self, correlation_id: str, *, steps: Iterable[str] = ()) -> OperatorAnswer:
        """Retry a stuck run's failed compensations (only ``steps``, when given).

        Raises:
            Refused: the run is not stuck (the message says what it is). NotFound: no such run.
        """
        return _accepted(self._data(_build(m.AdminRetryCompensation, correlation_id=correlation_id, steps=list(steps))))

    def resume(self, correlation_id: str, *, from_step: str | None = None) -> OperatorAnswer:
        """Continue a halted run, or resume a failed or cancelled one by a successor run
        (its id is in the answer's message).

        Raises:
            Refused: the run cannot be resumed (running, completed, stuck, already resumed). NotFound.
        """
        return _accepted(self._data(_build(m.AdminResumeRun, correlation_id=correlation_id, from_step=from_step)))

    def health(self) -> Health:
        """The daemon's liveness, readiness and facts."""
        return Health.from_data(self._data(m.AdminHealth()))

    # ----- any admin request -----------------------------------------------------------------

    def request(self, request: m.AdminRequest) -> m.AdminResult | m.AdminError:
        """Send any admin request; return the daemon's answer, an error answer included.

        A start without a correlation id gets one here, and is sent again with
        it when its answer does not arrive (see the module docstring).

        Raises:
            DaemonUnreachable: no daemon, or it went away. Timeout: no answer in time.
            OutcomeUnknown: a start whose outcome is unknown. BadInput: not encodable.
        """
        if not self._connected:
            self.connect()
        if isinstance(request, m.AdminStartSaga):
            return self._start(request)
        answer = self._to_host(request) if isinstance(request, m.AdminWaitRun) else None
        if answer is None:
            answer = self._send(request)
        if isinstance(answer, _NoAnswer):
            raise Timeout(
                f"the daemon on {self.target.describe()} did not answer {type(request).__name__} within "
                f"{answer.allowed_s:g} s (waited {answer.waited_s:.2f} s)",
                waited_s=answer.waited_s,
            )
        return answer

    def _data(self, request: m.AdminRequest) -> dict[str, Any]:
        answer = self.request(request)
        if isinstance(answer, m.AdminError):
            raise error_for(answer)
        return answer.data

    def _start(self, request: m.AdminStartSaga) -> m.AdminResult | m.AdminError:
        cid = request.correlation_id or uuid7()
        request = request.model_copy(update={"correlation_id": cid})
        answer = self._to_host(request)
        if answer is None:
            answer = self._send(request)
        if _unknown(answer, request):
            answer = self._send(request)  # idempotent: the same id finds the run if the first got through
        if (
            isinstance(answer, _NoAnswer)
            or _unknown(answer, request)
            or (isinstance(answer, m.AdminError) and answer.code == "timeout")
        ):
            waited = (
                answer.waited_s
                if isinstance(answer, _NoAnswer)
                else answer.details.get("waited_s")
                if isinstance(answer, m.AdminError)
                else None
            )
            what = (
                "did not end in time"
                if request.wait and not isinstance(answer, _NoAnswer)
                else "got no answer, even when sent again with the same id"
            )
            raise OutcomeUnknown(
                f"the start of run {cid} ({request.saga}) {what}; it may be running, finished, "
                f"or never started: look it up with `sagaline sagas show {cid}`",
                cid,
                waited,
                getattr(answer, "details", None),
            )
        return answer

    def _send(self, request: m.AdminRequest) -> m.AdminResult | m.AdminError | _NoAnswer:
        """Send to an idle worker, past busy and vanished ones, until answered or out of time."""
        payload = _encode(request)
        allowed = request.deadline_s() + ANSWER_MARGIN_S
        began = time.monotonic()
        deadline, busy_seen = began + allowed, 0
        while True:
            worker = self._workers.take(deadline)
            if worker is None:
                return self._no_worker(began, allowed)
            reply = self._channel.ask(worker, payload, max(0.001, deadline - time.monotonic()))
            if reply.undelivered:
                self._workers.drop(worker)  # it retired: ask the door who serves now
                self._refresh()
                continue
            if reply.payload is None:
                self._workers.give_back(worker)
                return _NoAnswer(time.monotonic() - began, allowed)
            answer = decode_answer(reply.payload)
            if isinstance(answer, m.AdminError) and answer.code == "busy":
                busy_seen += 1
                self._workers.give_back(worker)
                if busy_seen >= max(1, len(self._workers)):
                    return answer
                continue
            if isinstance(answer, m.AdminError) and answer.code == "timeout":
                self._workers.drop(worker)  # it retires after a timeout
            else:
                self._workers.give_back(worker)
            if not isinstance(answer, (m.AdminResult, m.AdminError)):
                return m.AdminError(code="internal", message=f"unexpected answer {type(answer).__name__}")
            return answer

    def _to_host(self, request: m.AdminStartSaga | m.AdminWaitRun) -> m.AdminResult | m.AdminError | _NoAnswer | None:
        """Send a start or a wait straight to the saga host of its run (see the module docstring).

        None: no host to send to, or the host sent it on to the workers (``unsupported``,
        ``unavailable``: a stale directory); the caller asks a worker.
        """
        payload = _encode(request)
        allowed = request.deadline_s() + ANSWER_MARGIN_S
        for _ in range(2):
            hosts = self._hosts
            if not hosts or request.correlation_id is None:  # no id: no host to route by (a worker asks)
                return None
            reply = self._channel.ask(hosts[partition_of(request.correlation_id, len(hosts))], payload, allowed)
            if reply.undelivered:  # that host restarted: the door knows its successor
                self._hosts = []
                self._refresh()
                continue
            if reply.payload is None:
                return _NoAnswer(reply.waited_s, allowed)
            answer = decode_answer(reply.payload)
            if isinstance(answer, m.AdminError) and answer.code in ("unsupported", "unavailable"):
                self._hosts = []  # until the next connect or refresh: the workers serve
                return None
            if not isinstance(answer, (m.AdminResult, m.AdminError)):
                return m.AdminError(code="internal", message=f"unexpected answer {type(answer).__name__}")
            return answer
        return None

    def _no_worker(self, began: float, allowed: float) -> _NoAnswer:
        if not len(self._workers):
            raise DaemonUnreachable(f"the daemon on {self.target.describe()} offers no admin worker", "unreachable")
        return _NoAnswer(time.monotonic() - began, allowed)

    def _refresh(self) -> None:
        """Fetch the directory again (once, however many calls noticed the change)."""
        if not self._refreshing.acquire(blocking=False):
            with self._refreshing:
                return
        try:
            directory = self._channel.open()
            self._workers.reset(directory.workers)
            self._hosts = list(directory.sagas)
        except ClientError:
            self._connected = False  # the next call joins again (a restarted daemon has a new door)
            raise
        finally:
            self._refreshing.release()


def _encode(request: m.AdminRequest) -> bytes:
    try:
        return codec.encode(request)
    except codec.CodecError as exc:
        raise BadInput(f"the request cannot be encoded: {exc}", "invalid") from None


def _build(model: type[m.AdminRequest], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or model.__name__
        raise BadInput(f"{where}: {first['msg']}", "invalid") from None


def _unknown(answer: Any, request: m.AdminStartSaga) -> bool:
    """Is a start's outcome unknown after this answer (and worth sending it again)?"""
    if isinstance(answer, _NoAnswer):
        return True
    return isinstance(answer, m.AdminError) and answer.code == "timeout" and not request.wait


def _accepted(data: dict[str, Any]) -> OperatorAnswer:
    answer = OperatorAnswer.model_validate(data)
    if not answer.accepted:
        raise Refused(
            f"refused: {answer.message} (the run is {answer.status})",
            "refused",
            {"code": answer.status, "status": answer.status},
        )
    return answer
