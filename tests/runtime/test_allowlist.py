"""The restricted unpickler: what may be built from an authenticated frame, and what never is."""

import dataclasses
import datetime as dt
import logging
import os
import pickle
import sys
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import ClassVar

import pytest
from thespian.actors import ActorAddress, ActorExitRequest, ChildActorExited, DeadEnvelope, PoisonMessage
from thespian.system.transport.IPBase import TCPv4ActorAddress

from sagaline.messages.base import Headers, Message
from sagaline.messages.ids import uuid7
from sagaline.runtime.allowlist import AllowList, allow_classes, restricted_loads
from sagaline.runtime.frames import FrameRejected
from sagaline.supervisors.api import StartChild
from sagaline.supervisors.spec import child_spec
from thunderline.messages.gate import TokenIssued


class Marker:
    """Unpickling this runs a shell command that creates ``path`` (what an attacker sends)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class LateMessage(Message):
    """A message class registered by a module the allow-list never heard of."""

    ABSTRACT: ClassVar[bool] = False
    n: int
    """A number."""


@dataclasses.dataclass(frozen=True)
class AppRecord:
    """A plain class an app declares as a message (not a sagaline Message)."""

    value: str


def test_a_pickle_that_would_run_a_command_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(FrameRejected, match=r"posix\.system is not on the transport's allow-list"):
        restricted_loads(pickle.dumps(Marker(marker)))
    assert not marker.exists()
    pickle.loads(pickle.dumps(Marker(marker)))  # the same bytes through plain pickle do run it
    assert marker.exists()


@pytest.mark.parametrize(
    "reference",
    [
        ("builtins", "eval"),
        ("builtins", "getattr"),
        ("subprocess", "Popen"),
        ("thespian.actors", "ActorSystem"),
        ("thespian.actors", "ValidateSource"),
        ("thespian.system.logdirector", "LoggerFileDup"),
        ("sagaline.messages.base", "BaseModel"),
        ("sagaline.messages.ids", "uuid7"),
    ],
)
def test_callables_and_dangerous_classes_are_refused_by_name(reference):
    with pytest.raises(FrameRejected, match="not on the transport's allow-list"):
        restricted_loads(_global_pickle(*reference))


def _global_pickle(module, name):
    """A protocol-4 pickle that only references ``module.name`` (STACK_GLOBAL)."""
    m, n = module.encode(), name.encode()
    return b"\x80\x04\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n + b"\x93."


def test_a_module_off_the_list_is_not_even_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "sidefx_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sidefx_mod

    payload = pickle.dumps(sidefx_mod.Thing())
    del sys.modules["sidefx_mod"]
    marker.unlink()
    with pytest.raises(FrameRejected, match=r"sidefx_mod\.Thing"):
        restricted_loads(payload)
    assert not marker.exists()


def test_what_thespian_and_sagaline_send_round_trips():
    address = ActorAddress(TCPv4ActorAddress("127.0.0.1", 40000, external=True))
    headers = Headers(correlation_id=uuid7(), idempotency_key="k")
    issued = TokenIssued(headers=headers, token="t", email="a@b.c", expires_at=dt.datetime.now(dt.UTC))
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "message", None, None)
    values = [
        (address, issued),
        ActorExitRequest(),
        ChildActorExited(address),
        PoisonMessage(issued, "trace"),
        DeadEnvelope(address, issued),
        StartChild(spec=child_spec("w", "tests.support.actors.Worker", {"a": 1})),
        [
            uuid.uuid4(),
            Decimal("1.5"),
            PurePosixPath("/a"),
            Path("/b"),
            dt.timedelta(seconds=3),
            {1, 2},
            frozenset({3}),
            dt.date(2026, 1, 1),
            ValueError("boom"),
        ],
    ]
    for value in values:
        back = restricted_loads(pickle.dumps(value))
        assert type(back) is type(value)
    assert restricted_loads(pickle.dumps((address, issued)))[1] == issued
    assert restricted_loads(pickle.dumps(record)).getMessage() == "message"


def test_a_message_class_registered_after_start_is_accepted_without_listing_it():
    assert restricted_loads(pickle.dumps(LateMessage(n=3))) == LateMessage(n=3)


def test_allow_classes_adds_what_apps_declare_by_class_or_by_name():
    allowed = AllowList({})
    with pytest.raises(FrameRejected):
        allowed.find(__name__, "AppRecord")
    allowed.allow([f"{__name__}:AppRecord"])
    assert allowed.find(__name__, "AppRecord") is AppRecord
    allow_classes([AppRecord])
    assert restricted_loads(pickle.dumps(AppRecord("x"))) == AppRecord("x")
    with pytest.raises(ValueError, match="not a class"):
        allowed.allow([f"{__name__}:_global_pickle"])
    with pytest.raises(ValueError, match="cannot allow"):
        allowed.allow(["no.such.module:Thing"])


def test_a_malformed_pickle_is_refused_as_a_frame_not_raised_as_anything_else():
    for junk in (b"", b"\x80\x04garbage", b"(\x8c\x01a", b"\x80\x04P0\n."):
        with pytest.raises(FrameRejected):
            restricted_loads(junk)


def test_a_process_runs_launch_travels_in_its_hosts_init_args():
    """A process run's single-run host gets its launch (and an operator's action) in InitActor args."""
    from sagaline.hosts.host_args import NewRun, Rebuild, Successor
    from sagaline.hosts.saga_run import Operation
    from sagaline.messages.saga import StartSaga

    cid = uuid7()
    launches = [
        NewRun(cid, "s", StartSaga(saga="s", correlation_id=cid)),
        Rebuild(cid, "s", Operation(kind="retry_compensations", reply_to=None, steps=("a",))),
        Successor(cid, "s", uuid7(), None, None),
    ]
    assert [restricted_loads(pickle.dumps(launch)) for launch in launches] == launches
