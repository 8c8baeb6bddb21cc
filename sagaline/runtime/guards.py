"""Guards on Thespian's control messages: only the daemon starts, stops and creates at the top.

A joined Thespian client can do more than ask actors: it can shut the whole
system down, create top-level (and globally named) actors, and tell any
actor ``ActorExitRequest``. A client that joins while the system is gone
even *starts a new system* inside itself, which then holds the admin port
(thespian-notes.md). These patches keep all of that for the process that
started the system:

* **Joiners never start an admin** (:func:`never_start_admin`, applied by
  every ``join``): where Thespian would start a new admin because none
  answers on the port, the join fails with
  :class:`~sagaline.runtime.errors.NoSystemListening` instead.
* **The control token.** The process that starts a system puts a random
  token in ``SAGALINE_CONTROL_TOKEN`` before launching it, so the admin and
  every actor inherit it; a process that merely joins does not have it.
  Every ``SystemShutdown`` and ``PendingActor`` (create) a process sends
  carries its token, if it has one. The admin (:func:`guard_admin`) then
  refuses, and logs, a shutdown or the creation of a top-level actor (named
  or not) whose token does not match. So a CLI can still *find* the global
  admin door (``createActor`` of an existing global name returns it), but
  never create one, nor stop the daemon's system.
* **Exit requests only from family** (:func:`guard_actor_exits`): an actor
  ignores, and logs, an ``ActorExitRequest`` that comes from anyone but
  itself, its parent or the admin (a client's exit request would otherwise
  end any actor whose address it knows, the admin door included).

:func:`guard_admin` and :func:`guard_actor_exits` are applied by the
launcher before the admin forks (so the admin and every actor inherit
them); :func:`attach_tokens` and :func:`never_start_admin` in every process
that joins a system. Each is idempotent. A system started without a token
(none in the launcher's environment) accepts everything, as plain Thespian.

Verified against Thespian 4.0.1 (pinned in ``pyproject.toml``);
``tests/runtime/test_guards.py`` fails if a patched name moves.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets

from sagaline.runtime.errors import NoSystemListening

__all__ = [
    "TOKEN_VARIABLE",
    "ensure_token",
    "attach_tokens",
    "never_start_admin",
    "guard_admin",
    "guard_actor_exits",
    "TOKEN_ATTRIBUTE",
]

#: Environment variable holding the control token of the systems this process starts.
TOKEN_VARIABLE = "SAGALINE_CONTROL_TOKEN"
#: Attribute carrying the token on Thespian's ``SystemShutdown`` and ``PendingActor``.
TOKEN_ATTRIBUTE = "sagaline_token"
_log = logging.getLogger("sagaline.runtime")
_applied: set[str] = set()


def ensure_token() -> str:
    """This process's control token, made (and put in its environment) on first use."""
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        token = os.environ[TOKEN_VARIABLE] = secrets.token_hex(16)
    return token


def _once(name: str) -> bool:
    if name in _applied:
        return False
    _applied.add(name)
    return True


def attach_tokens() -> None:
    """Make every ``SystemShutdown`` and ``PendingActor`` built here carry this process's token (if any)."""
    if not _once("tokens"):
        return
    from thespian.system.messages import admin

    def _stamp(message: object) -> None:
        setattr(message, TOKEN_ATTRIBUTE, os.environ.get(TOKEN_VARIABLE))

    def _shutdown_init(self) -> None:
        _stamp(self)

    original = admin.PendingActor.__init__

    @functools.wraps(original)
    def _pending_init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        _stamp(self)

    admin.SystemShutdown.__init__ = _shutdown_init
    admin.PendingActor.__init__ = _pending_init


def never_start_admin() -> None:
    """Make a join fail with :class:`NoSystemListening` where Thespian would start a new admin."""
    if not _once("no_admin"):
        return
    from thespian.system import multiprocCommon

    def _refuse(self, adminAddr, *args, **kwargs):
        try:
            self.transport.close()
        except Exception:  # best effort: the join fails either way
            pass
        raise NoSystemListening(f"no actor system answers at {adminAddr}; a client never starts one")

    multiprocCommon.multiprocessCommon._startAdmin = _refuse


def _trusted(message: object) -> bool:
    expected = os.environ.get(TOKEN_VARIABLE)
    return not expected or secrets.compare_digest(str(getattr(message, TOKEN_ATTRIBUTE, None) or ""), expected)


def guard_admin() -> None:
    """In the process that will become the admin: refuse untokened shutdowns and top-level creates."""
    if not _once("admin"):
        return
    from thespian.system.admin.adminCore import AdminCore
    from thespian.system.admin.globalNames import GlobalNamesAdmin
    from thespian.system.messages.admin import PendingActorResponse
    from thespian.system.utilis import thesplog

    shutdown = AdminCore.h_SystemShutdown

    @functools.wraps(shutdown)
    def _h_system_shutdown(self, envelope):
        if not _trusted(envelope.message):
            thesplog(
                "sagaline: refused SystemShutdown from %s (no control token)",
                envelope.sender,
                level=logging.WARNING,
                primary=True,
            )
            return True
        return shutdown(self, envelope)

    pending = GlobalNamesAdmin.h_PendingActor

    @functools.wraps(pending)
    def _h_pending_actor(self, envelope):
        message = envelope.message
        existing = message.globalName and message.globalName in self._globalNames
        if message.forActor is None and not existing and not _trusted(message):
            thesplog(
                "sagaline: refused to create %s (global name %r) for %s (no control token)",
                message.actorClassName,
                message.globalName,
                envelope.sender,
                level=logging.WARNING,
                primary=True,
            )
            self._sendPendingActorResponse(
                envelope,
                None,
                errorCode=PendingActorResponse.ERROR_Invalid_ActorClass,
                errorStr="refused: only the daemon creates top-level actors",
            )
            return True
        return pending(self, envelope)

    AdminCore.h_SystemShutdown = _h_system_shutdown
    GlobalNamesAdmin.h_PendingActor = _h_pending_actor


def guard_actor_exits() -> None:
    """In actor processes: ignore an ``ActorExitRequest`` from anyone but the actor, its parent or the admin."""
    if not _once("exits"):
        return
    from thespian.actors import ActorExitRequest
    from thespian.system.actorManager import ActorManager
    from thespian.system.utilis import thesplog

    original = ActorManager._handleOneMessage

    @functools.wraps(original)
    def _handle_one_message(self, envelope):
        if isinstance(envelope.message, ActorExitRequest) and envelope.sender not in (
            self.transport.myAddress,
            self._parentAddr,
            self._adminAddr,
        ):
            thesplog(
                "sagaline: %s ignored an ActorExitRequest from %s (not its parent or the admin)",
                self._actorClass,
                envelope.sender,
                level=logging.WARNING,
                primary=True,
            )
            return True
        return original(self, envelope)

    ActorManager._handleOneMessage = _handle_one_message
