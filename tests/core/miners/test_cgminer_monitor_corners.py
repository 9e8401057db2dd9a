"""Corners of the read-only cgminer driver, over real sockets with small stand-ins: a restart
only where the API grants it, btminer's flat refusals, a miner whose API is closed while its
web answers, and the nameplate it is rated by."""

from __future__ import annotations

import json

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners.base import (
    MinerIdentity,
    MinerUnsupportedError,
    MiningState,
    PowerSource,
)
from custom_components.net_stabilization.core.miners.cgminer_monitor import CgminerMonitorDriver
from custom_components.net_stabilization.core.miners.endpoint import Timeouts

from ..conftest import FleetFactory
from .standins import STOCK_SYSTEM_INFO, ApiStandIn, WebStandIn, json_route, stock_api_handler

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5)


def _reply(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode() + b"\0"


def _ok(command: str, **sections: object) -> bytes:
    status = [{"STATUS": "S", "When": 0, "Code": 1, "Msg": command, "Description": "cgminer"}]
    return _reply({"STATUS": status, **sections, "id": 1})


async def test_a_restart_is_sent_only_where_the_api_grants_it(
    session: aiohttp.ClientSession,
) -> None:
    async def grants(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        if command == "check":
            return _ok("check", CHECK=[{"Exists": "Y", "Access": "Y"}])
        return _ok(command)

    server = ApiStandIn(grants)
    await server.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=server.port, web_port=1, timeouts=FAST
        )
        await driver.reboot()
        sent = [json.loads(r)["command"] for r in server.requests]
        assert sent == ["check", "restart"]
        with pytest.raises(MinerUnsupportedError, match="read only"):
            await driver.restart_mining()
        assert len(server.requests) == 2  # nothing more was sent
    finally:
        await server.stop()


async def test_btminers_flat_refusal_counts_as_no_answer(session: aiohttp.ClientSession) -> None:
    stock = stock_api_handler()

    async def flat_refusal(request: bytes) -> bytes:
        if json.loads(request)["command"] == "devdetails":
            return _reply({"STATUS": "E", "Code": 14, "Msg": "invalid cmd"})
        return await stock(request)

    server = ApiStandIn(flat_refusal)
    await server.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=server.port, web_port=1, timeouts=FAST
        )
        assert await driver._optional("devdetails") is None
        assert await driver._optional("version") is not None
    finally:
        await server.stop()


async def test_a_closed_api_with_an_answering_web_reads_asleep_at_its_nameplate(
    session: aiohttp.ClientSession,
) -> None:
    web = WebStandIn({})  # every page is missing: the web server answers, with errors
    await web.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=1, web_port=web.port, timeouts=FAST
        )
        reading = await driver._read_without_api()
        assert reading.online and reading.state is MiningState.SLEEPING
        assert reading.power_source is PowerSource.NAMEPLATE
    finally:
        await web.stop()
    gone = await driver._read_without_api()
    assert not gone.online and gone.state is MiningState.OFFLINE


async def test_a_whatsminer_is_rated_by_its_nameplate(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=["cgminer"])
    miner = fleet.miners[0]
    driver = CgminerMonitorDriver(
        miner.host, session, api_port=miner.api_port, web_port=miner.web_port, timeouts=FAST
    )
    assert driver.rating is None  # nothing known before it said what it is
    await driver.identify()
    assert driver.rating is not None and driver.rating.rated_w > 0


async def test_a_known_miner_whose_web_answers_garbage_reads_asleep_under_its_known_model(
    session: aiohttp.ClientSession,
) -> None:
    """Garbage on the web port still proves the miner is powered; a miner the fleet knew
    before a restart keeps its model while the API says nothing."""

    async def not_http(_request: bytes) -> bytes:
        return b"\x16\x03\x01 not HTTP at all\r\n\r\n"

    garbage = ApiStandIn(not_http)
    await garbage.start()
    known = MinerIdentity(
        mac="02:00:00:00:00:01",
        host="127.0.0.1",
        model="Antminer S19",
        firmware="bmminer",
        firmware_version="",
        hostname=None,
    )
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=1, web_port=garbage.port, timeouts=FAST, identity=known
        )
        reading = await driver._read_without_api()
    finally:
        await garbage.stop()
    assert reading.online and reading.state is MiningState.SLEEPING
    assert reading.model == "Antminer S19"


async def test_a_model_the_api_does_not_name_comes_from_the_web_page(
    session: aiohttp.ClientSession,
) -> None:
    """An API that answers only its summary names no model and no MAC: both come from the web
    page, and the model found there rates the miner."""
    answers_summary_only = stock_api_handler()

    async def summary_only(request: bytes) -> bytes:
        if json.loads(request)["command"] == "summary":
            return await answers_summary_only(request)
        return _reply({"STATUS": [{"STATUS": "E", "Code": 14, "Msg": "Invalid command"}]})

    api = ApiStandIn(summary_only)
    web = WebStandIn({"/cgi-bin/get_system_info.cgi": json_route(STOCK_SYSTEM_INFO)})
    await api.start()
    await web.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=api.port, web_port=web.port, timeouts=FAST
        )
        identity = await driver.identify()
    finally:
        await api.stop()
        await web.stop()
    assert (identity.mac, identity.model) == ("B4:B1:5A:10:20:30", "Antminer S9")
    assert driver.rating is not None
