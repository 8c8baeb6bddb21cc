"""PURE. ``place_order``: reserve the items, charge the card, confirm; undo the reservation on failure.

::

    reserve_stock (stock actor; undo: Release) -> charge_card (local) -> confirm (local)

``charge_card`` stands in for a payment service: the card ``declined`` is
declined, so a run with it fails there and the rollback puts the items back.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from inventory.messages import Release, Reserve, Reserved
from sagaline.saga import CommandStep, Fail, Ok, Saga, SagaDefinition, StepError, input_, local, result
from sagaline.saga.steps import reply_outcome

__all__ = ["NAME", "definition"]

NAME = "place_order"


def _reserved(reply, args):
    if isinstance(reply, Reserved):
        return Ok({"reservation_id": reply.reservation_id, "left": reply.left})
    return reply_outcome(reply)  # CommandFailed -> Fail (out_of_stock, ...)


def _charge(args, ctx):
    if args["card"] == "declined":
        return Fail(StepError("card_declined", "the card was declined"))
    return Ok({"charge_id": f"ch-{ctx.run_id[-12:]}"})


def definition() -> SagaDefinition:
    """Build the place_order saga."""
    s = Saga(NAME, description="reserve stock, charge the card, confirm the order")
    s.input("sku", str, description="the item to order")
    s.input("quantity", Annotated[int, Field(ge=1)], default=1, description="how many")
    s.input("card", str, description="the card to charge (`declined` is declined)")
    s.step(
        "reserve_stock",
        CommandStep(
            "stock",
            build=lambda a, ctx: Reserve(headers=ctx.headers(), sku=a["sku"], quantity=a["quantity"]),
            parse=_reserved,
            build_undo=lambda value, a, ctx: Release(headers=ctx.headers(), effect_key=ctx.run_key),
        ),
        args={"sku": input_("sku"), "quantity": input_("quantity")},
        timeout=5.0,
    )
    s.step("charge_card", local(_charge), args={"card": input_("card")}, wait_for=["reserve_stock"])
    s.step(
        "confirm",
        local(lambda a, ctx: Ok({"order": ctx.run_id, **a["reservation"], **a["charge"]})),
        args={"reservation": result("reserve_stock"), "charge": result("charge_card")},
    )
    s.returns("confirm")
    return s.build()
