"""``sagaline demo``: one small saga driven in-process through success,
failure with rollback, and retry, printed as timelines.

The saga books a trip: reserve a flight and a hotel concurrently, charge
the card, then confirm. The scenarios only change how the fake services
behave; the saga definition is the same for all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from sagaline.saga import Driver, Fail, Ok, Retry, Saga, SagaDefinition, StepError, input_, local, result

__all__ = ["trip_saga", "run_demo"]


def trip_saga(card_declined: bool = False, hotel_busy_times: int = 0) -> SagaDefinition:
    """The demo saga, with fake services that decline the card or answer
    "busy" a number of times."""
    busy = {"left": hotel_busy_times}

    def hotel(args, ctx):
        if busy["left"] > 0:
            busy["left"] -= 1
            return Retry("hotel service busy")
        return Ok({"hotel": "H-17", "guest": args["who"]})

    def charge(args, ctx):
        if card_declined:
            return Fail(StepError("card_declined", "the bank refused the charge"))
        return Ok({"charge": "C-99", "amount": 420})

    undo = lambda value, args, ctx: Ok()  # noqa: E731 - releasing a fake reservation
    s = Saga("trip", description="book flight + hotel, charge, confirm")
    s.input("traveller", transform=str.strip)
    s.step(
        "reserve_flight",
        local(lambda a, c: Ok({"flight": "F-1", "pax": a["who"]}), undo=undo),
        args={"who": input_("traveller")},
    )
    s.step("reserve_hotel", local(hotel, undo=undo), args={"who": input_("traveller")}, max_retries=3)
    s.step(
        "charge_card",
        local(charge, undo=undo),
        args={"flight": result("reserve_flight"), "hotel": result("reserve_hotel")},
    )
    s.step(
        "confirm",
        local(lambda a, c: Ok(f"booked {a['f']['flight']} + {a['h']['hotel']}")),
        args={"f": result("reserve_flight"), "h": result("reserve_hotel")},
        wait_for=["charge_card"],
    )
    s.returns("confirm")
    return s.build()


SCENARIOS: list[tuple[str, Callable[[], SagaDefinition]]] = [
    ("success", lambda: trip_saga()),
    ("failure with rollback (card declined)", lambda: trip_saga(card_declined=True)),
    ("retry (hotel busy twice, then free)", lambda: trip_saga(hotel_busy_times=2)),
]


def run_demo(out: TextIO) -> int:
    """Print the three scenarios' timelines to ``out``; returns 0 when each
    ended as expected (completed, failed, completed)."""
    expected = ["completed", "failed", "completed"]
    seen = []
    for title, make in SCENARIOS:
        report = Driver(make()).run({"traveller": "  ada  "})
        seen.append(report.status)
        out.write(f"\n== {title}: {report.status} (virtual time)\n")
        for entry in report.timeline:
            out.write(f"  t={entry.at * 1000:7.1f}ms  {entry.step:<15} {entry.what:<20} {entry.detail}\n")
        if report.status == "completed":
            out.write(f"  result: {report.finished.result}\n")
    return 0 if seen == expected else 1
