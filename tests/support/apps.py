"""App declarations the app-loading tests name by spec (``tests.support.apps:<name>``).

Each is small on purpose: a saga or two whose command steps target
domains, a domain actor class, a command. Nothing here runs; loading only
checks the declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagaline.actors.domain import DomainActor
from sagaline.apps import App, AppCommand, AppDomain
from sagaline.messages.base import Command, Message, Reply
from sagaline.saga import CommandStep, Ok, Saga, local


class Jot(Command):
    """Write a note."""

    text: str
    """The note."""
    copies: int = 1
    """How many copies."""


class Jotted(Reply):
    """Answer to :class:`Jot`."""

    note_id: str
    """The note."""


class Page(Message):
    """A record type the app's messages carry."""

    title: str
    """Its title."""


@dataclass(frozen=True)
class NotesSettings:
    """``[domains.notes]``."""

    shelf: str = "main"
    """Where notes go."""


class NotesActor(DomainActor):
    """A domain actor class (never started by these tests)."""

    DOMAIN = "notes"


class ArchiveActor(DomainActor):
    """Another one."""

    DOMAIN = "archive"


def saga(name: str, *targets: str):
    """A zero-argument factory of a saga with one command step per target (and a local step)."""

    def build():
        s = Saga(name)
        s.step("start", local(lambda a, c: Ok()))
        for i, target in enumerate(targets):
            s.step(f"to_{target}_{i}", CommandStep(target, build=lambda a, c: Jot(headers=c.headers(), text="x")))
        return s.build()

    return build


notes = App(
    name="notes",
    sagas=[saga("jot_down", "notes", "flow")],
    domains=[AppDomain("notes", NotesActor, settings=NotesSettings)],
    commands=[AppCommand("jot", "notes", Jot, help="write a note")],
    messages=["tests.support.apps"],
)
archive = App(
    name="archive",
    sagas=[saga("file_away", "archive", "notes")],
    uses=["notes"],
    domains=[AppDomain("archive", ArchiveActor)],
)
trespasser = App(name="trespasser", sagas=[saga("sneak", "notes")], domains=[AppDomain("archive", ArchiveActor)])
dreamer = App(name="dreamer", sagas=[saga("imagine", "nowhere")])
twin = App(name="twin", sagas=[saga("jot_down", "flow")])
notes_again = App(name="notes", sagas=[saga("other")])
flow_thief = App(name="thief", domains=[AppDomain("flow", NotesActor)])
stranger = App(name="stranger", uses=["ghost"])
broken_saga = App(name="broken", sagas=[saga("ok"), lambda: 1 / 0])
not_a_saga = App(name="confused", sagas=["jot_down"])
bad_actor = App(name="bad_actor", domains=[AppDomain("desk", dict)])
bad_settings = App(name="bad_settings", domains=[AppDomain("desk", NotesActor, settings=int)])
bad_command = App(name="bad_command", commands=[AppCommand("shout", "notes", Page)])
far_command = App(name="far_command", commands=[AppCommand("peek", "notes", Jot)])
bad_columns = App(name="bad_columns", commands=[AppCommand("peek", "notes", Jot, columns=("text", ""))])
Bad_Name = App(name="Bad Name")
alien_events = App(name="alien", event_domains={"notes": ("system",)})
not_an_app = {"name": "notes"}

#: How often each hooked app's ``on_load`` ran in this process.
HOOK_CALLS: dict[str, int] = {"hooked": 0}


def _count_load() -> None:
    HOOK_CALLS["hooked"] += 1


def _fail_load() -> None:
    raise RuntimeError("no telemetry here")


hooked = App(name="hooked", sagas=[saga("hook", "flow")], on_load=_count_load)
hook_fails = App(name="hook_fails", on_load=_fail_load)
hook_not_callable = App(name="hook_not_callable", on_load="attach")  # type: ignore[arg-type]
