"""Puts ``examples/`` on the import path, so ``inventory`` imports in the tests and, through the
import path the daemon fixtures hand on, in the daemon and its actor processes."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
