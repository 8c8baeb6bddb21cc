"""PURE. The web console's settings: one frozen model, the ``[web]`` section of the daemon's config.

``sagaline web`` takes them as flags; the daemon takes them from ``[web]``
(and ``SAGALINE_WEB`` / ``SAGALINE_WEB_PORT``) and, with ``enabled = true``,
serves the console as a child process (:mod:`sagaline.web.process`)::

    [web]
    enabled = true          # the daemon serves the console (default false: run `sagaline web` yourself)
    host = "127.0.0.1"      # loopback unless allow_remote
    port = 7721             # 0 picks a free one (written to <data_dir>/web.json)
    allow_remote = false    # required for a non-loopback host: the console has no login of its own
    poll_s = 1.0            # how often live views ask the daemon (one poll per view, shared by browsers)

The same rule as the admin port: a host outside 127.0.0.0/8 is refused
unless ``allow_remote`` is true (the console has no login: whoever reaches
it can start and cancel runs).
"""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["WebSettings", "DEFAULT_WEB_PORT", "loopback_host"]

#: The console's default port: the admin port's neighbour (7720).
DEFAULT_WEB_PORT = 7721


def loopback_host(host: str) -> bool:
    """True for ``localhost`` and 127.0.0.0/8 (``0.0.0.0`` is every interface, not loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


class WebSettings(BaseModel):
    """How the console is served (defaults declared here once)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    enabled: bool = False
    """The daemon serves the console (a child process it starts after it is ready and stops first)."""
    allow_remote: bool = False
    """Accept a non-loopback ``host``: anyone who reaches it can start and cancel runs."""
    host: str = "127.0.0.1"
    """The address the console listens on."""
    port: int = Field(default=DEFAULT_WEB_PORT, ge=0, le=65535)
    """Its TCP port; 0 picks a free one."""
    poll_s: float = Field(default=1.0, ge=0.1, le=60.0)
    """Seconds between two polls of the daemon by one live view (every browser on that view shares it)."""
    page_size: int = Field(default=50, ge=5, le=500)
    """Runs per page."""
    scan_limit: int = Field(default=2000, ge=100, le=10_000)
    """Newest runs searched when a filter the daemon cannot apply itself is set (time range, id prefix)."""

    @field_validator("host")
    @classmethod
    def _loopback_unless_allowed(cls, value: str, info: ValidationInfo) -> str:
        if value != "localhost":
            try:
                value = str(ipaddress.IPv4Address(value))
            except ValueError:
                raise ValueError("not an IPv4 address (or localhost)") from None
        if not loopback_host(value) and not info.data.get("allow_remote", False):
            raise ValueError(
                f"{value} is not a loopback address: the console has no login, so anyone who "
                "reaches it could start and cancel runs; pass --allow-remote (allow_remote = "
                "true) to accept that"
            )
        return value

    def url(self, port: int | None = None) -> str:
        """The console's base URL (``port``: the one actually bound, when ``port`` is 0)."""
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{port or self.port}/"
