"""Identification of Vnish S9 (simulator), stock S9 and foreign devices (stand-ins)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from custom_components.net_stabilization.core.miners import (
    MinerProtocolError,
    MinerUnsupportedError,
    MiningState,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import (
    Credentials,
    MinerEndpoint,
    Timeouts,
)
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.miners.identify import ProbeOutcome, identify_miner
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from ..conftest import FleetFactory
from .replies import reply_bytes, web_json
from .standins import (
    STOCK_SYSTEM_INFO,
    ApiStandIn,
    WebStandIn,
    json_route,
    stock_api_handler,
    text_route,
)

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5)


class StockS9:
    """A stock-firmware S9: recorded bmminer 2.0.0 replies and a digest-protected web."""

    def __init__(self, *, multi_command: bool = True) -> None:
        self.api = ApiStandIn(stock_api_handler(multi_command=multi_command))
        self.web = WebStandIn(
            {
                "/cgi-bin/get_system_info.cgi": json_route(STOCK_SYSTEM_INFO),
                "/cgi-bin/reboot.cgi": text_route("Reboot"),
            }
        )

    @property
    def endpoint(self) -> MinerEndpoint:
        return MinerEndpoint("127.0.0.1", self.api.port, self.web.port)

    async def __aenter__(self) -> StockS9:
        await self.api.start()
        await self.web.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.stop()
        await self.web.stop()


@pytest.fixture
async def stock() -> AsyncIterator[StockS9]:
    async with StockS9() as miner:
        yield miner


async def test_identify_vnish(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    found = await identify_miner(
        MinerEndpoint(miner.host, miner.api_port, miner.web_port), session, probe_timeouts=FAST
    )
    assert found.outcome is ProbeOutcome.MINER
    assert found.identity is not None
    assert found.identity.mac == miner.mac
    assert found.identity.firmware == "Vnish 3.9.0"
    assert found.driver is not None
    assert found.driver.firmware is FirmwareKind.VNISH_S9
    assert found.driver.identity == found.identity
    assert found.driver.timeouts == Timeouts()  # polling limits, not the scan's
    assert (await found.driver.read()).state is MiningState.MINING


async def test_identify_sleeping_vnish_from_the_web_alone(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="sleeping")
    miner = fleet.miners[0]
    found = await identify_miner(
        MinerEndpoint(miner.host, miner.api_port, miner.web_port), session, probe_timeouts=FAST
    )
    assert found.outcome is ProbeOutcome.MINER
    assert found.identity is not None
    assert found.identity.mac == miner.mac


async def test_identify_wrong_password(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    found = await identify_miner(
        MinerEndpoint(miner.host, miner.api_port, miner.web_port),
        session,
        credentials=Credentials("root", "nope"),
        probe_timeouts=FAST,
    )
    assert found.outcome is ProbeOutcome.AUTH_FAILED
    assert "Antminer S9 (Vnish 3.9.0)" in found.detail
    assert found.driver is None


async def test_identify_stock(stock: StockS9, session: aiohttp.ClientSession) -> None:
    found = await identify_miner(stock.endpoint, session, probe_timeouts=FAST)
    assert found.outcome is ProbeOutcome.MINER
    assert found.identity is not None
    assert found.identity.mac == "B4:B1:5A:10:20:30"
    assert found.identity.model == "Antminer S9"
    assert found.identity.firmware == "Bitmain stock"
    assert found.identity.firmware_version == "2.0.0"
    driver = found.driver
    assert driver is not None
    assert driver.firmware is FirmwareKind.STOCK_S9
    assert not driver.capabilities.can_sleep
    assert not driver.capabilities.can_set_frequency


async def test_stock_driver_is_read_only(stock: StockS9, session: aiohttp.ClientSession) -> None:
    driver = AntminerS9Driver(
        "127.0.0.1",
        session,
        api_port=stock.api.port,
        web_port=stock.web.port,
        firmware=FirmwareKind.STOCK_S9,
        timeouts=FAST,
    )
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(13.81568)
    assert reading.power_w == pytest.approx(S9_CURVE.power_w(650.0))
    with pytest.raises(MinerUnsupportedError):
        await driver.sleep()
    with pytest.raises(MinerUnsupportedError):
        await driver.wake()
    with pytest.raises(MinerUnsupportedError):
        await driver.set_frequency(600)
    with pytest.raises(MinerUnsupportedError):
        await driver.restart_mining()
    await driver.reboot()
    assert stock.web.requests[-1][:2] == ("GET", "/cgi-bin/reboot.cgi")
    assert stock.api.requests == [b'{"command": "summary+stats"}']


async def test_identify_as_stock_then_driver_learns_it(
    stock: StockS9, session: aiohttp.ClientSession
) -> None:
    driver = AntminerS9Driver(
        "127.0.0.1", session, api_port=stock.api.port, web_port=stock.web.port, timeouts=FAST
    )
    assert driver.capabilities.can_sleep  # assumed Vnish until identified
    identity = await driver.identify()
    assert identity.firmware == "Bitmain stock"
    assert not driver.capabilities.can_sleep


async def test_multi_command_fallback_is_remembered(session: aiohttp.ClientSession) -> None:
    async with StockS9(multi_command=False) as stock:
        driver = AntminerS9Driver(
            "127.0.0.1", session, api_port=stock.api.port, web_port=stock.web.port, timeouts=FAST
        )
        first = await driver.read()
        second = await driver.read()
    assert first.state is second.state is MiningState.MINING
    assert first.hashrate_ths == pytest.approx(13.81568)
    assert driver.multi_command_supported is False
    assert [json.loads(r)["command"] for r in stock.api.requests] == [
        "summary+stats",
        "summary",
        "stats",
        "summary",
        "stats",
    ]


async def test_http_server_without_realm_is_unsupported(session: aiohttp.ClientSession) -> None:
    server = WebStandIn({"/": text_route("<html>router</html>")}, password=None)
    await server.start()
    try:
        found = await identify_miner(
            MinerEndpoint("127.0.0.1", _closed_port(), server.port), session, probe_timeouts=FAST
        )
    finally:
        await server.stop()
    assert found.outcome is ProbeOutcome.UNSUPPORTED
    assert "404" in found.detail or "not found" in found.detail


async def test_foreign_basic_auth_realm_is_unsupported(session: aiohttp.ClientSession) -> None:
    async def basic(_request: web.Request) -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="router"'})

    server = WebStandIn({"/cgi-bin/get_system_info.cgi": basic}, password=None)
    await server.start()
    try:
        found = await identify_miner(
            MinerEndpoint("127.0.0.1", _closed_port(), server.port), session, probe_timeouts=FAST
        )
    finally:
        await server.stop()
    assert found.outcome is ProbeOutcome.UNSUPPORTED
    assert "router" in found.detail


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (reply_bytes("bosminer_version.bin"), "Braiins OS"),
        (
            b'{"STATUS":[{"STATUS":"S","Code":22}],"VERSION":[{"CGMiner":"4.9.2","API":"3.7",'
            b'"Type":"Antminer L3+"}],"id":1}\0',
            "Antminer L3+",
        ),
        (b"HTTP/1.0 400 Bad Request\r\n\r\n", "api"),
    ],
)
async def test_other_api_devices_are_unsupported(
    session: aiohttp.ClientSession, reply: bytes, expected: str
) -> None:
    async def handle(_request: bytes) -> bytes:
        return reply

    api = ApiStandIn(handle)
    await api.start()
    try:
        found = await identify_miner(
            MinerEndpoint("127.0.0.1", api.port, _closed_port()), session, probe_timeouts=FAST
        )
    finally:
        await api.stop()
    assert found.outcome is ProbeOutcome.UNSUPPORTED
    assert expected in found.detail


async def test_nothing_there(session: aiohttp.ClientSession) -> None:
    found = await identify_miner(
        MinerEndpoint("127.0.0.1", _closed_port(), _closed_port()), session, probe_timeouts=FAST
    )
    assert found.outcome is ProbeOutcome.NOTHING


async def test_set_frequency_is_verified(session: aiohttp.ClientSession) -> None:
    conf = web_json("vnish390_miner_conf.json")
    posted: list[str] = []

    async def set_conf(request: web.Request) -> web.Response:
        posted.append(await request.text())
        return web.Response(text="ok\n")  # but the config is never rewritten

    server = WebStandIn(
        {
            "/cgi-bin/get_miner_conf.cgi": json_route(conf),
            "/cgi-bin/set_miner_conf_custom.cgi": set_conf,
        }
    )
    await server.start()
    try:
        driver = AntminerS9Driver(
            "127.0.0.1", session, api_port=_closed_port(), web_port=server.port, timeouts=FAST
        )
        with pytest.raises(MinerProtocolError, match="config says 650"):
            await driver.set_frequency(550)
    finally:
        await server.stop()
    assert len(posted) == 1
    fields = posted[0].split("&")
    assert len(fields) == 50
    assert fields[13] == "_ant_freq=550"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
