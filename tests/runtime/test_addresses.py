"""Actor addresses travel through the msgpack codec as plain data (never pickle)."""

import msgpack
import pytest

from sagaline.messages.codec import MalformedMessage, decode, encode, pack_value
from sagaline.messages.supervision import InitActor
from sagaline.runtime.addresses import ADDRESS_EXT_CODE
from tests.support.tree import start_probe


@pytest.mark.timeout(30)
def test_an_init_message_with_addresses_round_trips(actor_system):
    probe = start_probe(actor_system)
    message = InitActor(args={"probe": probe}, parent=probe, lineage=(probe,), child_id="c")
    back = decode(encode(message))
    assert back.parent == probe and back.lineage == (probe,) and back.args["probe"] == probe


def test_hostile_address_bytes_are_refused():
    import sagaline.actors.base  # noqa: F401  (registers the extension)

    bad = msgpack.packb(msgpack.ExtType(ADDRESS_EXT_CODE, pack_value(["tcp", "h", "not-a-port"])))
    frame = msgpack.packb(["InitActor", 1, {"parent": msgpack.ExtType(ADDRESS_EXT_CODE, bad)}])
    with pytest.raises(MalformedMessage):
        decode(frame)
