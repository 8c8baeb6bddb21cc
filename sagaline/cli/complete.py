"""What the shell completes: command words, options, and values the daemon knows.

:func:`candidates` is PURE: from the command specs (:mod:`sagaline.cli.spec`;
never a parser's insides), the words before the cursor and the word being
typed, it decides what kind of value is wanted and asks a :class:`Names`
source for those values: saga names, a saga's input names (``email=``),
live run ids (``sagas cancel <TAB>`` offers the running runs, ``sagas
retry <TAB>`` the stuck ones), a run's steps, run statuses, app commands
and their arguments. :class:`LiveNames` is that source over a
:class:`sagaline.Client`, with short-lived caches so a Tab costs at most
one request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sagaline.cli.spec import (
    APP_ARG,
    APP_COMMAND,
    INPUT,
    LIVE_RUN,
    RESUMABLE_RUN,
    RUN,
    SAGA,
    STATUS,
    STEP,
    STUCK_RUN,
    Arg,
    CommandSpec,
)

__all__ = ["Candidate", "Names", "candidates", "LiveNames", "SHELL_WORDS", "RUN_KINDS"]

#: Words the shell itself understands.
SHELL_WORDS = ("help", "exit", "quit")
#: Which runs each run-id kind offers (None: the newest, any status).
RUN_KINDS: dict[str, tuple[str, ...] | None] = {
    RUN: None,
    LIVE_RUN: ("running", "draining", "rolling_back"),
    STUCK_RUN: ("stuck",),
    RESUMABLE_RUN: ("failed", "cancelled", "halted", "needs_operator"),
}


@dataclass(frozen=True)
class Candidate:
    """A completion: the text that replaces the word being typed, and a hint shown beside it."""

    text: str
    meta: str = ""


class Names(Protocol):
    """Where completion values come from (the daemon, through :class:`LiveNames`)."""

    def sagas(self) -> list[str]: ...
    def inputs(self, saga: str) -> list[tuple[str, str]]: ...
    def runs(self, kind: str) -> list[tuple[str, str]]: ...
    def steps(self, run: str) -> list[str]: ...
    def app_commands(self) -> list[str]: ...
    def app_args(self, command: str) -> list[tuple[str, str]]: ...


def candidates(
    specs: Sequence[CommandSpec],
    words: list[str],
    current: str,
    names: Names | None = None,
    statuses: Sequence[str] = (),
) -> list[Candidate]:
    """Completions of ``current`` after ``words`` (see the module docstring); sorted, each at most once."""
    if words[:1] == ["help"]:
        words = words[1:]
    spec = next((s for s in specs if list(s.words) == words[: len(s.words)]), None)
    if spec is None:
        return _words(specs, words, current)
    rest = words[len(spec.words) :]
    wanted = _wanted(spec, rest, current)
    if wanted is None:
        used = {w for w in rest if w.startswith("--")}
        return _match(
            [
                Candidate(a.name, a.help[:40])
                for a in spec.options
                if a.name not in used or a.options.get("action") == "append"
            ],
            current,
        )
    return _match(_values(wanted, spec, rest, current, names, statuses), current)


def _words(specs: Sequence[CommandSpec], words: list[str], current: str) -> list[Candidate]:
    following = {
        s.words[len(words)]: s.help if len(s.words) == len(words) + 1 else f"{s.words[len(words)]} commands"
        for s in specs
        if len(s.words) > len(words) and list(s.words[: len(words)]) == words
    }
    found = [Candidate(word, hint[:40]) for word, hint in following.items()]
    if not words:
        found += [Candidate(word) for word in SHELL_WORDS]
    return _match(found, current)


def _wanted(spec: CommandSpec, rest: list[str], current: str) -> Arg | None:
    """The argument whose value is being typed (None: an option name is)."""
    if rest and (option := spec.option(rest[-1])) is not None and option.takes_value:
        return option
    if current.startswith("-"):
        return None
    positionals, index, skip = spec.positionals, 0, False
    for word in rest:
        if skip:
            skip = False
        elif word.startswith("-"):
            option = spec.option(word)
            skip = option is not None and option.takes_value
        elif index < len(positionals) and positionals[index].options.get("nargs") not in ("*", "+"):
            index += 1
    return positionals[index] if index < len(positionals) else None


def _values(
    arg: Arg, spec: CommandSpec, rest: list[str], current: str, names: Names | None, statuses: Sequence[str]
) -> list[Candidate]:
    if arg.choices:
        return [Candidate(c) for c in arg.choices]
    if arg.complete == STATUS:
        head, _, _ = current.rpartition(",")
        return [Candidate(f"{head},{s}" if head else s) for s in statuses]
    if names is None or arg.complete is None:
        return []
    first = _positional_values(spec, rest)
    if arg.complete in RUN_KINDS:
        return [Candidate(run, meta) for run, meta in names.runs(arg.complete)]
    if arg.complete == SAGA:
        return [Candidate(s) for s in names.sagas()]
    if arg.complete == INPUT and first:
        return _pairs(names.inputs(first[0]), rest)
    if arg.complete == APP_COMMAND:
        return [Candidate(c) for c in names.app_commands()]
    if arg.complete == APP_ARG and first:
        return _pairs(names.app_args(first[0]), rest)
    if arg.complete == STEP and first:
        return [Candidate(s) for s in names.steps(first[0])]
    return []


def _positional_values(spec: CommandSpec, rest: list[str]) -> list[str]:
    values, skip = [], False
    for word in rest:
        if skip:
            skip = False
        elif word.startswith("-"):
            option = spec.option(word)
            skip = option is not None and option.takes_value
        else:
            values.append(word)
    return values


def _pairs(fields: Iterable[tuple[str, str]], rest: list[str]) -> list[Candidate]:
    given = {w.split("=", 1)[0].rstrip(":") for w in rest if "=" in w}
    return [Candidate(f"{name}=", kind) for name, kind in fields if name not in given]


def _match(found: Iterable[Candidate], current: str) -> list[Candidate]:
    lowered, seen, out = current.lower(), set(), []
    for candidate in sorted(found, key=lambda c: c.text):
        if candidate.text.lower().startswith(lowered) and candidate.text not in seen:
            seen.add(candidate.text)
            out.append(candidate)
    return out


class LiveNames:
    """:class:`Names` from a running daemon through ``client`` (thread-safe; errors give no names).

    Args:
        client: a connected :class:`sagaline.Client`.
        runs_ttl_s: how long a list of runs is reused (runs come and go: short).
        catalog_ttl_s: how long the catalog is reused (it changes only with a restart).
    """

    def __init__(
        self,
        client: Any,
        runs_ttl_s: float = 1.0,
        catalog_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self._clock = client, clock
        self._ttl = {"runs": runs_ttl_s, "catalog": catalog_ttl_s}
        self._cache: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: Any, ttl: str, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and self._clock() - hit[0] < self._ttl[ttl]:
                return hit[1]
        try:
            value = fetch()
        except Exception:
            return None
        with self._lock:
            self._cache[key] = (self._clock(), value)
        return value

    def _catalog(self) -> dict:
        from sagaline.messages.admin import AdminCatalog, AdminResult

        def fetch() -> dict:
            answer = self.client.request(AdminCatalog())
            return answer.data if isinstance(answer, AdminResult) else {}

        return self._cached("catalog", "catalog", fetch) or {}

    def sagas(self) -> list[str]:
        return [s["name"] for s in self._catalog().get("sagas", [])]

    def inputs(self, saga: str) -> list[tuple[str, str]]:
        rows: list[dict[str, Any]] = next(
            (s["inputs"] for s in self._catalog().get("sagas", []) if s["name"] == saga), []
        )
        return [(r["name"], r["type"] + ("" if r["required"] else ", optional")) for r in rows]

    def app_commands(self) -> list[str]:
        return [c["name"] for c in self._catalog().get("commands", [])]

    def app_args(self, command: str) -> list[tuple[str, str]]:
        rows: list[dict[str, Any]] = next(
            (c["args"] for c in self._catalog().get("commands", []) if c["name"] == command), []
        )
        return [(r["name"], r["type"]) for r in rows]

    def runs(self, kind: str) -> list[tuple[str, str]]:
        statuses = RUN_KINDS.get(kind)
        page = self._cached(("runs", kind), "runs", lambda: self.client.list(status=list(statuses or ()), limit=50))
        return [(r.correlation_id, f"{r.saga} {r.status}") for r in (page.runs if page else [])]

    def steps(self, run: str) -> list[str]:
        def fetch() -> list[str]:
            from sagaline.cli.commands import full_id

            return [s.name for s in self.client.get(run if full_id(run) else self.client.resolve(run)).steps]

        return self._cached(("steps", run), "runs", fetch) or []
