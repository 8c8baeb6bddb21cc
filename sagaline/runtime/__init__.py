"""The Thespian shell: start, join and stop actor systems.

Public surface:

* :func:`start_system` / :func:`join_system` -> :class:`ActorSystemHandle`
  (``ask`` with a private endpoint and a timeout, ``pids``, ``shutdown``).
* :func:`apply_patches`: bind only the configured address; actor
  processes die with their parent; the authenticated transport (applied by
  the launcher).
* :func:`register_address_codec`: actor addresses through the msgpack codec.

What a client joining a daemon needs (the CLI and ``sagaline.Client`` use
these; nothing here starts an actor system):

* :func:`secret_path` / :func:`load_secret`: find and read the installation
  secret (explicit path, ``SAGALINE_SECRET_FILE``, ``<data_dir>/secret.key``);
* :func:`join_system` ``(port, secret=...)``: checks the listener's identity
  (:func:`verify_listener`), installs the authenticated transport in this
  process (:func:`install_transport`), joins;
* :func:`allow_classes`: more classes the transport may unpickle in this
  process (the daemon passes the ones apps declare to ``start_system``).

The daemon creates the secret with :func:`load_or_create_secret`.

Errors are drawn in :mod:`sagaline.runtime.errors`. How a multiprocess
system is started without leaking descriptors is told in
:mod:`sagaline.runtime.launcher`; process accounting by environment marker
in :mod:`sagaline.runtime.procs`.
"""

from sagaline.runtime.addresses import register_address_codec
from sagaline.runtime.allowlist import allow_classes
from sagaline.runtime.errors import (
    ActorRuntimeError,
    AskTimeout,
    NoSystemListening,
    NotTheDaemon,
    SecretError,
    SystemNotOwned,
    SystemStartError,
    TransportPatchError,
)
from sagaline.runtime.identity import verify_listener
from sagaline.runtime.patches import apply_patches
from sagaline.runtime.secret import SECRET_ENV, SECRET_FILE, load_or_create_secret, load_secret, secret_path
from sagaline.runtime.system import MULTIPROC, SIMPLE, ActorSystemHandle, join_system, start_system
from sagaline.runtime.transport import install_transport

__all__ = [
    "MULTIPROC",
    "SECRET_ENV",
    "SECRET_FILE",
    "SIMPLE",
    "ActorRuntimeError",
    "ActorSystemHandle",
    "AskTimeout",
    "NoSystemListening",
    "NotTheDaemon",
    "SecretError",
    "SystemNotOwned",
    "SystemStartError",
    "TransportPatchError",
    "allow_classes",
    "apply_patches",
    "install_transport",
    "join_system",
    "load_or_create_secret",
    "load_secret",
    "register_address_codec",
    "secret_path",
    "start_system",
    "verify_listener",
]
