"""Messages shared by every domain actor."""

from __future__ import annotations

from sagaline.messages.base import Reply

__all__ = ["CommandFailed"]


class CommandFailed(Reply):
    """A domain actor's answer when a command had no effect because it failed.

    A redelivered command that failed the first time gets this same answer
    again (the failure is remembered under the idempotency key).
    """

    code: str
    """Stable machine-readable reason, e.g. ``user_creation_failed``."""
    message: str = ""
    """Human-readable explanation."""
    retryable: bool = False
    """True when the same command may succeed later (a transient fault)."""
