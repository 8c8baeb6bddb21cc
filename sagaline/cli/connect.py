"""The CLI's connection to the running daemon: a :class:`sagaline.Client`.

Where the daemon is: :func:`sagaline.client.locate.locate` (``--admin-port``,
else ``SAGALINE_ADMIN_PORT``, else ``daemon.json`` in ``--data-dir`` /
``SAGALINE_DATA_DIR`` / ``./data``, else 7720; host ``--host``, else
127.0.0.1). How it connects: :mod:`sagaline.client.channel` (a TCP probe
first; a join never starts an actor system; the admin door is found, never
created; the daemon is never shut down from here). What its errors mean as
exit statuses: :func:`sagaline.cli.exits.for_error`.
"""

from __future__ import annotations

from typing import Any

from sagaline.cli.exits import Exit, for_error
from sagaline.client import Client, ClientError, locate
from sagaline.client.channel import ThespianChannel

__all__ = ["open_client", "exit_code", "EXIT_NO_DAEMON", "EXIT_NO_ANSWER", "ClientError"]

EXIT_NO_DAEMON, EXIT_NO_ANSWER = int(Exit.UNREACHABLE), int(Exit.TIMEOUT)


def open_client(admin_port: int | None = None, host: str | None = None, data_dir: Any = None) -> Client:
    """A connected client for the CLI's connection options.

    Raises:
        ClientError: no daemon (DaemonUnreachable, DaemonStarting), or a bad ``SAGALINE_ADMIN_PORT``.
    """
    return Client(channel=ThespianChannel(locate(admin_port, host, data_dir)))


def exit_code(error: ClientError) -> int:
    """The CLI's exit status for a client error (:func:`sagaline.cli.exits.for_error`)."""
    return int(for_error(error))
