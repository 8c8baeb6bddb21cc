"""PURE. Domain events: the envelope, the taxonomy, known events, validation, routing.

Layering inside the package (imports run downward only)::

    rules, errors           closed sets; EventError, EventRejected (carries a Violation)
    taxonomy                constants, pure predicates, the registry of
                            domains (runtime's flow + what apps register)
    payloads, known         payload schemas; registry of known events,
                            checked against the taxonomy at import
    envelope                Event (a Message, so the codec carries it),
                            new_event, derive, parse_event
    validator, pipeline     validate (warn | raise | drop), select_pipeline,
                            reliability_of

Only the standard library, pydantic, :mod:`sagaline.messages` and
:mod:`sagaline.errors` are imported; no actor, storage or telemetry code.

How a publisher uses it (the flow bus, or a saga's emit step)::

    event = new_event(name, source, payload, correlation_id, causation_id)
    outcome = validate(event, mode, drops=counter)
    if isinstance(outcome, Dropped):
        event = outcome.audit_event          # publish the audit record instead
    pipeline = select_pipeline(event)
    durable = reliability_of(event) == "persistent"

The payload schemas of the runtime's known events live in
:mod:`sagaline.events.payloads` (``known_event(name).payload`` reaches
them too). An app adds its domains (with their categories) and its known
events through its :class:`~sagaline.apps.App` record; loading the app
registers them (:func:`register_domain`, :func:`register_event`).
"""

from sagaline.events.envelope import Event, derive, new_event, parse_event
from sagaline.events.errors import EventError, EventRejected
from sagaline.events.known import KnownEvent, known_event, known_events, register_event
from sagaline.events.payloads import Payload
from sagaline.events.pipeline import reliability_of, select_pipeline
from sagaline.events.rules import Rule, Violation
from sagaline.events.taxonomy import (
    FAMILIES,
    TAXONOMY_VERSION,
    Domain,
    Pipeline,
    Priority,
    Reliability,
    categories_by_domain,
    domains,
    may_emit,
    register_domain,
)
from sagaline.events.validator import DropCounter, Dropped, Mode, Validated, check, validate

__all__ = [
    "Domain",
    "DropCounter",
    "Dropped",
    "Event",
    "EventError",
    "EventRejected",
    "FAMILIES",
    "KnownEvent",
    "Mode",
    "Payload",
    "Pipeline",
    "Priority",
    "Reliability",
    "Rule",
    "TAXONOMY_VERSION",
    "Validated",
    "Violation",
    "categories_by_domain",
    "check",
    "derive",
    "domains",
    "known_event",
    "known_events",
    "may_emit",
    "new_event",
    "parse_event",
    "register_domain",
    "register_event",
    "reliability_of",
    "select_pipeline",
    "validate",
]
