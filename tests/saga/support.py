"""Message classes used only by the saga tests."""

from sagaline.messages.base import Command, Reply


class Echo(Command):
    """Test command: echo ``text`` back."""

    text: str
    """What to echo."""


class EchoReply(Reply):
    """Test reply to :class:`Echo`."""

    text: str
    """What was echoed."""
