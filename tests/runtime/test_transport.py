"""The authenticated, bounded transport on a real multiprocTCPBase system: what it refuses, what
it proves, what it survives; and the pins that fail when Thespian's source changes."""

import pickle
import resource
import socket
import time

import pytest

from sagaline.runtime import (
    NoSystemListening,
    NotTheDaemon,
    TransportPatchError,
    join_system,
    transport,
    verify_listener,
)
from sagaline.runtime.frames import FrameKey
from sagaline.runtime.limits import Throttle, TransportLimits
from sagaline.runtime.system import MULTIPROC, free_port
from sagaline.testing.plugin import running_system
from tests.support.actors import ProbeGetEvents, ProbePing
from tests.support.tree import start_probe, start_supervisor, wait_until
from tests.support.wire import FakeListener, logger_pid, malicious_frame, own_listeners, send_and_read

pytestmark = [pytest.mark.timeout(90)]


# ----- the pins -----------------------------------------------------------------------------------


def test_thespian_is_the_source_the_transport_patch_was_written_for():
    """Fails when thespian is upgraded or edited: re-read the patched functions, then update PINNED."""
    assert transport.check_pins() == {}


def test_a_changed_thespian_is_refused_rather_than_run_unprotected(monkeypatch):
    monkeypatch.setitem(transport.PINNED, "TCPTransport.serializer", "0" * 64)
    monkeypatch.setitem(transport._state, "patched", False)
    assert set(transport.check_pins()) == {"TCPTransport.serializer"}
    with pytest.raises(TransportPatchError, match=r"not the pinned thespian==4\.0\.1.*TCPTransport\.serializer"):
        transport.install_transport(b"k" * 32)


@pytest.mark.multiproc
def test_once_installed_every_frame_path_of_thespian_goes_through_the_patch(multiproc_actor_system):
    from thespian.system.transport import TCPTransport as tcp

    assert tcp.ReceiveBuffer.__name__ == "AuthReceiveBuffer"
    assert tcp.toSendBuffer is transport._seal
    assert tcp.TCPTransport._addedDataToIncoming.__name__ == "_addedDataToIncoming"
    assert tcp.TCPTransport._addedDataToIncoming is not transport._state["originals"]["_addedDataToIncoming"]
    assert transport.installed_key().ack_bodies[tcp.ackMsg.partition(b">")[2]] == "ACK"
    assert tcp.selectors.DefaultSelector.__name__ == "PollSelector"


# ----- limits and the log throttle (pure) ---------------------------------------------------------


def test_the_throttle_logs_once_per_interval_and_counts_what_it_held_back(fake_clock):
    throttle = Throttle(10.0, clock=fake_clock)
    assert throttle.admit() == 0
    assert [throttle.admit() for _ in range(3)] == [None, None, None]
    fake_clock.advance(10.0)
    assert throttle.admit() == 3
    assert throttle.admit() is None


def test_limits_come_from_the_environment_and_bad_values_are_refused():
    limits = TransportLimits.from_environ({"SAGALINE_FRAME_DEADLINE_S": "2.5", "SAGALINE_MAX_CONNECTIONS": "7"})
    assert (limits.frame_deadline_s, limits.max_connections) == (2.5, 7)
    assert TransportLimits.from_environ({}) == TransportLimits()
    assert 16 <= TransportLimits().max_connections <= 512
    for bad in ({"SAGALINE_FRAME_DEADLINE_S": "soon"}, {"SAGALINE_MAX_CONNECTIONS": "0"}):
        with pytest.raises(ValueError, match="is not a positive"):
            TransportLimits.from_environ(bad)


# ----- a live system ------------------------------------------------------------------------------


def read(path) -> str:
    """A log's text so far ("" before it exists)."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def system_ports(h):
    """(admin port, logger pid and port, one actor's pid and port) of a running system."""
    probe = start_probe(h)
    assert h.ask(probe, ProbeGetEvents()) is not None
    pids = h.pids()
    logger = logger_pid(pids, h.log_dir / "actors.log")
    actor = max(pids - {h.admin_pid, logger})
    return (h.admin_port, (logger, min(own_listeners(logger, pids))), (actor, min(own_listeners(actor, pids))), probe)


@pytest.mark.multiproc
def test_a_malicious_pickle_is_refused_by_the_admin_the_logger_and_an_actor_and_runs_nothing(
    multiproc_actor_system, tmp_path
):
    h = multiproc_actor_system
    admin_port, (_logger, logger_port), (actor, actor_port), probe = system_ports(h)
    marker = tmp_path / "pwned"
    for port in (admin_port, logger_port, actor_port):
        # Plain Thespian answers a bad pickle with an ACK+DATAERR frame, a good one with an ACK; we close.
        assert send_and_read("127.0.0.1", port, malicious_frame(marker)) == b"", port
    time.sleep(0.5)
    assert not marker.exists()
    thespian_log = (h.log_dir / "thespian.log").read_text()
    for pid in (h.admin_pid, actor):
        assert f"p{pid} Warn sagaline transport: refused a frame" in thespian_log
    assert "refused a frame" in wait_until(lambda: read(h.log_dir / "actors.log"))
    assert h.ask(probe, ProbeGetEvents()) is not None and start_probe(h) != probe


@pytest.mark.multiproc
def test_a_frame_sealed_with_another_secret_is_refused_like_any_stranger(multiproc_actor_system, tmp_path):
    h = multiproc_actor_system
    sealed = FrameKey(b"another installation's secret!!!").seal(pickle.dumps((None, "hello")))
    assert send_and_read("127.0.0.1", h.admin_port, sealed) == b""
    assert "tag does not match" in (h.log_dir / "thespian.log").read_text()
    assert start_probe(h) is not None


@pytest.mark.multiproc
def test_the_admin_proves_its_identity_and_strangers_cannot(multiproc_actor_system):
    h = multiproc_actor_system
    verify_listener("127.0.0.1", h.admin_port, transport.installed_secret())
    with pytest.raises(NotTheDaemon, match="did not prove"):
        verify_listener("127.0.0.1", h.admin_port, b"another installation's secret!!!")
    with pytest.raises(NoSystemListening):
        verify_listener("127.0.0.1", free_port(), transport.installed_secret())


def test_joining_a_squatter_sends_it_nothing_but_a_hello_and_unpickles_nothing(tmp_path):
    marker = tmp_path / "pwned"
    squatter = FakeListener(answer=malicious_frame(marker))
    try:
        with pytest.raises(NotTheDaemon, match=f"127.0.0.1:{squatter.port} did not prove"):
            join_system(squatter.port, secret=b"s" * 32)
    finally:
        squatter.close()
    assert not marker.exists()
    assert [(data[:3], len(data)) for data in squatter.received] == [(b"33>", 36)]  # one hello: 0x02 + nonce


@pytest.mark.multiproc
def test_idle_and_surplus_connections_are_closed_and_the_system_keeps_serving(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGALINE_FRAME_DEADLINE_S", "1")
    monkeypatch.setenv("SAGALINE_MAX_CONNECTIONS", "8")
    for h in running_system(MULTIPROC, tmp_path):
        probe = start_probe(h)
        idle = [socket.create_connection(("127.0.0.1", h.admin_port)) for _ in range(20)]
        try:
            began = time.monotonic()
            closed = [s for s in idle if _closed_by_peer(s, 5.0)]
            assert len(closed) == 20 and time.monotonic() - began < 5.0
        finally:
            for s in idle:
                s.close()
        log = (h.log_dir / "thespian.log").read_text()
        assert "closed the oldest unauthenticated connection" in log and "sent no whole frame within 1 s" in log
        assert start_probe(h) != probe


def _closed_by_peer(conn: socket.socket, timeout: float) -> bool:
    conn.settimeout(timeout)
    try:
        return conn.recv(1) == b""
    except OSError:
        return False


@pytest.mark.multiproc
def test_the_admin_survives_running_out_of_descriptors_and_says_so(multiproc_actor_system):
    h = multiproc_actor_system
    soft, hard = resource.prlimit(h.admin_pid, resource.RLIMIT_NOFILE)
    resource.prlimit(h.admin_pid, resource.RLIMIT_NOFILE, (64, hard))
    flood = []
    try:
        for _ in range(120):
            flood.append(socket.create_connection(("127.0.0.1", h.admin_port), timeout=5))
        wait_until(lambda: "out of file descriptors" in read(h.log_dir / "thespian.log"))
    finally:
        for conn in flood:
            conn.close()
        resource.prlimit(h.admin_pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert start_probe(h) is not None  # created through the admin
    assert h.admin_pid in h.pids()


@pytest.mark.parametrize(
    "answer, why",
    [
        (b"", "closed the connection without an answer"),
        (b"8>garbage!", "a wrong answer"),
        (b"x" * 40, "FrameRejected"),
        (b"99999999>", "FrameRejected"),
    ],
)
def test_a_listener_that_answers_anything_but_the_proof_is_named_not_the_daemon(answer, why):
    squatter = FakeListener(answer=answer)
    try:
        with pytest.raises(NotTheDaemon, match=why):
            verify_listener("127.0.0.1", squatter.port, b"s" * 32, timeout=2.0)
    finally:
        squatter.close()


def test_a_listener_that_never_answers_is_given_up_on_by_the_deadline():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        began = time.monotonic()
        with pytest.raises(NotTheDaemon, match="no answer in time"):
            verify_listener("127.0.0.1", silent.getsockname()[1], b"s" * 32, timeout=0.5)
        assert time.monotonic() - began < 2.0


@pytest.mark.multiproc
def test_a_message_its_receiver_cannot_decode_fails_at_once_instead_of_being_retried(multiproc_actor_system):
    """A supervisor's process never imports tests.support: the authentic frame is refused with an error ACK."""
    from thespian.actors import ActorSystemFailure

    h = multiproc_actor_system
    sup = start_supervisor(h, [])
    began = time.monotonic()
    with pytest.raises(ActorSystemFailure, match="BadPacket"):
        h.ask(sup, ProbePing(), timeout=20)
    assert time.monotonic() - began < 10
    assert "class tests.support.actors.ProbePing is not on the transport's allow-list" in read(
        h.log_dir / "thespian.log"
    )
