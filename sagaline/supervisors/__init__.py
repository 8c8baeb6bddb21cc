"""Supervision: child specs and flags (PURE), restart strategy (PURE), and
the supervisor actors.

* :mod:`.spec` -- ChildSpec, SupervisorFlags, DynamicFlags, builders, defaults;
* :mod:`.strategy` -- on_exit decisions and restart intensity (pure, fake-clock tested);
* :mod:`.supervisor` -- the Supervisor actor; :mod:`.dynamic` -- DynamicSupervisor;
  :mod:`.children` -- the child-handling shell both share.

This package re-exports only the pure parts, so importing it pulls in no
Thespian; import the actors from their modules.
"""

from sagaline.supervisors.spec import (
    ChildSpec,
    DynamicFlags,
    InvalidSpec,
    SupervisionError,
    SupervisorFlags,
    child_spec,
    dynamic_supervisor_spec,
    supervisor_flags,
    supervisor_spec,
)
from sagaline.supervisors.strategy import Decision, Intensity, on_exit

__all__ = [
    "ChildSpec",
    "Decision",
    "DynamicFlags",
    "Intensity",
    "InvalidSpec",
    "SupervisionError",
    "SupervisorFlags",
    "child_spec",
    "dynamic_supervisor_spec",
    "on_exit",
    "supervisor_flags",
    "supervisor_spec",
]
