"""An event's schedule at its edges: an interval's own start and duration, a random shift bounded
by the first interval, and payloads the fleet cannot act on named, never guessed at."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.openadr.model import (
    Event,
    Interval,
    Payload,
    PayloadDescriptor,
    Period,
)
from custom_components.net_stabilization.core.openadr.schedule import (
    Kind,
    Signals,
    place,
    random_shift,
    schedule,
    signals_at,
)

HOUR = 3600.0


def one_interval(*payloads: Payload, **changes: object) -> Event:
    interval = Interval(0, Period(0.0, HOUR), payloads)
    return Event("e1", "p1", intervals=(interval,), **changes)  # type: ignore[arg-type]


def at(event: Event, t: float = 60.0) -> Signals:
    return signals_at(t, [event], {event.id: schedule(event, 0.0)})


def test_an_interval_with_its_own_start_and_duration_keeps_them() -> None:
    event = Event(
        "e1",
        "p1",
        period=Period(0.0, HOUR),
        intervals=(
            Interval(0, None, ()),
            Interval(1, Period(5 * HOUR, 600.0), ()),
            Interval(2, None, ()),
        ),
    )
    slots = place(event, seen_at=999.0, shift_s=10.0)
    assert [(s.start, s.end) for s in slots] == [
        (10.0, HOUR + 10.0),
        (5 * HOUR + 10.0, 5 * HOUR + 610.0),
        (5 * HOUR + 610.0, 6 * HOUR + 610.0),  # follows the previous one
    ]


def test_a_random_shift_may_be_bounded_by_the_first_interval() -> None:
    interval = Interval(0, Period(None, HOUR, randomize_s=300.0), ())
    event = Event("e1", "p1", intervals=(interval,))
    shift = random_shift(event, "ven-1")
    assert -300.0 <= shift <= 300.0
    assert shift != 0.0
    assert random_shift(event, "ven-1") == shift  # seeded: every poll draws the same
    assert random_shift(Event("e2", "p1", intervals=(Interval(0, None, ()),)), "ven-1") == 0.0


@pytest.mark.parametrize(
    "values",
    [(), (1.0, 2.0), ("4",), (True,), (float("inf"),)],
)
def test_a_setpoint_that_is_not_one_number_is_named_not_used(values: tuple[object, ...]) -> None:
    signals = at(one_interval(Payload("DISPATCH_SETPOINT", values)))
    assert signals.target is None
    assert signals.active == ("e1",)
    assert len(signals.problems) == 1
    assert "DISPATCH_SETPOINT value" in signals.problems[0][1]


@pytest.mark.parametrize("values", [(4,), (-1,)])
def test_a_simple_level_outside_zero_to_three_is_named_not_used(values: tuple[object]) -> None:
    signals = at(one_interval(Payload("SIMPLE", values)))
    assert signals.target is None
    assert "SIMPLE value" in signals.problems[0][1]


def test_a_negative_setpoint_is_named_and_simple_level_zero_asks_nothing() -> None:
    assert "not usable" in at(one_interval(Payload("DISPATCH_SETPOINT", (-3.0,)))).problems[0][1]
    signals = at(one_interval(Payload("SIMPLE", (0,))))
    assert signals.target is None
    assert signals.problems == ()


def test_payloads_of_other_kinds_are_not_the_fleets_business() -> None:
    signals = at(one_interval(Payload("GHG", (120.0,)), Payload("DISPATCH_SETPOINT", (4.0,))))
    assert signals.target is not None
    assert signals.target.kind is Kind.SETPOINT
    assert signals.problems == ()


@pytest.mark.parametrize(
    ("payload", "descriptors"),
    [
        (Payload("PRICE", (0.3,)), (PayloadDescriptor("PRICE", "THERMS", "EUR"),)),
        (Payload("PRICE", ()), ()),
        (Payload("PRICE", ("cheap",)), ()),
        (Payload("PRICE", (True,)), ()),
    ],
)
def test_a_price_in_another_unit_or_of_no_number_is_named_not_used(
    payload: Payload, descriptors: tuple[PayloadDescriptor, ...]
) -> None:
    signals = at(one_interval(payload, payload_descriptors=descriptors))
    assert signals.price is None
    assert signals.problems[0][1].startswith("PRICE")
