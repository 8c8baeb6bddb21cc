"""A run's trace spans, read from the daemon's JSON-lines files, incrementally.

The daemon's actors append spans to ``<telemetry dir>/spans-YYYY-MM-DD.jsonl``
(one ``O_APPEND`` write per batch; see :mod:`sagaline.telemetry.exporters`).
A :class:`TraceReader` keeps, per file, the offset it has read up to, so a
live run page re-reads only what was appended since its last look; it
searches the bytes for the trace id (the correlation id without dashes)
and parses only the lines that hold it. A line cut short (a batch being
written) is kept until its newline arrives. :class:`TraceCache` holds the
readers of the runs being looked at (least recently used dropped).

Files older than the day before the run started are skipped.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["TraceReader", "TraceCache", "MAX_SPANS"]

#: Spans kept per trace (a run that retries forever must not fill the console's memory).
MAX_SPANS = 5000
#: Bytes read at a time.
CHUNK = 4 * 1024 * 1024


class TraceReader:
    """The spans of one run's trace under ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike | None, correlation_id: str, started_at: float | None = None):
        self.directory = Path(directory) if directory else None
        self.trace_id = correlation_id.replace("-", "").lower()
        self._loose = self.trace_id.encode()
        self._first_day = (
            None
            if started_at is None
            else (datetime.fromtimestamp(started_at, UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
        )
        self._offsets: dict[Path, int] = {}
        self._spans: dict[str, dict[str, Any]] = {}

    def read(self) -> list[dict[str, Any]]:
        """Every span of the trace found so far (new lines read now)."""
        if self.directory is None or not self.directory.is_dir():
            return list(self._spans.values())
        for path in sorted(self.directory.glob("spans-*.jsonl")):
            if self._first_day is None or path.stem.removeprefix("spans-") >= self._first_day:
                self._read_file(path)
        return list(self._spans.values())

    def _read_file(self, path: Path) -> None:
        offset = self._offsets.get(path, 0)
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < offset:
                    offset = 0  # the file was replaced
                handle.seek(offset)
                while offset < size:
                    chunk = handle.read(min(CHUNK, size - offset))
                    if not chunk:
                        break
                    end = chunk.rfind(b"\n") + 1
                    if end == 0:
                        break  # no whole line yet: wait for the rest
                    self._scan(chunk[:end])
                    offset += end
                    handle.seek(offset)
        except OSError:
            return
        self._offsets[path] = offset

    def _scan(self, data: bytes) -> None:
        at = data.find(self._loose)
        while at != -1 and len(self._spans) < MAX_SPANS:
            start = data.rfind(b"\n", 0, at) + 1
            stop = data.find(b"\n", at)
            stop = len(data) if stop == -1 else stop
            self._take(data[start:stop])
            at = data.find(self._loose, stop)

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if isinstance(record, dict) and record.get("type") == "span" and record.get("trace_id") == self.trace_id:
            self._spans[str(record.get("span_id"))] = record


class TraceCache:
    """Readers of the runs being looked at, at most ``size`` (least recently used dropped)."""

    def __init__(self, directory: str | os.PathLike | None, size: int = 64) -> None:
        self.directory = directory
        self.size = size
        self._readers: OrderedDict[str, TraceReader] = OrderedDict()
        self._lock = threading.Lock()  # pages read spans on worker threads

    def spans(self, correlation_id: str, started_at: float | None = None) -> list[dict[str, Any]]:
        """The run's spans (reading what was appended since the last call for it)."""
        with self._lock:
            reader = self._readers.pop(correlation_id, None) or TraceReader(self.directory, correlation_id, started_at)
            self._readers[correlation_id] = reader
            while len(self._readers) > self.size:
                self._readers.popitem(last=False)
            return reader.read()
