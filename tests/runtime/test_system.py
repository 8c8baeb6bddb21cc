"""Starting, joining and stopping systems: loopback-only listeners, no inherited
descriptors, nothing left after shutdown, joins that never start or stop a system."""

import os

import pytest

from sagaline.runtime import AskTimeout, NoSystemListening, SystemNotOwned, join_system, start_system
from sagaline.runtime.system import free_port
from tests.support.actors import ProbeEvent
from tests.support.tree import start_probe, start_supervisor, worker
from tests.support.wire import listening_sockets, open_descriptors

pytestmark = [pytest.mark.multiproc, pytest.mark.timeout(60)]


def test_every_listener_binds_loopback_only(multiproc_actor_system):
    h = multiproc_actor_system
    probe = start_probe(h)
    start_supervisor(h, [worker("a", probe), worker("b", probe)])
    sockets = listening_sockets(h.pids())
    assert len(sockets) >= 5  # admin, logger, probe, supervisor, two workers
    assert {host for host, _ in sockets} == {"127.0.0.1"}
    assert h.admin_port in {port for _, port in sockets}


def test_actor_processes_inherit_no_descriptor_of_the_caller(multiproc_actor_system):
    h = multiproc_actor_system
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    try:
        start_supervisor(h, [worker("a", start_probe(h))])  # actors forked after the pipe exists
        mine = os.readlink(f"/proc/self/fd/{write_end}")
        for pid in h.pids():
            assert mine not in open_descriptors(pid)
            assert os.readlink(f"/proc/{pid}/fd/1").endswith("launcher.log")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_an_in_process_shutdown_runs_every_actors_last_words(tmp_path):
    """simpleSystemBase's own shutdown tells no actor: stores stayed open."""
    handle = start_system("simpleSystemBase", log_dir=tmp_path)
    words = tmp_path / "last_words"
    probe = start_probe(handle)
    start_supervisor(handle, [worker(label, probe, last_words=str(words)) for label in ("a", "b")])
    assert handle.shutdown() == set()
    assert sorted(words.read_text().splitlines()) == ["a shutdown", "b shutdown"]


def test_shutdown_leaves_no_process(tmp_path):
    handle = start_system("multiprocTCPBase", log_dir=tmp_path)
    start_supervisor(handle, [worker("a", start_probe(handle))])
    assert len(handle.pids()) >= 4
    assert handle.shutdown() == set()
    assert handle.pids() == set()


def test_join_refuses_an_empty_port_and_never_shuts_down(multiproc_actor_system):
    with pytest.raises(NoSystemListening):
        join_system(free_port())
    joined = join_system(multiproc_actor_system.admin_port)
    probe = start_probe(joined)
    with pytest.raises(SystemNotOwned):
        joined.shutdown()
    joined.close()
    assert start_probe(multiproc_actor_system) != probe


def test_an_unanswered_ask_times_out(multiproc_actor_system):
    probe = start_probe(multiproc_actor_system)
    with pytest.raises(AskTimeout):
        multiproc_actor_system.ask(probe, ProbeEvent(kind="x", label="y"), timeout=0.3)


def test_message_descriptions_are_rendered_only_when_written(multiproc_actor_system):
    """Thespian's DEBUG lines build identify() eagerly; patched, it renders only when formatted."""
    from thespian.system.transport import ReceiveEnvelope

    rendered = []

    class Loud:
        def __str__(self):
            rendered.append(1)
            return "loud"

    envelope = ReceiveEnvelope("someone", Loud())
    described = envelope.identify()
    assert rendered == []
    assert "loud" in f"{described}" and "loud" in str(envelope) and len(rendered) == 2


def test_a_child_forked_while_a_message_is_handled_starts_with_none_handled():
    """Actors fork their children inside a handler; the child's self-sends must not think so."""
    from sagaline.runtime import patches

    with patches.dispatching():
        pid = os.fork()
        if pid == 0:
            os._exit(0 if patches._handling[0] == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
