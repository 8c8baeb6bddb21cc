"""The daemon's own log: ``logging``, one line per event, correlation ids when known.

Format::

    2026-01-05 12:00:00,123 INFO sagaline.daemon ready: admin 127.0.0.1:7720 pid=4242
    2026-01-05 12:00:03,456 INFO sagaline.daemon run started cid=01a2...

A record carries a correlation id through ``extra={"correlation_id": cid}``;
:class:`CorrelationFilter` appends ``cid=<id>`` to such lines and nothing to
others. Newlines in messages are escaped so one event stays one line.
Actors log through Thespian's logger process into
``<data_dir>/logs/actors.log`` (see :mod:`sagaline.runtime.launcher`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["configure_logging", "CorrelationFilter", "OneLineFormatter", "LINE_FORMAT"]

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(cid_suffix)s"


class CorrelationFilter(logging.Filter):
    """Adds ``cid_suffix`` to a record: `` cid=<id>``, or empty when it has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        cid = getattr(record, "correlation_id", None)
        record.cid_suffix = f" cid={cid}" if cid else ""
        return True


class OneLineFormatter(logging.Formatter):
    """Escapes newlines (messages, tracebacks) so one event is one line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> logging.Handler:
    """Send the ``sagaline`` loggers to ``log_file`` (or stderr), one line per event.

    Returns:
        The handler installed (remove it with ``logging.getLogger("sagaline").removeHandler``).
    """
    handler: logging.Handler
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(LINE_FORMAT))
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("sagaline")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
