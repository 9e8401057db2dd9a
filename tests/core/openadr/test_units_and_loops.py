"""Payload units and looping intervals, against the test VTN.

Units: `KW` is the specification's only unit of real power (`KWH` of energy); `W` and `MW` are
taken as private strings and converted; anything else is refused with a report. Looping: an
`event.duration` longer than the intervals repeats them until it runs out (User Guide 3.1.1, 7.3
"event.duration" and 7.5 "Looping intervals").
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.net_stabilization.core.openadr import GridPrice
from custom_components.net_stabilization.core.openadr.model import Event, Interval, Payload, Period
from custom_components.net_stabilization.core.openadr.schedule import schedule, signals_at

from .conftest import Site, event

pytestmark = pytest.mark.usefixtures("socket_enabled")

HOUR = 3600.0


def _with_units(site: Site, kind: str, value: float, units: str) -> dict[str, Any]:
    body = event(site.program_id, site.at(10), kind, value)
    body["payloadDescriptors"][0]["units"] = units
    return body


@pytest.mark.parametrize(
    ("units", "value", "target_w"),
    [("W", 4000.0, 4000.0), ("MW", 0.004, 4000.0), ("kW", 4.0, 4000.0), ("KW", 4.0, 4000.0)],
)
async def test_a_setpoint_in_watts_or_megawatts_is_converted(
    site: Site, units: str, value: float, target_w: float
) -> None:
    event_id = site.vtn.create_event(_with_units(site, "DISPATCH_SETPOINT", value, units))
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w == pytest.approx(target_w)
    assert site.vtn.reports_for(event_id) == []  # nothing refused
    assert site.vtn.violations == []


async def test_an_import_limit_in_watts_caps_the_fleet_in_kw(site: Site) -> None:
    site.vtn.create_event(_with_units(site, "IMPORT_CAPACITY_LIMIT", 3000.0, "W"))
    await site.run(60)
    assert site.fleet.dispatches[-1].cap_w == pytest.approx(3000.0)


async def test_a_relative_setpoint_in_watts_is_converted(site: Site) -> None:
    body = _with_units(site, "DISPATCH_SETPOINT", -500.0, "W")
    body["payloadDescriptors"][0]["payloadType"] = "DISPATCH_SETPOINT_RELATIVE"
    body["intervals"][0]["payloads"][0]["type"] = "DISPATCH_SETPOINT_RELATIVE"
    await site.run(20 * 60)  # a baseline of 2 kW
    site.vtn.create_event(body)
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w == pytest.approx(1500.0)


async def test_a_price_per_mwh_is_a_price_per_kwh(site: Site) -> None:
    site.ven._price = price = GridPrice()
    site.vtn.create_event(_with_units(site, "PRICE", 250.0, "MWH"))
    await site.run(60)
    assert price.per_kwh == pytest.approx(0.25)


@pytest.mark.parametrize("units", ["KVA", "KVAR", "PERCENT", "HP"])
async def test_a_power_in_a_unit_that_is_no_real_power_is_refused(site: Site, units: str) -> None:
    event_id = site.vtn.create_event(_with_units(site, "DISPATCH_SETPOINT", 4.0, units))
    await site.run(60)
    assert all(d.target_w is None for d in site.fleet.dispatches)
    reports = site.vtn.reports_for(event_id)
    assert len(reports) == 1
    assert units in reports[0]["reportName"]
    assert site.vtn.violations == []


def _looping(duration: str, values: list[float], every: str = "PT1H") -> dict[str, Any]:
    return {
        "eventName": "loop",
        "duration": duration,
        "intervalPeriod": {"duration": every},
        "intervals": [
            {"id": i, "payloads": [{"type": "DISPATCH_SETPOINT", "values": [v]}]}
            for i, v in enumerate(values)
        ],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "DISPATCH_SETPOINT",
                "units": "KW",
            }
        ],
    }


async def test_intervals_loop_while_the_event_lasts_longer_and_end_with_it(site: Site) -> None:
    # Two hourly intervals (4 kW, 6 kW) in an event of five hours: 4, 6, 4, 6, 4, then nothing.
    body = _looping("PT5H", [4.0, 6.0])
    body["programID"] = site.program_id
    body["intervalPeriod"]["start"] = site.at(30)
    site.vtn.create_event(body)
    seen: list[float | None] = []
    for _ in range(6):
        await site.run(HOUR)
        seen.append(site.fleet.dispatches[-1].target_w)
    assert seen == [4000.0, 6000.0, 4000.0, 6000.0, 4000.0, None]
    assert site.vtn.violations == []


async def test_each_pass_of_looping_intervals_is_reported(site: Site) -> None:
    body = _looping("PT3H", [4.0, 6.0], every="PT30M")
    body["programID"] = site.program_id
    body["intervalPeriod"]["start"] = site.at(30)
    body["reportDescriptors"] = [{"payloadType": "DEMAND", "readingType": "MEAN"}]
    event_id = site.vtn.create_event(body)
    await site.run(4 * HOUR, step_s=15)
    reports = site.vtn.reports_for(event_id)
    # Three passes of an hour: one report of both intervals after each.
    assert len(reports) == 3
    starts = [
        [i["intervalPeriod"]["start"] for i in r["resources"][0]["intervals"]] for r in reports
    ]
    assert [len(s) for s in starts] == [2, 2, 2]
    assert len({s[0] for s in starts}) == 3  # each pass in its own time
    assert site.vtn.violations == []


def test_an_endless_loop_repeats_for_ever_at_no_cost() -> None:
    intervals = tuple(
        Interval(i, None, (Payload("DISPATCH_SETPOINT", (float(i + 1),)),)) for i in range(24)
    )
    e = Event("e1", "p1", period=Period(0.0, HOUR), duration_s=float("inf"), intervals=intervals)
    placed = schedule(e, 0.0)
    assert placed.loops
    year = 365 * 24 * HOUR
    target = signals_at(year + 5.5 * HOUR, [e], {e.id: placed}).target
    assert target is not None
    assert target.value == 6.0  # the sixth hour of a day, a year on
    assert target.ends_at == year + 6 * HOUR


def test_a_duration_equal_to_the_intervals_neither_loops_nor_cuts() -> None:
    intervals = (Interval(0, None, ()), Interval(1, None, ()))
    e = Event("e1", "p1", period=Period(0.0, HOUR), duration_s=2 * HOUR, intervals=intervals)
    placed = schedule(e, 0.0)
    assert not placed.loops
    assert placed.end == 2 * HOUR
    assert placed.in_force(2 * HOUR) == []


def test_a_loop_cuts_its_last_pass_at_the_event_end() -> None:
    intervals = (Interval(0, None, ()), Interval(1, None, ()))
    e = Event("e1", "p1", period=Period(0.0, HOUR), duration_s=2.5 * HOUR, intervals=intervals)
    placed = schedule(e, 0.0)
    assert [(s.interval.id, s.start, s.end) for s in placed.pass_slots(1)] == [
        (0, 2 * HOUR, 2.5 * HOUR)
    ]
    assert placed.in_force(2.6 * HOUR) == []


async def test_a_loop_of_seconds_is_reported_on_once_not_at_every_turn(site: Site) -> None:
    body = _looping("PT1H", [4.0, 6.0], every="PT1S")
    body["programID"] = site.program_id
    body["intervalPeriod"]["start"] = site.at(30)
    body["reportDescriptors"] = [{"payloadType": "DEMAND", "readingType": "MEAN"}]
    event_id = site.vtn.create_event(body)
    await site.run(10 * 60)
    assert len(site.vtn.reports_for(event_id)) == 1  # its first pass
    assert site.vtn.violations == []
