"""The sagaline daemon: configuration, composition, logging, signals, admin conversations.

Public surface:

* :func:`load_config` -> :class:`DaemonConfig` (TOML file < environment <
  flags, validated once; :class:`ConfigError` names the bad field);
* :func:`run_daemon` (what ``sagaline run`` and ``python run.py`` call) and
  :class:`Daemon` (start / serve / stop, for embedding and tests);
* :mod:`sagaline.daemon.pidfile`: ``daemon.json`` and the data-directory lock;
* :mod:`sagaline.daemon.conversations`: PURE, what each admin request asks
  inside the daemon (driven by :mod:`sagaline.actors.admin`).
"""

from sagaline.daemon.app import Daemon, DaemonError, PortInUse, run_daemon
from sagaline.daemon.config import ConfigError, DaemonConfig, load_config

__all__ = ["ConfigError", "Daemon", "DaemonConfig", "DaemonError", "PortInUse", "load_config", "run_daemon"]
