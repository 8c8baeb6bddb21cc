"""PURE. The console's defences against other web pages: sessions, tokens, Host and Origin checks.

The console has no login; it is safe to leave open in a browser because:

* **Host check** (against DNS rebinding): every request's ``Host`` must be
  ``localhost`` or an IP literal, on the console's own port. A page on
  ``evil.example`` whose name is made to resolve to 127.0.0.1 sends
  ``Host: evil.example`` and gets 421; an IP literal cannot be rebound.
* **Session token**: the first page sets a random session cookie
  (``HttpOnly``, ``SameSite=Strict``); every form carries
  :func:`form_token` of it, an HMAC under a key the console made at start.
  A POST without the cookie or with a token that does not match is refused
  (403) and changes nothing.
* **Origin check**: a POST's ``Origin`` (else its ``Referer``) must be the
  console itself (``http://`` + the checked Host); one with neither, or
  with another, is refused.
* Every state change (start, cancel, retry, resume) is a POST; GETs change
  nothing. Responses carry a strict Content-Security-Policy (scripts and
  styles only from the console itself, no framing) and ``nosniff``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

__all__ = [
    "SESSION_COOKIE",
    "TOKEN_FIELD",
    "new_secret",
    "new_session",
    "form_token",
    "token_ok",
    "host_ok",
    "origin_ok",
    "SECURITY_HEADERS",
]

#: The session cookie's name.
SESSION_COOKIE = "sagaline_session"
#: The form field carrying the token.
TOKEN_FIELD = "token"
#: Headers on every response.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def new_secret() -> bytes:
    """The key tokens are made with (one per console process, never written anywhere)."""
    return secrets.token_bytes(32)


def new_session() -> str:
    """A fresh session id for the cookie."""
    return secrets.token_urlsafe(32)


def form_token(key: bytes, session: str) -> str:
    """The token a form of ``session`` carries."""
    return hmac.new(key, session.encode(), hashlib.sha256).hexdigest()


def token_ok(key: bytes, session: str | None, token: str | None) -> bool:
    """True when ``token`` was made for ``session`` under ``key``."""
    if not session or not token:
        return False
    return hmac.compare_digest(form_token(key, session), token)


def _split_host(host: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{host}")
    try:
        return (parts.hostname or ""), parts.port
    except ValueError:
        return "", None


def host_ok(host_header: str | None, port: int) -> bool:
    """True for ``localhost:port`` or ``<IP literal>:port`` (never a DNS name: rebinding)."""
    if not host_header:
        return False
    name, given = _split_host(host_header.strip())
    if given != port:
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def origin_ok(origin: str | None, referer: str | None, host_header: str | None) -> bool:
    """True when the request comes from the console's own pages: ``Origin`` (else ``Referer``'s
    origin) is ``http://<host_header>``."""
    source = origin if origin and origin != "null" else None
    if source is None and referer:
        parts = urlsplit(referer)
        source = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    if not source or not host_header:
        return False
    return source.rstrip("/").lower() == f"http://{host_header.strip().lower()}"
