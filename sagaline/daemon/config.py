"""The daemon's configuration: one validated, frozen model, from three layers.

Precedence, lowest first: the embedded defaults, a TOML file (``--config
PATH`` or ``SAGALINE_CONFIG``), environment variables (:data:`ENV_FIELDS`),
command-line flags. Every layer is plain data until the end, when the merged
mapping is validated once by :class:`DaemonConfig`; a bad value raises
:class:`ConfigError` naming the field and where the value came from::

    config error: admin_port: Input should be less than or equal to 65535
    (got 70000 from environment variable SAGALINE_ADMIN_PORT)

The file mirrors the model (every key optional)::

    data_dir = "./data"            # SQLite files, logs, daemon.json; relative to the working directory
    base = "multiprocTCPBase"      # or "simpleSystemBase" (in-process; no admin port, no CLI)
    bind_address = "127.0.0.1"     # the only address any Thespian listener binds
    admin_port = 7720              # 0: pick a free port (printed, and written to daemon.json)
    allow_remote = false           # required for a non-loopback bind_address
    log_level = "INFO"
    # log_file = "sagaline.log"    # default: stderr
    actor_log_level = "WARNING"    # actors' log (data_dir/logs/actors.log)
    shutdown_timeout_s = 30.0
    start_timeout_s = 60.0
    apps = ["thunderline.app:app"] # the apps to load ("package.module:attribute"), plus the
                                   # "sagaline.apps" entry-point group; [] runs none

    [runs]
    # hosts = 2                    # saga hosts, each running many runs (default: one per core)
    # isolation = "process"        # run every saga in its own process (default: as each saga says)
    # max_runs = 1000              # most runs in progress (default: unlimited)
    # lease_s = 5.0                # hold each partition by a lease in the journal: daemons sharing one
                                   # PostgreSQL journal take over a dead one's runs (default: no leases)

    [storage]
    # url = "postgresql://sagaline@db.example/sagaline"   # the journal and every domain's store in one
                                   # PostgreSQL database, a schema each (default: SQLite files in data_dir)
    synchronous = "FULL"           # or "NORMAL" (faster; not safe against power loss)
    retention_s = 604800           # prune finished runs after a week
    # journal_path = "/var/lib/sagaline-journal/journal.sqlite"   # default: data_dir/journal.sqlite

    [cluster]                      # several daemons in one convention (sagaline.daemon.cluster)
    # join = "10.0.0.5:7720"       # the leader's admin: this daemon is a member (needs storage.url, runs.lease_s)
    # capabilities = {saga_host = true, trainer = false, domains = ["gate"], cores = 2}
    # settle_s = 30.0              # then it takes never-held partitions beyond its cores share
    # heartbeat_s = 5.0            # admin re-registration period: a member silent ~3 of them is lost

    [security]
    # secret_file = "/etc/sagaline/secret.key"   # default data_dir/secret.key (a member needs the leader's)

    [admin]
    workers = 16                   # admin requests answered at once (a process each)

    [supervision]                  # OTP's restart intensity for the root supervisor
    root_max_restarts = 3          # it gives up after more restarts than this...
    root_max_seconds = 5.0         # ...within this many seconds
    on_give_up = "exit"            # then, or when a top-level process dies: "exit" (status 70,
                                   # for the process manager) or "restart" (in place, same pid)
    max_daemon_restarts = 3        # "restart": at most this many in-place restarts...
    daemon_restart_window_s = 300  # ...within this many seconds, then exit anyway

    [domains.gate]                 # each domain's settings (checked by its app's settings model)
    base_url = "https://example.com"

    [[faults.block]]               # rehearse failures (see sagaline.domains.faults)
    command = "ProvisionVault"
    action = "delay"
    seconds = 2.0

    [web]                          # the web console (sagaline.web.settings; `sagaline web` runs it alone)
    enabled = false                # true: the daemon serves it as a child process
    host = "127.0.0.1"             # loopback unless allow_remote = true (it has no login)
    port = 7721                    # 0 picks a free one (written to data_dir/web.json)

    [telemetry]                    # exported as SAGALINE_TELEMETRY_<KEY> for the actors
    exporter = "jsonl"             # (sagaline.telemetry.setup; default: jsonl under data_dir/telemetry)
    # otlp_endpoint = "http://127.0.0.1:4318"   # exported as SAGALINE_OTLP_ENDPOINT
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from sagaline.admin.admin_args import DEFAULT_WORKERS
from sagaline.daemon.cluster import ClusterSettings, SecuritySettings
from sagaline.domains.faults import FaultRule
from sagaline.errors import SagalineError
from sagaline.runtime.pidfile import DEFAULT_ADMIN_PORT, DEFAULT_DATA_DIR
from sagaline.storage.location import check_storage_url
from sagaline.supervisors.strategy import DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS
from sagaline.web.settings import WebSettings

__all__ = [
    "DaemonConfig",
    "RunsSettings",
    "StorageSettings",
    "AdminSettings",
    "SupervisionSettings",
    "ConfigError",
    "load_config",
    "ENV_FIELDS",
    "CONFIG_ENV",
    "DEFAULT_APPS",
    "is_loopback",
    "telemetry_environment",
    "daemon_apps",
]

#: The apps the embedded configuration loads: the Thunderline sagas (``make run`` serves them).
DEFAULT_APPS = ("thunderline.app:app",)
#: The environment variable naming a TOML config file.
CONFIG_ENV = "SAGALINE_CONFIG"
#: Environment variable -> the dotted field it sets.
ENV_FIELDS: dict[str, str] = {
    "SAGALINE_DATA_DIR": "data_dir",
    "SAGALINE_BASE": "base",
    "SAGALINE_BIND_ADDRESS": "bind_address",
    "SAGALINE_ADMIN_PORT": "admin_port",
    "SAGALINE_ALLOW_REMOTE": "allow_remote",
    "SAGALINE_LOG_LEVEL": "log_level",
    "SAGALINE_LOG_FILE": "log_file",
    "SAGALINE_ACTOR_LOG_LEVEL": "actor_log_level",
    "SAGALINE_SHUTDOWN_TIMEOUT_S": "shutdown_timeout_s",
    "SAGALINE_START_TIMEOUT_S": "start_timeout_s",
    "SAGALINE_HOSTS": "runs.hosts",
    "SAGALINE_ISOLATION": "runs.isolation",
    "SAGALINE_MAX_RUNS": "runs.max_runs",
    "SAGALINE_LEASE_S": "runs.lease_s",
    "SAGALINE_STORAGE_URL": "storage.url",
    "SAGALINE_SYNCHRONOUS": "storage.synchronous",
    "SAGALINE_RETENTION_S": "storage.retention_s",
    "SAGALINE_APPS": "apps",
    "SAGALINE_ADMIN_WORKERS": "admin.workers",
    "SAGALINE_ROOT_MAX_RESTARTS": "supervision.root_max_restarts",
    "SAGALINE_ROOT_MAX_SECONDS": "supervision.root_max_seconds",
    "SAGALINE_ON_GIVE_UP": "supervision.on_give_up",
    "SAGALINE_WEB": "web.enabled",
    "SAGALINE_WEB_PORT": "web.port",
    "SAGALINE_JOIN": "cluster.join",
    "SAGALINE_HEARTBEAT_S": "cluster.heartbeat_s",
}
_TELEMETRY_ALIASES = {"otlp_endpoint": "SAGALINE_OTLP_ENDPOINT"}
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ConfigError(SagalineError):
    """The configuration is invalid; raised by :func:`load_config`.

    The message names the field, the problem, and the layer the value came
    from; ``sagaline run`` prints it and exits with status 2. Fix the value
    and start again.

    Attributes:
        field: The dotted field (``runs.hosts``), or ``<file>`` for an unreadable file.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class RunsSettings(BaseModel):
    """How runs are hosted."""

    model_config = _FROZEN
    hosts: int | None = Field(default=None, ge=1, le=256)
    """Saga hosts (each an actor, a process on multiprocTCPBase, running many runs); None: one per core."""
    isolation: Literal["hosted", "process"] | None = None
    """Run every saga ``hosted`` or in its own ``process``; None: as each saga's definition says."""
    max_runs: int | None = Field(default=None, ge=1)
    """Most runs in progress at once; None: unlimited."""
    lease_s: float | None = Field(default=None, gt=0, le=3600)
    """Each saga host owns its partition through a lease of this many seconds in the journal, so
    several daemons (same ``hosts``) can share one PostgreSQL journal and take over a dead one's
    runs; None: no leases (one daemon per journal)."""


class StorageSettings(BaseModel):
    """Where the journal and the domains' stores live, and how durable they are."""

    model_config = _FROZEN
    url: str | None = None
    """A PostgreSQL database (``postgresql://user@host:port/database``) holding the journal and every
    domain's store, one schema each, created and migrated by the daemon; None: SQLite files in ``data_dir``."""
    synchronous: Literal["NORMAL", "FULL"] = "FULL"
    """FULL (an acknowledged write survives power loss and a filesystem aborting on an I/O error) or
    NORMAL (faster; safe against process crashes only)."""
    retention_s: float | None = Field(default=7 * 24 * 3600.0, gt=0)
    """Finished runs older than this many seconds are pruned from the journal; None keeps them."""
    journal_path: Path | None = None
    """The journal's SQLite file, e.g. on its own volume (relative: to the working directory);
    None: ``data_dir/journal.sqlite``. Its directory is created if missing."""

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        return None if value in (None, "") else check_storage_url(value)


class AdminSettings(BaseModel):
    """The admin door's pool of workers."""

    model_config = _FROZEN
    workers: int = Field(default=DEFAULT_WORKERS, ge=1, le=256)
    """Admin requests answered at once (one worker process each, ~4 MiB); more get ``busy``."""


class SupervisionSettings(BaseModel):
    """What the root supervisor tolerates, and what happens when it gives up (see README, Liveness)."""

    model_config = _FROZEN
    root_max_restarts: int = Field(default=DEFAULT_MAX_RESTARTS, ge=0, le=1000)
    """The root gives up after more restarts of its children than this within ``root_max_seconds``."""
    root_max_seconds: float = Field(default=DEFAULT_MAX_SECONDS, gt=0, le=3600)
    """The root's restart-intensity window, in seconds."""
    on_give_up: Literal["exit", "restart"] = "exit"
    """When the root gives up or a top-level process dies: exit (status 70) for the process
    manager to restart the daemon, or restart in place (same pid, same command line)."""
    max_daemon_restarts: int = Field(default=3, ge=1, le=1000)
    """With ``restart``: in-place restarts allowed within ``daemon_restart_window_s``; then it exits."""
    daemon_restart_window_s: float = Field(default=300.0, gt=0, le=86400)
    """With ``restart``: the window of ``max_daemon_restarts``, in seconds."""


class DaemonConfig(BaseModel):
    """Everything the daemon needs; defaults are the embedded configuration."""

    model_config = _FROZEN
    data_dir: Path = DEFAULT_DATA_DIR
    """Where the SQLite files, logs and ``daemon.json`` live (created if missing)."""
    base: Literal["multiprocTCPBase", "simpleSystemBase"] = "multiprocTCPBase"
    """Thespian system base: one process per actor, or all in the daemon's process (no CLI access)."""
    allow_remote: bool = False
    """Accept a non-loopback ``bind_address`` (the ports become reachable from that network, and frames
    travel authenticated but in clear: see SECURITY.md)."""
    bind_address: str = "127.0.0.1"
    """The IPv4 address every Thespian listener binds (the admin port and every actor's port)."""
    admin_port: int = Field(default=DEFAULT_ADMIN_PORT, ge=0, le=65535)
    """The actor system's admin port; 0 picks a free one."""
    log_level: LogLevel = "INFO"
    """The daemon's own log level."""
    log_file: Path | None = None
    """Where the daemon logs (one line per event); None: stderr."""
    actor_log_level: LogLevel = "WARNING"
    """Level of the actors' log (``data_dir/logs/actors.log``); lower levels slow every actor."""
    shutdown_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """Seconds the tree gets to stop in order before what is left is killed."""
    start_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """Seconds the actor system and the tree get to start."""
    runs: RunsSettings = RunsSettings()
    """How runs are hosted."""
    storage: StorageSettings = StorageSettings()
    """Where the stores live (SQLite files, or PostgreSQL) and their durability."""
    admin: AdminSettings = AdminSettings()
    """The admin door's workers."""
    supervision: SupervisionSettings = SupervisionSettings()
    """The root's restart intensity and what happens when it is exceeded."""
    cluster: ClusterSettings = ClusterSettings()
    """The convention this daemon leads or joins, and what it runs (see :mod:`sagaline.daemon.cluster`)."""
    security: SecuritySettings = SecuritySettings()
    """Where the installation secret is."""
    web: WebSettings = WebSettings()
    """The web console the daemon serves when ``web.enabled`` (see :mod:`sagaline.web.settings`)."""
    domains: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Domain name -> its service's settings (see ``thunderline.actors.domains``)."""
    faults: dict[str, list[FaultRule]] = Field(default_factory=dict)
    """Domain name -> fault rules (rehearsals and tests)."""
    telemetry: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Exporter settings, exported to the actors as ``SAGALINE_TELEMETRY_<KEY>``."""
    apps: list[str] = Field(default_factory=lambda: list(DEFAULT_APPS))
    """App specs (``package.module:attribute``) to load, in order; the ``sagaline.apps``
    entry-point group adds its apps after these. ``SAGALINE_APPS`` takes them comma-separated."""

    @field_validator("bind_address")
    @classmethod
    def _loopback_unless_allowed(cls, value: str, info: ValidationInfo) -> str:
        try:
            value = str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("not an IPv4 address") from None
        if not is_loopback(value) and not info.data.get("allow_remote", False):
            raise ValueError(
                f"{value} is not a loopback address: the admin port and every actor port would "
                "be reachable from that network, where frames can be read and replayed "
                "(SECURITY.md); pass --allow-remote (allow_remote = true) to accept that"
            )
        return value

    @field_validator("apps", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 (``0.0.0.0``, every interface, is not loopback)."""
    try:
        return ipaddress.IPv4Address(address).is_loopback
    except ValueError:
        return False


def telemetry_environment(config: DaemonConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables the ``telemetry`` section sets for the actors: ``SAGALINE_TELEMETRY_<KEY>``
    (``otlp_endpoint``: ``SAGALINE_OTLP_ENDPOINT``); variables already set in ``environ`` win."""
    wanted = {
        _TELEMETRY_ALIASES.get(key.lower(), f"SAGALINE_TELEMETRY_{key.upper()}"): _env_text(value)
        for key, value in config.telemetry.items()
    }
    return {name: value for name, value in wanted.items() if name not in environ}


def daemon_apps(config: DaemonConfig) -> Any:
    """The :class:`~sagaline.apps.Apps` the daemon runs: ``config.apps``, then the entry-point group's.

    Raises:
        AppError: an app does not load (the message names the app and the field).
    """
    from sagaline.apps import load_apps

    return load_apps(config.apps)


def _env_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_config(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike | None = None,
) -> DaemonConfig:
    """Merge defaults, the TOML file, the environment and the flags; validate once.

    Args:
        flags: Dotted field -> value, only for flags actually given.
        environ: The environment (default ``os.environ``).
        config_file: The TOML file; default: ``$SAGALINE_CONFIG`` if set, else none.

    The apps are loaded too (once per process), so that ``[domains.X]``
    and ``[[faults.X]]`` can be checked against the domains they declare
    and each domain's settings model.

    Raises:
        ConfigError: A value is invalid or the file unreadable, a domain
            table names no domain, or its settings do not fit (names the
            field and its source).
        AppError: An app does not load (names the app and the field).
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = config_file if config_file is not None else environ.get(CONFIG_ENV) or None
    if path is not None:
        _merge(merged, sources, _read_file(Path(path)), f"config file {path}")
    for name, field in ENV_FIELDS.items():
        if environ.get(name, "") != "":
            _set(merged, sources, field, environ[name], f"environment variable {name}")
    for field, value in (flags or {}).items():
        if value is not None:
            _set(merged, sources, field, value, f"flag --{field.split('.')[-1].replace('_', '-')}")
    try:
        config = DaemonConfig.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, merged, sources) from None
    _check_domains(config, sources)
    _check_cluster(config, sources)
    return config


def _check_cluster(config: DaemonConfig, sources: dict) -> None:
    """A member shares the leader's PostgreSQL journal and holds partitions by leases."""
    if config.cluster.join is None:
        return
    missing = [
        name
        for name, value in (("storage.url", config.storage.url), ("runs.lease_s", config.runs.lease_s))
        if value is None
    ]
    if missing:
        raise ConfigError(
            f"config error: cluster.join: a member daemon needs {' and '.join(missing)}: members "
            "share the leader's PostgreSQL journal (SQLite cannot be shared) and hold its partitions "
            f"by leases (from {_source_of('cluster.join', sources)})",
            "cluster.join",
        )


def _check_domains(config: DaemonConfig, sources: dict) -> None:
    """Every ``domains``/``faults`` key is a domain of the loaded apps (or flow), and its settings fit."""
    if not config.domains and not config.faults:
        return
    apps = daemon_apps(config)
    known = ["flow", *(d.name for d in apps.domains)]
    for section in ("domains", "faults"):
        unknown = sorted(set(getattr(config, section)) - set(known))
        if unknown:
            raise ConfigError(
                f"config error: {section}: unknown domain {unknown[0]!r} (known: {', '.join(known)}; "
                f"from {_source_of(f'{section}.{unknown[0]}', sources)})",
                section,
            )
    for domain, settings in config.domains.items():
        problem = apps.settings_problem(domain, settings)
        if problem:
            field = f"domains.{domain}"
            raise ConfigError(f"config error: {field}: {problem} (from {_source_of(field, sources)})", field)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"config error: cannot read config file {path}: {exc.strerror or exc}", "<file>") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: config file {path} is not valid TOML: {exc}", "<file>") from None


def _merge(merged: dict, sources: dict, data: dict, source: str, prefix: str = "") -> None:
    for key, value in data.items():
        field = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            _merge(merged[key], sources, value, source, field + ".")
            continue
        merged[key] = value
        sources[field] = source


def _set(merged: dict, sources: dict, field: str, value: Any, source: str) -> None:
    *parents, leaf = field.split(".")
    target = merged
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[leaf] = value
    sources[field] = source


def _config_error(exc: ValidationError, merged: dict, sources: dict) -> ConfigError:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "<config>"
    message = first["msg"].removeprefix("Value error, ")
    origin = _source_of(field, sources)
    got = f"got {first['input']!r} from {origin}" if first["type"] != "missing" else f"from {origin}"
    more = f"; and {len(exc.errors()) - 1} more problem(s)" if len(exc.errors()) > 1 else ""
    return ConfigError(f"config error: {field}: {message} ({got}){more}", field)


def _source_of(field: str, sources: dict) -> str:
    parts = field.split(".")
    for cut in range(len(parts), 0, -1):
        found = sources.get(".".join(parts[:cut]))
        if found:
            return found
    return "the merged configuration" if field == "<config>" else "the defaults"
