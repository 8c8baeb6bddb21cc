"""The convention heartbeat patch: both of Thespian's convention periods set, in the process that forks the
admin (measured end to end in tests/integration/test_convention_lost_member.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sagaline.runtime.patches import convention_period


def test_the_heartbeat_sets_the_reregistration_and_the_restart_period_and_leaves_the_miss_count():
    script = (
        "from sagaline.runtime.patches import convention_period\n"
        "from thespian.system.admin import convention as c\n"
        "convention_period(0.75)\n"
        "print(c.CONVENTION_REREGISTRATION_PERIOD.total_seconds(), c.CONVENTION_RESTART_PERIOD.total_seconds(),"
        " c.CONVENTION_REGISTRATION_MISS_MAX)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["0.75", "0.75", "3"]


def test_a_heartbeat_that_is_not_positive_is_refused():
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="positive"):
            convention_period(bad)
