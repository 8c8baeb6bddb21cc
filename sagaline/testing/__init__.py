"""Test support shipped with sagaline: the pytest plugin (fixtures
``actor_system``, ``simple_actor_system``, ``multiproc_actor_system``,
``fake_clock``) and the pure :class:`FakeClock`."""

from sagaline.testing.clock import FakeClock

__all__ = ["FakeClock"]
