"""The Thespian shell: start, join and stop actor systems.

Public surface:

* :func:`start_system` / :func:`join_system` -> :class:`ActorSystemHandle`
  (``ask`` with a private endpoint and a timeout, ``pids``, ``shutdown``).
* :func:`apply_patches`: bind only the configured address; actor
  processes die with their parent (applied by the launcher).
* :func:`register_address_codec`: actor addresses through the msgpack codec.

Errors are drawn in :mod:`sagaline.runtime.errors`. How a multiprocess
system is started without leaking descriptors is told in
:mod:`sagaline.runtime.launcher`; process accounting by environment marker
in :mod:`sagaline.runtime.procs`.
"""

from sagaline.runtime.addresses import register_address_codec
from sagaline.runtime.errors import (
    ActorRuntimeError,
    AskTimeout,
    NoSystemListening,
    SystemNotOwned,
    SystemStartError,
)
from sagaline.runtime.patches import apply_patches
from sagaline.runtime.system import MULTIPROC, SIMPLE, ActorSystemHandle, join_system, start_system

__all__ = [
    "MULTIPROC",
    "SIMPLE",
    "ActorRuntimeError",
    "ActorSystemHandle",
    "AskTimeout",
    "NoSystemListening",
    "SystemNotOwned",
    "SystemStartError",
    "apply_patches",
    "join_system",
    "register_address_codec",
    "start_system",
]
