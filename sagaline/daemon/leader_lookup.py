"""``python -m sagaline.daemon.leader_lookup HOST PORT``: where is the leader's registry? (a member's start)

A member daemon shares ``domain:*`` entries with its leader's registry
(:mod:`sagaline.daemon.mirror`) and asks the leader's admin door where that
registry is. Asking needs a Thespian client joined to the leader's admin,
whose endpoint is patched to the leader's host; the daemon's own process
is already patched to *its* bind address (Thespian's bind patch is one per
process), so the question is asked from this short-lived process instead.

Reads the installation secret (hex) on stdin, never argv or the
environment; prints the registry's address, encoded as plain data
(:func:`sagaline.runtime.addresses.address_to_bytes`, hex), and exits 0;
on any failure prints why on stderr and exits 1.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main", "ask_leader"]


def ask_leader(host: str, port: int, secret: bytes, timeout: float = 10.0) -> bytes:
    """The leader's registry address, encoded (asked from this process).

    Raises:
        SagalineError: nothing listens there, it does not prove it knows the secret, or it is starting.
    """
    from sagaline.daemon.app import ADMIN_DOOR_CLASS
    from sagaline.errors import SagalineError
    from sagaline.messages.admin import ADMIN_DOOR_NAME
    from sagaline.messages.registry import RegistryAt, WhereIsRegistry
    from sagaline.runtime import join_system
    from sagaline.runtime.addresses import address_to_bytes

    joined = join_system(port, bind_address=host, secret=secret)
    try:
        door = joined.create_actor(ADMIN_DOOR_CLASS, global_name=ADMIN_DOOR_NAME)
        answer = joined.ask(door, WhereIsRegistry(), timeout)
    finally:
        joined.close()
    if not isinstance(answer, RegistryAt) or answer.registry is None:
        raise SagalineError(f"the leader at {host}:{port} has no registry yet (still starting?)")
    return address_to_bytes(answer.registry)


def main(argv: list[str]) -> int:
    """Print the encoded registry address of the leader at ``argv = [HOST, PORT]``; 0 or 1."""
    try:
        secret = bytes.fromhex(sys.stdin.read(4096).strip())
        print(ask_leader(argv[0], int(argv[1]), secret).hex(), flush=True)
        return 0
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    _status = main(sys.argv[1:])
    os._exit(_status)  # skip the joined endpoint's teardown, as the launcher does
