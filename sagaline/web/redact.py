"""PURE. Values that look secret are masked before any page shows them.

The console shows what the daemon answers: run inputs, results, errors and
event payloads, which are whatever apps put there. A value is masked when
its key names a secret (``password``, ``secret``, ``token``, ``api_key``,
``credential``, ``private_key``, ``authorization``, ``cookie``, ...: see
:data:`SECRET_KEY`), at any depth; the key stays visible so an operator
sees that something was there. The console never reads the daemon's
config (its SMTP password) nor the installation secret's bytes: it only
hands the secret's path to the client, which proves the daemon's identity.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "SECRET_KEY", "redact", "secret_key"]

#: What a masked value is shown as.
MASK = "••••••"
#: Keys whose values are masked (case-insensitive, anywhere in the key: ``smtp_password``, ``magicLinkToken``).
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|credential|private[-_]?key|"
    r"authori[sz]ation|cookie|session[-_]?key|signature",
    re.IGNORECASE,
)
#: Nesting beyond which values are not walked (they are shown cut, never unmasked).
MAX_DEPTH = 32


def secret_key(key: Any) -> bool:
    """True when ``key`` names something secret."""
    return isinstance(key, str) and SECRET_KEY.search(key) is not None


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` (JSON-like data) with every secret-named key's value masked."""
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {k: (MASK if secret_key(k) and v is not None else redact(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, depth + 1) for v in value]
    return value
