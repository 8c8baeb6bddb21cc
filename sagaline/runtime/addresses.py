"""Carry Thespian actor addresses through the msgpack codec, without pickle.

:data:`sagaline.messages.base.ActorRef` fields hold Thespian ``ActorAddress``
objects at run time. :func:`register_address_codec` teaches the codec to
write them as msgpack ext type :data:`ADDRESS_EXT_CODE` holding plain data:
``["tcp", host, port]`` for a multiprocess TCP address, ``["name", text]``
for an in-process (simpleSystemBase) address. Decoding rebuilds the address
from those fields only, so hostile bytes can never run code (pickle would).

A child's address as returned by ``createActor`` inside an actor is a local
placeholder until the child has started; encoding one that has no real
address yet raises ``ValueError`` (the codec turns it into
``UnencodableMessage``).
"""

from __future__ import annotations

from typing import Any

from sagaline.messages.codec import pack_value, register_extension, unpack_value

__all__ = [
    "ADDRESS_EXT_CODE",
    "register_address_codec",
    "address_to_bytes",
    "address_from_bytes",
    "tcp_endpoint",
    "tcp_address",
]

#: msgpack ext code for actor addresses (0..127; the codec's other users pick others).
ADDRESS_EXT_CODE = 17


def address_to_bytes(address: Any) -> bytes:
    """Encode a Thespian ``ActorAddress`` as plain msgpack data.

    Raises:
        ValueError: A placeholder address with no real address yet, or an
            address kind this codec does not know.
    """
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    details = address.addressDetails
    if isinstance(details, str):
        return pack_value(["name", details])
    if type(details) is TCPv4ActorAddress:
        host, port = details.sockname[:2]
        return pack_value(["tcp", host, int(port)])
    real = _realised(details)
    if real is not None:
        return address_to_bytes(real)
    raise ValueError(f"cannot encode actor address {address} ({type(details).__name__})")


def _realised(details: Any) -> Any:
    manager = getattr(details, "addressManager", None)
    if manager is None:
        return None
    try:
        from thespian.actors import ActorAddress

        return manager.exportAddr(ActorAddress(details))
    except Exception:
        return None


def address_from_bytes(data: bytes) -> Any:
    """Rebuild an ``ActorAddress`` from :func:`address_to_bytes` output.

    Raises:
        ValueError: The bytes do not hold a known address form.
    """
    from thespian.actors import ActorAddress
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    form = unpack_value(data)
    if isinstance(form, list) and len(form) == 2 and form[0] == "name" and isinstance(form[1], str):
        return ActorAddress(form[1])
    if (
        isinstance(form, list)
        and len(form) == 3
        and form[0] == "tcp"
        and isinstance(form[1], str)
        and type(form[2]) is int
        and 0 < form[2] < 65536
    ):
        return ActorAddress(TCPv4ActorAddress(form[1], form[2], external=True))
    raise ValueError("not an encoded actor address")


def register_address_codec() -> None:
    """Register the address extension with the codec (idempotent)."""
    from thespian.actors import ActorAddress

    register_extension(ADDRESS_EXT_CODE, ActorAddress, address_to_bytes, address_from_bytes)


def tcp_endpoint(address: Any) -> tuple[str, int] | None:
    """``(host, port)`` of a multiprocess TCP actor address; None for any other (in-process, placeholder)."""
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    details: Any = getattr(address, "addressDetails", None)
    if type(details) is not TCPv4ActorAddress:
        return None
    host, port = details.sockname[:2]
    return str(host), int(port)


def tcp_address(endpoint: tuple[str, int]) -> Any:
    """The actor address at ``(host, port)`` (of this actor system or another one of the convention)."""
    from thespian.actors import ActorAddress
    from thespian.system.transport.IPBase import TCPv4ActorAddress

    return ActorAddress(TCPv4ActorAddress(endpoint[0], endpoint[1], external=True))
