"""``sagaline runs trace CID``: a run's trace timeline, read from the daemon's telemetry files.

No daemon is needed: the actors write their spans as JSON lines under the
telemetry directory (``$SAGALINE_TELEMETRY_DIR``, else
``<data dir>/telemetry``; see :mod:`sagaline.telemetry.setup`), and
:func:`sagaline.telemetry.timeline.trace_timeline` renders them. An
unambiguous prefix of the run's id will do (resolved among the traces
there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from sagaline.cli.exits import Exit
from sagaline.cli.output import Output

__all__ = ["show_trace"]


def show_trace(args: argparse.Namespace, output: Output) -> int:
    """Print the timeline of run ``args.correlation_id`` (or the one run whose id starts with it)."""
    from sagaline.telemetry.timeline import find_runs, telemetry_directory, trace_timeline

    directory = telemetry_directory(args.data_dir)
    if directory is None or not Path(directory).is_dir():
        output.error(
            "not_found", f"no telemetry directory at {directory} (is the jsonl exporter on?)", exit_code=Exit.NOT_FOUND
        )
        return Exit.NOT_FOUND
    try:
        matches = find_runs(directory, args.correlation_id.lower())  # ids are stored lower-case
        if len(matches) > 1:
            output.error(
                "ambiguous",
                f"run id prefix {args.correlation_id!r} is ambiguous: {len(matches)} traces "
                f"match: {'; '.join(matches[:10])}",
                {"candidates": matches[:10]},
                Exit.BAD_INPUT,
            )
            return Exit.BAD_INPUT
        if not matches:
            output.error(
                "not_found", f"no spans for run {args.correlation_id} under {directory}", exit_code=Exit.NOT_FOUND
            )
            return Exit.NOT_FOUND
        text = trace_timeline(directory, matches[0])
    except (OSError, KeyError, ValueError, TypeError) as exc:  # written by other processes: maybe cut short
        output.error(
            "internal", f"could not read the trace from {directory}: {type(exc).__name__}: {exc}", exit_code=Exit.FAILED
        )
        return Exit.FAILED
    output.show(Text(text))
    return Exit.OK
