"""Shared by every test. Keep it minimal.

The sagaline pytest plugin (fixtures ``actor_system``, ``fake_clock``, ...)
is loaded through its ``pytest11`` entry point, not from here. The repository
root goes on ``sys.path`` so ``tests.support`` imports in the test process
and, through the import path handed to the launcher, in actor processes.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
