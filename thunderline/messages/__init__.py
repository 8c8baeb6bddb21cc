"""PURE. The Thunderline domains' commands and replies, one module per domain.

Conventions are the runtime's (:mod:`sagaline.messages`): frozen pydantic
models with a docstring per field, registered with the codec by class name
when their module is imported; every effect is applied at most once per
idempotency key, undo commands name their effect by ``effect_key``.
"""
