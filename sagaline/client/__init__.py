"""Clients of sagaline, from outside the actor system.

* :class:`Client` (:mod:`sagaline.client.sync`) and :class:`AsyncClient`
  (:mod:`sagaline.client.aio`): a running daemon, found by its data
  directory or address, through its admin door. The public way to start,
  wait for, inspect and steer runs from another process (the CLI uses it).
* :class:`SagaClient` (:mod:`sagaline.client.direct`): the saga
  supervisor's message API over an actor-system handle, for code that
  started the tree itself (tests, benchmarks).

Errors (drawn in :mod:`sagaline.client.errors`): :class:`ClientError` and
its branches :class:`BadInput`, :class:`Refused` (:class:`NotFound`),
:class:`Busy`, :class:`Timeout` (:class:`OutcomeUnknown`),
:class:`DaemonUnreachable` (:class:`DaemonStarting`), :class:`DaemonFault`.
Results: :class:`StartResult`, :class:`RunRecord`, :class:`RunList`,
:class:`Health`, and the message models ``RunOutcome``, ``RunSummary``,
``CancelAnswer``, ``OperatorAnswer``.
"""

from sagaline.client.aio import AsyncClient
from sagaline.client.direct import SagaClient, SagaRefusedError
from sagaline.client.errors import (
    BadInput,
    Busy,
    ClientError,
    DaemonFault,
    DaemonStarting,
    DaemonUnreachable,
    NotFound,
    OutcomeUnknown,
    Refused,
    Timeout,
)
from sagaline.client.locate import Target, locate
from sagaline.client.results import Health, RunList, RunRecord, StartResult
from sagaline.client.sync import Client

__all__ = [
    "AsyncClient",
    "BadInput",
    "Busy",
    "Client",
    "ClientError",
    "DaemonFault",
    "DaemonStarting",
    "DaemonUnreachable",
    "Health",
    "NotFound",
    "OutcomeUnknown",
    "Refused",
    "RunList",
    "RunRecord",
    "SagaClient",
    "SagaRefusedError",
    "StartResult",
    "Target",
    "Timeout",
    "locate",
]
