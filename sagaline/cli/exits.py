"""PURE. The CLI's exit statuses: the contract scripts rely on (README, "CLI: the contract").

=====  ===============  =================================================================
code   name             when
=====  ===============  =================================================================
0      OK               done (for ``--wait`` / ``sagas wait``: the run completed)
1      FAILED           the daemon could not carry it out: a part of it is not running,
                        it failed inside, or every admin worker was busy (try again)
2      BAD_INPUT        bad input: a usage error, a value that does not fit, an unknown
                        status or saga to filter by, an unknown saga to start, a step the
                        run lacks, an ambiguous run id prefix; nothing was done
3      UNREACHABLE      no daemon there (or it is starting, or it is not this
                        installation's daemon)
4      TIMEOUT          no answer in time; a run waited for did not end in time
5      NOT_COMPLETED    ``--wait`` / ``sagas wait``: the run ended but did not complete
6      NOT_READY        ``health --exit-code``: live but not ready
7      NOT_LIVE         ``health --exit-code``: not live
8      REFUSED          the daemon said no and changed nothing: the run is not in a state
                        that allows it (cancel of an ended run, retry of a run that is not
                        stuck, resume of a completed one), too many runs, stopping
9      NOT_FOUND        no such run (or saga, or app command) to look at
10     STORAGE_FAULT    ``health --exit-code``: live, but a saga host cannot write the
                        journal (disk full, read-only, unreachable): starts are refused
130    INTERRUPTED      Ctrl-C (one-shot); in the shell Ctrl-C cancels the command only
141    BROKEN_PIPE      stdout was closed early (``sagaline sagas list | head``): quietly
=====  ===============  =================================================================

:func:`for_error` maps each :class:`~sagaline.client.errors.ClientError` to
its status; :data:`EXIT_TABLE` is the table above as data (a test holds the
README to it).
"""

from __future__ import annotations

from enum import IntEnum

from sagaline.client.errors import (
    BadInput,
    Busy,
    ClientError,
    DaemonFault,
    DaemonUnreachable,
    NotFound,
    Refused,
    Timeout,
)

__all__ = ["Exit", "for_error", "EXIT_TABLE"]


class Exit(IntEnum):
    """The exit statuses (see the module docstring)."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    UNREACHABLE = 3
    TIMEOUT = 4
    NOT_COMPLETED = 5
    NOT_READY = 6
    NOT_LIVE = 7
    REFUSED = 8
    NOT_FOUND = 9
    STORAGE_FAULT = 10
    INTERRUPTED = 130
    BROKEN_PIPE = 141


#: (status, what it means) for the README's table, in order.
EXIT_TABLE: tuple[tuple[Exit, str], ...] = (
    (Exit.OK, "done (with `--wait` / `sagas wait`: the run completed)"),
    (
        Exit.FAILED,
        "the daemon could not carry it out: a part of it is not running, it failed inside, "
        "or every admin worker was busy (try again)",
    ),
    (
        Exit.BAD_INPUT,
        "bad input, nothing was done: a usage error, a value that does not fit its type, an unknown "
        "status or saga, a step the run does not have, an ambiguous run id prefix",
    ),
    (Exit.UNREACHABLE, "no daemon there, it is still starting, or the listener is not this installation's daemon"),
    (Exit.TIMEOUT, "no answer in time, or a run waited for did not end in time"),
    (
        Exit.NOT_COMPLETED,
        "`--wait` / `sagas wait`: the run ended but did not complete (failed, cancelled, stuck, "
        "halted, needs_operator)",
    ),
    (Exit.NOT_READY, "`health --exit-code`: live but not ready"),
    (Exit.NOT_LIVE, "`health --exit-code`: not live"),
    (
        Exit.REFUSED,
        "the daemon said no and changed nothing: the run's state does not allow it, too many runs, "
        "the daemon is stopping",
    ),
    (Exit.NOT_FOUND, "no such run, saga or app command"),
    (
        Exit.STORAGE_FAULT,
        "`health --exit-code`: live, but a saga host cannot write the journal (disk full, "
        "read-only, unreachable): starts are refused with `storage_unavailable`",
    ),
    (Exit.INTERRUPTED, "interrupted by Ctrl-C (one-shot commands; in the shell Ctrl-C cancels only the command)"),
    (Exit.BROKEN_PIPE, "stdout was closed before the answer was written (`... | head`); nothing on stderr"),
)


def for_error(error: ClientError) -> Exit:
    """The exit status for a client error (most specific class first)."""
    for cls, status in _BY_CLASS:
        if isinstance(error, cls):
            return status
    return Exit.FAILED


_BY_CLASS: tuple[tuple[type[ClientError], Exit], ...] = (
    (NotFound, Exit.NOT_FOUND),
    (Refused, Exit.REFUSED),
    (BadInput, Exit.BAD_INPUT),
    (Timeout, Exit.TIMEOUT),
    (DaemonUnreachable, Exit.UNREACHABLE),
    (Busy, Exit.FAILED),
    (DaemonFault, Exit.FAILED),
)
