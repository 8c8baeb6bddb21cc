"""Where a store lives, as one string an actor's args can carry: a SQLite file or a PostgreSQL schema.

A *location* is either a filesystem path (``data/gate.sqlite``) or a
PostgreSQL URL with the store's schema as its fragment
(``postgresql://user@db.example:5432/sagaline#gate``): one schema per store
(the journal's is ``journal``, each domain's its name), all in the one
database ``storage.url`` names. The fragment is ours: it is cut off before
the URL goes to libpq.

Pure: no I/O.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_postgres", "store_location", "split_location", "redacted", "check_storage_url", "SCHEMAS"]

_SCHEMES = ("postgresql", "postgres")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: The schema name shape: an unquoted PostgreSQL identifier, as domain names are.
SCHEMAS = _SCHEMA_NAME.pattern


def is_postgres(location: str | Path) -> bool:
    """True when ``location`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and urlsplit(location).scheme in _SCHEMES


def check_storage_url(url: str) -> str:
    """Validate a ``storage.url``: a PostgreSQL URL naming a database, without a fragment.

    Raises:
        ValueError: names the problem.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"must start with postgresql:// (the one backend besides the default SQLite files), "
            f"not {parts.scheme + '://' if parts.scheme else repr(url[:20])}"
        )
    if parts.fragment:
        raise ValueError("must not have a #fragment (sagaline adds one schema per store itself)")
    if not parts.path.strip("/"):
        raise ValueError("must name a database (postgresql://host/DATABASE)")
    return url


def store_location(storage_url: str | None, data_dir: str | Path, name: str) -> str:
    """The location of store ``name``: ``<data_dir>/<name>.sqlite``, or ``<storage_url>#<name>``.

    Raises:
        ValueError: ``name`` is not a valid schema name (lower-case letters, digits, ``_``).
    """
    if storage_url is None:
        return str(Path(data_dir) / f"{name}.sqlite")
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"store name {name!r} is not a PostgreSQL schema name (lower-case, digits, _)")
    return f"{check_storage_url(storage_url)}#{name}"


def split_location(location: str) -> tuple[str, str]:
    """A PostgreSQL location's ``(url for libpq, schema)``.

    Raises:
        ValueError: no schema fragment, or not a valid schema name.
    """
    parts = urlsplit(location)
    if not _SCHEMA_NAME.match(parts.fragment):
        raise ValueError(
            f"a PostgreSQL location needs a '#schema' fragment (lower-case, digits, _): {redacted(location)}"
        )
    return urlunsplit(parts._replace(fragment="")), parts.fragment


def redacted(location: str | Path) -> str:
    """``location`` fit for a message or a log: a PostgreSQL URL's password replaced by ``***``."""
    text = str(location)
    if not is_postgres(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
