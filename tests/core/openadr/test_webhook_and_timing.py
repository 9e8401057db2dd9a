"""Notifications by webhook (the VTN checks the callback first), randomised starts, relative
setpoints, a PRICE event as the price strategy's input, and the time values of OpenADR 3."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web

from custom_components.net_stabilization.core.openadr import GridPrice
from custom_components.net_stabilization.core.openadr.model import Event, Interval, Period
from custom_components.net_stabilization.core.openadr.schedule import place, random_shift
from custom_components.net_stabilization.core.openadr.timing import (
    FOREVER,
    TimingError,
    format_duration,
    parse_datetime,
    parse_duration,
)
from custom_components.net_stabilization.core.strategies import SiteInputs

from .conftest import Site, event


@pytest.fixture
async def webhook(site: Site) -> AsyncIterator[str]:
    """A callback endpoint on loopback that hands notifications to the VEN."""

    async def handle(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.Response(text=request.query.get("echo", ""))
        status = await site.ven.notified(await request.json(), request.headers.get("Authorization"))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_route("*", "/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_a_notified_event_is_acted_on_before_the_next_poll(site: Site, webhook: str) -> None:
    site.ven.config = replace(site.ven.config, callback_url=webhook, callback_token="s3cret")
    await site.ven.step()
    assert site.ven.subscribed
    assert len(site.vtn.state.subscriptions) == 1
    site.vtn.create_event(event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 6.0))
    await site.vtn.deliver()
    assert [n.status for n in site.vtn.notifications] == [200]
    site.clock.advance(5)  # far from the next poll (30 s)
    await site.ven.step()
    assert site.fleet.dispatches[-1].target_w == 6000.0
    assert site.vtn.violations == []


async def test_a_notification_without_the_token_is_refused(site: Site, webhook: str) -> None:
    site.ven.config = replace(site.ven.config, callback_token="s3cret")
    await site.ven.step()
    body = {"objectType": "EVENT", "operation": "CREATE", "object": {}}
    assert await site.ven.notified(body, None) == 401
    assert await site.ven.notified(body, "Bearer wrong") == 401


@pytest.mark.usefixtures("socket_enabled")
async def test_a_relative_setpoint_moves_from_the_baseline(site: Site) -> None:
    body = event(site.program_id, site.at(1200), "DISPATCH_SETPOINT_RELATIVE", 3.0)
    body["payloadDescriptors"] = [
        {
            "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
            "payloadType": "DISPATCH_SETPOINT_RELATIVE",
            "units": "KW",
        }
    ]
    site.vtn.create_event(body)
    await site.run(1300)
    assert site.fleet.dispatches[-1].target_w == 5000.0  # 2 kW before, 3 kW more


@pytest.mark.usefixtures("socket_enabled")
async def test_a_price_event_stands_in_for_the_price_entity(site: Site) -> None:
    price = GridPrice()
    site.ven._price = price
    reader = price.over(lambda: SiteInputs(price_per_kwh=0.30, grid_w=100.0))
    body = event(site.program_id, site.at(10), "PRICE", 0.05, duration="PT1H")
    body["intervals"][0]["payloads"][0]["values"] = [0.05, 0.40]  # two half hours
    site.vtn.create_event(body)
    await site.run(60)
    assert reader().price_per_kwh == 0.05
    assert reader().grid_w == 100.0
    await site.run(30 * 60)
    assert reader().price_per_kwh == 0.40
    await site.run(30 * 60)
    assert reader().price_per_kwh == 0.30  # no event: the entity's price again


def test_randomised_starts_are_shifted_within_the_bound_and_stable() -> None:
    shifts = set()
    for n in range(50):
        e = Event(
            id=f"e{n}",
            program_id="p",
            period=Period(1000.0, 600.0, 300.0),
            intervals=(Interval(0, None, ()), Interval(1, None, ())),
        )
        shift = random_shift(e, "site-1")
        assert -300.0 <= shift <= 300.0
        assert shift == random_shift(e, "site-1")
        slots = place(e, 0.0, shift)
        assert slots[0].start == 1000.0 + shift
        assert slots[1].start == slots[0].end  # every start moves by the same amount
        shifts.add(round(shift))
    assert len(shifts) > 40
    assert random_shift(Event(id="x", program_id="p", period=Period(0.0, 60.0)), "s") == 0.0


def test_an_event_starting_now_and_lasting_forever() -> None:
    e = Event(
        id="a",
        program_id="p",
        period=Period(parse_datetime("0001-01-01"), parse_duration("P9999Y")),
        intervals=(Interval(0, None, ()),),
    )
    slots = place(e, 5000.0)
    assert slots[0].start == 5000.0
    assert slots[0].end == FOREVER


def test_event_duration_cuts_the_intervals_short() -> None:
    e = Event(
        id="a",
        program_id="p",
        period=Period(0.0, 3600.0),
        duration_s=5400.0,
        intervals=tuple(Interval(i, None, ()) for i in range(3)),
    )
    assert [(s.start, s.end) for s in place(e, 0.0)] == [(0.0, 3600.0), (3600.0, 5400.0)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT15M", 900.0), ("P1DT1H", 90000.0), ("PT0.5S", 0.5), ("P1W", 604800.0), ("-PT1M", -60.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["P", "PT", "15M", "PT1H30", "P1H", "x" * 100, 5, None])
def test_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(TimingError):
        parse_duration(text)


def test_durations_and_date_times_go_back_and_forth() -> None:
    assert parse_duration(format_duration(900.0)) == 900.0
    assert format_duration(FOREVER) == "P9999Y"
    assert parse_datetime("2026-01-01T00:00:00Z") == 1_767_225_600.0
    assert parse_datetime("2026-01-01T01:00:00+01:00") == 1_767_225_600.0
    with pytest.raises(TimingError):
        parse_datetime("yesterday")
