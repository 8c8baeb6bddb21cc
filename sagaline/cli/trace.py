"""``sagaline runs trace CID``: a run's trace timeline, read from the daemon's telemetry files.

No daemon is needed: the actors write their spans as JSON lines under the
telemetry directory (``$SAGALINE_TELEMETRY_DIR``, else
``<data dir>/telemetry``; see :mod:`sagaline.telemetry.setup`), and
:func:`sagaline.telemetry.timeline.trace_timeline` renders them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from sagaline.daemon.config import DEFAULT_DATA_DIR
from sagaline.messages.ids import canonical_uuid7

__all__ = ["show_trace", "telemetry_directory"]


def telemetry_directory(data_dir: str | None, environ: dict[str, str] | None = None) -> Path | None:
    """Where the spans are: ``SAGALINE_TELEMETRY_DIR``, else ``<data dir>/telemetry``."""
    environ = dict(os.environ if environ is None else environ)
    environ["SAGALINE_DATA_DIR"] = str(Path(data_dir or environ.get("SAGALINE_DATA_DIR") or DEFAULT_DATA_DIR))
    from sagaline.telemetry.setup import config_from_env

    return config_from_env(environ).directory


def show_trace(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the timeline of run ``args.correlation_id`` (any letter case); 1 when no span of it was found."""
    try:
        from sagaline.telemetry.timeline import trace_timeline
    except ImportError:
        print("sagaline: this build has no trace timeline (sagaline.telemetry.timeline)", file=err)
        return 1
    directory = telemetry_directory(args.data_dir)
    if directory is None or not Path(directory).is_dir():
        print(f"sagaline: no telemetry directory at {directory} (is the jsonl exporter on?)", file=err)
        return 1
    try:
        text = trace_timeline(directory, canonical_uuid7(args.correlation_id) or args.correlation_id)
    except Exception as exc:  # the files are written by other processes, maybe cut short
        print(f"sagaline: could not render the trace from {directory}: {type(exc).__name__}: {exc}", file=err)
        return 1
    print(text, file=out)
    return 1 if text.startswith("no spans") else 0
