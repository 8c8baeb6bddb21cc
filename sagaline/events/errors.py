"""Errors of the events layer.

The tree::

    SagalineError (sagaline.errors)
    +-- EventError                  the events layer was used wrongly: an
        |                           unknown validation mode, a registry entry
        |                           or domain that contradicts the taxonomy
        |                           or another entry (raised at import or when
        |                           an app loads; fix the code or the app)
        +-- EventRejected (also ValueError)
                                    one event breaks a rule; .violation
                                    names the rule (a Rule) and the reason

Who raises what, and what to do:

- :func:`~sagaline.events.envelope.new_event`,
  :func:`~sagaline.events.envelope.derive` and
  :func:`~sagaline.events.envelope.parse_event` raise ``EventRejected`` when
  the envelope cannot be built (a malformed correlation id, a source that is
  not a lowercase identifier, ...). A saga catches it, logs and counts it, and carries on:
  emitting an event never fails a saga.
- :func:`~sagaline.events.validator.validate` raises ``EventRejected`` in
  ``raise`` mode only (tests); the other modes return a value instead.
- Neither is retryable: the same event breaks the same rule again.
"""

from __future__ import annotations

from sagaline.errors import SagalineError
from sagaline.events.rules import Rule, Violation

__all__ = ["EventError", "EventRejected"]


class EventError(SagalineError):
    """Root of the events layer's errors; raised bare for programming errors.

    Raised by :func:`~sagaline.events.validator.validate` for an unknown
    mode and by :func:`~sagaline.events.known.register_event` for an entry
    that contradicts the taxonomy or an existing entry. Nothing should
    catch these but a test: fix the calling code.
    """


class EventRejected(EventError, ValueError):
    """An event breaks a taxonomy rule; nothing was published.

    Attributes:
        violation: The rule broken, the reason and the event's name.
    """

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation

    @property
    def rule(self) -> Rule:
        """The rule broken (shortcut for ``violation.rule``)."""
        return self.violation.rule
