"""SQL written once (SQLite's dialect), translated for PostgreSQL: pure text to text.

Every store writes its SQL once, as SQLite understands it; on PostgreSQL,
:func:`to_postgres` rewrites the few places where the two differ. The
rewrites, and why each is faithful:

=================================  ==========================================  ====================================
SQLite                             PostgreSQL                                  why
=================================  ==========================================  ====================================
``?`` placeholders                 ``%s`` (a literal ``%`` becomes ``%%``)     psycopg's paramstyle
``INSERT OR IGNORE INTO t ...``    ``INSERT INTO t ... ON CONFLICT DO          both skip a row that breaks a
                                   NOTHING``                                   uniqueness constraint
``INTEGER PRIMARY KEY [AUTO-       ``BIGSERIAL PRIMARY KEY``                   SQLite's rowid alias: a growing key
INCREMENT]``                                                                   assigned on insert
``INTEGER``                        ``BIGINT``                                  SQLite's integers are 64-bit
``REAL``                           ``DOUBLE PRECISION``                        SQLite's REAL is 8 bytes, PG's 4
``BLOB``                           ``BYTEA``                                   bytes in, bytes out
``TEXT`` (no ``COLLATE``)          ``TEXT COLLATE "C"``                        SQLite compares text bytewise (BINARY)
                                                                               whatever the database's locale;
                                                                               ISO times and id ranges rely on it
``COLLATE NOCASE``                 (unchanged) the schema's ``nocase``         created with the schema: an ICU
                                   collation                                   case-insensitive collation
``CREATE TABLE t (...)``           ``... , rowid BIGSERIAL)``                  SQLite's implicit insertion-order
                                                                               ``rowid`` made explicit (as the last
                                                                               column, so positional ``INSERT INTO
                                                                               t VALUES`` still fills the others)
``... ) WITHOUT ROWID``            ``... )``                                   (and no ``rowid`` column)
=================================  ==========================================  ====================================

Upserts (``ON CONFLICT (k) DO UPDATE SET v = t.v + excluded.v``) and
``RETURNING`` are written the same in both (qualify the table's column in
an upsert: PostgreSQL calls a bare one ambiguous). ``PRAGMA`` statements
have no translation: they belong to :mod:`sagaline.storage.sqlite` only.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["to_postgres", "NOCASE_DDL"]

#: Run in every PostgreSQL schema before its tables: the collation ``COLLATE NOCASE`` names there.
NOCASE_DDL = "CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"

_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\sRETURNING\s", re.IGNORECASE)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\b", re.IGNORECASE)
_AUTOINCREMENT = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.IGNORECASE)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.IGNORECASE)
# TEXT not followed, within the same column definition, by a COLLATE of its own.
_TEXT = re.compile(r"\bTEXT\b(?![^,(]*\bCOLLATE\b)", re.IGNORECASE)
_TYPES = (
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
)


@lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """Rewrite one SQLite statement for PostgreSQL (see the module docstring); cached per text."""
    text = _placeholders(sql)
    if _OR_IGNORE.match(text):
        return _or_ignore(text)
    if _CREATE_TABLE.match(text):
        return _create_table(text)
    return text


def _placeholders(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def _or_ignore(text: str) -> str:
    text = _OR_IGNORE.sub("INSERT INTO", text, count=1)
    found = _RETURNING.search(text)
    if found is None:
        return text.rstrip() + " ON CONFLICT DO NOTHING"
    return f"{text[: found.start()]} ON CONFLICT DO NOTHING{text[found.start() :]}"


def _create_table(text: str) -> str:
    without_rowid = _WITHOUT_ROWID.search(text) is not None
    text = _WITHOUT_ROWID.sub(")", text.rstrip())
    has_key = _AUTOINCREMENT.search(text) is not None
    text = _AUTOINCREMENT.sub("BIGSERIAL PRIMARY KEY", text)
    for pattern, name in _TYPES:
        text = pattern.sub(name, text)
    text = _TEXT.sub('TEXT COLLATE "C"', text)
    if without_rowid or has_key:
        return text
    return text[:-1].rstrip() + ", rowid BIGSERIAL)"
