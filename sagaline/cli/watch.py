"""Following a run live (``--wait`` and ``sagas wait`` on a terminal): its steps as they progress.

:func:`follow` asks the daemon for the run (``AdminShowRun``) every
:data:`POLL_S` seconds, prints a line for each change
(:func:`sagaline.cli.render_run.progress_lines`), and once the run has
ended returns its outcome exactly as ``sagas wait`` answers it
(``AdminWaitRun``), so the final view and the exit status are the same as
without a terminal. Stopping (Ctrl-C, or the shell's ``stop`` event) stops
the following only; the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sagaline.cli.render_run import StepMarks, progress_lines
from sagaline.client.errors import Timeout, error_for
from sagaline.messages import admin as m

__all__ = ["follow", "Interrupted", "POLL_S", "ENDED"]

#: Seconds between two looks at the run (a step of UserProvisioning takes a few ms; people see 4 updates/s).
POLL_S = 0.25
#: Run statuses that change no more by themselves.
ENDED = ("completed", "failed", "cancelled", "stuck", "halted", "needs_operator")


class Interrupted(Exception):
    """Following (or a command) was stopped by Ctrl-C; the message says what goes on regardless."""


def follow(
    client: Any,
    correlation_id: str,
    timeout_s: float,
    progress: Callable[[Any], None],
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    poll_s: float = POLL_S,
) -> dict:
    """Follow run ``correlation_id`` until it ends; return its outcome (``AdminWaitRun``'s data).

    Raises:
        Timeout: it did not end within ``timeout_s`` (it goes on).
        Interrupted: ``stop`` was set or Ctrl-C was pressed (it goes on).
        ClientError: the daemon answered an error (e.g. NotFound) or went away.
    """
    began = clock()
    marks: StepMarks = {}
    goes_on = f"run {correlation_id} goes on: see `sagaline sagas show {correlation_id}`"
    try:
        while True:
            data = _ask(client, m.AdminShowRun(correlation_id=correlation_id))
            marks, lines = progress_lines(marks, data, time.time())
            for line in lines:
                progress(line)
            if data["status"] in ENDED:
                return _ask(client, m.AdminWaitRun(correlation_id=correlation_id, timeout_s=10.0))
            waited = clock() - began
            if waited >= timeout_s:
                raise Timeout(
                    f"run {correlation_id} did not end within {timeout_s:g} s (waited {waited:.1f} s); {goes_on}",
                    "no_answer",
                    waited_s=waited,
                )
            if _stopped(stop, min(poll_s, max(0.0, timeout_s - waited))):
                raise Interrupted(f"stopped following; {goes_on}")
    except KeyboardInterrupt:
        raise Interrupted(f"stopped following; {goes_on}") from None


def _stopped(stop: threading.Event | None, seconds: float) -> bool:
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def _ask(client: Any, request: m.AdminRequest) -> dict:
    answer = client.request(request)
    if isinstance(answer, m.AdminError):
        raise error_for(answer)
    return answer.data
