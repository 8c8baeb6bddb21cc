"""The CLI's connection to the running daemon: a :class:`sagaline.Client`, and what its errors mean as exit codes.

Where the daemon is: :func:`sagaline.client.locate.locate` (``--admin-port``,
else ``SAGALINE_ADMIN_PORT``, else ``daemon.json`` in ``--data-dir`` /
``SAGALINE_DATA_DIR`` / ``./data``, else 7720; host ``--host``, else
127.0.0.1). How it connects: :mod:`sagaline.client.channel` (a TCP probe
first; a join never starts an actor system; the admin door is found, never
created; the daemon is never shut down from here).

Exit codes for the client's errors (:func:`exit_code`): 3 no daemon (or it
is starting, or it went away), 4 no answer in time (a start whose outcome
is unknown included: the message names the id to look up), 2 a request
that cannot be sent, 1 any other error the daemon answered.
"""

from __future__ import annotations

from typing import Any

from sagaline.client import BadInput, Client, ClientError, DaemonUnreachable, Timeout, locate
from sagaline.client.channel import ThespianChannel

__all__ = ["open_client", "exit_code", "EXIT_NO_DAEMON", "EXIT_NO_ANSWER", "ClientError"]

EXIT_NO_DAEMON, EXIT_NO_ANSWER = 3, 4


def open_client(admin_port: int | None = None, host: str | None = None, data_dir: Any = None) -> Client:
    """A connected client for the CLI's connection options.

    Raises:
        ClientError: no daemon (DaemonUnreachable, DaemonStarting), or a bad ``SAGALINE_ADMIN_PORT``.
    """
    return Client(channel=ThespianChannel(locate(admin_port, host, data_dir)))


def exit_code(error: ClientError) -> int:
    """The CLI's exit status for a client error (see the module docstring)."""
    if isinstance(error, DaemonUnreachable):
        return EXIT_NO_DAEMON
    if isinstance(error, Timeout):
        return EXIT_NO_ANSWER
    if isinstance(error, BadInput):
        return 2
    return 1
