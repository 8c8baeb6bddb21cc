"""The sagaline daemon: configuration, composition, logging, signals, admin conversations.

Public surface:

* :func:`load_config` -> :class:`DaemonConfig` (TOML file < environment <
  flags, validated once; :class:`ConfigError` names the bad field);
* :func:`run_daemon` (:mod:`sagaline.daemon.process`: what ``sagaline run``
  and ``python run.py`` call) and :class:`Daemon` (:mod:`sagaline.daemon.app`:
  start / serve / stop, for embedding and tests);
* :mod:`sagaline.daemon.liveness`: what the daemon watches, and what it does
  when one of them dies;
* :mod:`sagaline.runtime.pidfile`: ``daemon.json`` and the data-directory lock;
* :mod:`sagaline.admin.conversations` and :mod:`sagaline.admin.requests`:
  PURE, what each admin request asks inside the daemon, and how a request is
  read at the door (driven by :mod:`sagaline.admin.worker`).
"""

from sagaline.daemon.app import Daemon, DaemonError, PortInUse
from sagaline.daemon.config import ConfigError, DaemonConfig, load_config
from sagaline.daemon.process import run_daemon

__all__ = ["ConfigError", "Daemon", "DaemonConfig", "DaemonError", "PortInUse", "load_config", "run_daemon"]
