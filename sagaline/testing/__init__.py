"""Test support shipped with sagaline: the pytest plugin (fixtures
``actor_system``, ``simple_actor_system``, ``multiproc_actor_system``,
``fake_clock``, ``sagaline_daemon_factory``, ``sagaline_daemon``,
``sagaline_cli``), the pure :class:`FakeClock`, and
:mod:`sagaline.testing.daemon` (:class:`~sagaline.testing.daemon.DaemonProcess`,
:class:`~sagaline.testing.daemon.CliRunner`) for tests that need a daemon of
another scope than the fixtures', and :class:`~sagaline.testing.channel.FakeChannel`, a
scripted daemon for tests of code that uses :class:`sagaline.Client`."""

from sagaline.testing.clock import FakeClock

__all__ = ["FakeClock"]
