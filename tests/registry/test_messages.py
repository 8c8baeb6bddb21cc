"""Every supervision and registry message is documented field by field and
round-trips through the codec (addresses included)."""

import inspect

import pytest

import sagaline.messages.registry as registry_messages
import sagaline.messages.supervision as supervision_messages
import sagaline.supervisors.api as supervisor_api
from sagaline.messages.base import Message
from sagaline.messages.codec import decode, encode
from sagaline.runtime.addresses import register_address_codec
from sagaline.supervisors.spec import child_spec

register_address_codec()
MODULES = (supervision_messages, supervisor_api, registry_messages)
CLASSES = [
    cls
    for module in MODULES
    for cls in vars(module).values()
    if inspect.isclass(cls) and issubclass(cls, Message) and cls.__module__ == module.__name__
]


OVERRIDES = {
    "Stop": lambda a: supervision_messages.Stop(reason="normal"),
    "Unregistered": lambda a: registry_messages.Unregistered(key="k", removed=True),
    "Keys": lambda a: registry_messages.Keys(holder=a, keys=("a", "b")),
    "RegistryEvent": lambda a: registry_messages.RegistryEvent(
        kind="unregistered", key="k", holder=a, value={"v": 1}, reason="exit"
    ),
    "PartitionSelect": lambda a: registry_messages.PartitionSelect(
        query=registry_messages.Select(key_prefix="saga:"), local=registry_messages.Entries(entries=()), reply_to=a
    ),
    "PartitionCount": lambda a: registry_messages.PartitionCount(
        query=registry_messages.Count(key_prefix="saga:"), local=registry_messages.CountResult(count=2), reply_to=a
    ),
}


def sample(cls, address):
    if cls.__name__ in OVERRIDES:
        return OVERRIDES[cls.__name__](address)
    reason = supervision_messages.ExitReason(kind="error", error_type="E", detail="d")
    values = {
        "reason": reason,
        "spec": child_spec("c", "a.B", {"x": [1, "y"]}),
        "kind": None,
        "code": None,
        "op": "eq",
        "status": "running",
        "type": "worker",
        "children": (),
        "entries": (),
        "where": (),
    }
    fields = {}
    for name, info in cls.model_fields.items():
        if name in values and values[name] is not None:
            fields[name] = values[name]
        elif info.is_required():
            annotation = str(info.annotation)
            fields[name] = (
                address if "Any" in annotation or "SkipValidation" in annotation else 3 if "int" in annotation else "k"
            )
    if "kind" in cls.model_fields and cls.model_fields["kind"].is_required():
        fields["kind"] = "normal" if cls is supervision_messages.ExitReason else "registered"
    if "code" in cls.model_fields:
        fields["code"] = "not_found"
    return cls(**fields)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_has_a_docstring(cls):
    assert [name for name, info in cls.model_fields.items() if not info.description] == []


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_message_round_trips_through_the_codec(cls):
    from thespian.actors import ActorAddress
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    address = ActorAddress(TCPv4ActorAddress("127.0.0.1", 40001, external=True))
    message = sample(cls, address)
    assert decode(encode(message)) == message
