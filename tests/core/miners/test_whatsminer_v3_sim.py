"""The Whatsminer API v3 reader against the simulated M50 ("whatsminer_v3" kind) and hostile
stand-ins, over real sockets (nothing of our protocol code mocked)."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.miners.base import (
    MinerProtocolError,
    MinerTimeoutError,
    MinerUnsupportedError,
    MiningState,
    PowerSource,
)
from custom_components.net_stabilization.core.miners.drivers import build_driver
from custom_components.net_stabilization.core.miners.endpoint import MinerEndpoint, Timeouts
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.miners.whatsminer_v3 import (
    WhatsminerV3Client,
    WhatsminerV3Driver,
)
from custom_components.net_stabilization.core.miners.whatsminer_v3_parse import (
    NOT_READABLE,
    WhatsminerV3CommandError,
    parse_reply,
)
from simulator import Fault, ManualClock
from simulator.modern import ModernMiner
from simulator.whatsminer_v3 import FIRMWARE_VERSION, M50, V3Replies, token

from ..conftest import FleetFactory
from .standins import ApiStandIn

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5)
KIND = "whatsminer_v3"
HEADER = struct.Struct("<I")


def driver_for(miner: ModernMiner) -> WhatsminerV3Driver:
    return WhatsminerV3Driver(
        miner.host, api_port=miner.api_port, web_port=miner.web_port, timeouts=FAST
    )


def framed(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return HEADER.pack(len(body)) + body


async def stand_in(reply: bytes | None, *, linger_s: float = 0.0) -> ApiStandIn:
    async def answer(_request: bytes) -> bytes | None:
        return reply

    server = ApiStandIn(answer, linger_s=linger_s)
    await server.start()
    return server


@pytest.fixture
async def servers() -> AsyncIterator[list[ApiStandIn]]:
    started: list[ApiStandIn] = []
    yield started
    for server in started:
        await server.stop()


async def test_identify_reads_mac_model_and_firmware_from_device_info(
    start_fleet: FleetFactory,
) -> None:
    fleet = await start_fleet(2, kinds=[KIND] * 2)
    identities = [await driver_for(m).identify() for m in fleet.miners]
    assert [i.mac for i in identities] == [m.mac for m in fleet.miners]
    first = identities[0]
    assert first.model == "Whatsminer M50_VH84"
    assert first.firmware == f"Whatsminer API v3 {FIRMWARE_VERSION}"
    assert first.firmware_version == FIRMWARE_VERSION
    assert first.hostname == fleet.miners[0].hostname


async def test_a_mining_miner_reads_hashrate_temperatures_and_its_power_limit(
    start_fleet: FleetFactory,
) -> None:
    fleet = await start_fleet(6, kinds=[KIND] * 6, jitter=0.0)
    for miner in fleet.miners:
        driver = driver_for(miner)
        await driver.identify()
        reading = await driver.read()
        assert reading.online and reading.state is MiningState.MINING
        assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, abs=0.01)
        assert reading.chip_temp_c is not None and reading.board_temp_c is not None
        assert reading.setting == round(miner.target_w)
        assert len(reading.fan_rpm) == 2
        if V3Replies(miner).reports_power:
            assert reading.power_source is PowerSource.REPORTED
            assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
        else:
            # No power in the summary and no nameplate for the model: not reported.
            assert reading.power_source is PowerSource.NAMEPLATE
            assert reading.power_w is None


async def test_both_spellings_of_the_board_temperature_are_read(
    start_fleet: FleetFactory,
) -> None:
    fleet = await start_fleet(8, kinds=[KIND] * 8)
    spellings = {V3Replies(m).misspelt for m in fleet.miners}
    assert spellings == {True, False}  # the seeded fleet has both
    for miner in fleet.miners:
        assert (await driver_for(miner).read()).board_temp_c is not None


async def test_a_miner_with_its_mining_service_stopped_reads_as_sleeping(
    start_fleet: FleetFactory,
) -> None:
    fleet = await start_fleet(1, kinds=[KIND], initial_state="sleeping")
    reading = await driver_for(fleet.miners[0]).read()
    assert reading.online
    assert reading.state is MiningState.SLEEPING
    assert reading.hashrate_ths == 0.0


async def test_a_miner_that_is_gone_reads_offline(start_fleet: FleetFactory) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    reading = await driver_for(miner).read()
    assert not reading.online and reading.state is MiningState.OFFLINE


async def test_the_reader_never_sends_a_write(start_fleet: FleetFactory) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    driver = driver_for(miner)
    for action in (driver.sleep(), driver.wake(), driver.stop_mining(), driver.reboot()):
        with pytest.raises(MinerUnsupportedError, match="read only"):
            await action
    with pytest.raises(MinerUnsupportedError):
        await driver.apply_setting(3000)
    assert miner.machine_state == "mining"
    assert not driver.capabilities.can_sleep


async def test_the_simulated_firmware_takes_a_signed_service_stop_only(
    start_fleet: FleetFactory,
) -> None:
    """The personality's write path follows the record (token from salt and password)."""
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    client = WhatsminerV3Client(miner.host, miner.api_port)
    salt = (await client.call("get.device.info", "salt"))["salt"]
    unsigned = json.dumps({"cmd": "set.miner.service", "param": "stop"}).encode()
    with pytest.raises(WhatsminerV3CommandError, match="code -1"):
        parse_reply(await client.exchange(HEADER.pack(len(unsigned)) + unsigned), "set")
    assert miner.machine_state == "mining"
    cmd = "set.miner.service"
    request = {
        "cmd": cmd,
        "param": "stop",
        "ts": 1000,
        "account": "super",
        "token": token(cmd, "super", salt, 1000),
    }
    body = json.dumps(request).encode()
    await client.exchange(HEADER.pack(len(body)) + body)
    assert miner.machine_state == "paused"


async def test_an_oversized_reply_is_refused_before_it_is_read(
    servers: list[ApiStandIn],
) -> None:
    server = await stand_in(HEADER.pack(50_000_000) + b"{}")
    servers.append(server)
    client = WhatsminerV3Client("127.0.0.1", server.port, read_timeout_s=1.0)
    with pytest.raises(MinerProtocolError, match="not a Whatsminer"):
        await client.call("get.device.info")


@pytest.mark.parametrize(
    "reply",
    [
        framed([1, 2, 3]),
        framed({"STATUS": "S", "Msg": {}}),
        HEADER.pack(5) + b"{not",
        HEADER.pack(100) + b'{"code":0}',  # cut short
        HEADER.pack(4) + b"[" * 2 + b"]" * 2,
        framed({"code": 0, "msg": {"network": {"mac": ["x"]}}}),
    ],
)
async def test_a_hostile_reply_is_a_protocol_error(servers: list[ApiStandIn], reply: bytes) -> None:
    server = await stand_in(reply)
    servers.append(server)
    driver = WhatsminerV3Driver("127.0.0.1", api_port=server.port, timeouts=FAST)
    with pytest.raises(MinerProtocolError):
        await driver.identify()


async def test_a_silent_port_times_out(servers: list[ApiStandIn]) -> None:
    server = await stand_in(None, linger_s=2.0)
    servers.append(server)
    driver = WhatsminerV3Driver("127.0.0.1", api_port=server.port, timeouts=FAST)
    with pytest.raises(MinerTimeoutError):
        await driver.identify()


async def test_junk_in_the_summary_reads_as_not_reported(servers: list[ApiStandIn]) -> None:
    summary = {
        "hash-realtime": "1e400",
        "power-realtime": -5,
        "chip-temp-max": 255,
        "board-temperature": "hot",
        "fan-speed-in": True,
        "freq-avg": 1e9,
        "elapsed": "x" * 10_000,
        "power-limit": None,
    }
    server = await stand_in(framed({"code": 0, "msg": {"summary": summary}}))
    servers.append(server)
    reading = await WhatsminerV3Driver("127.0.0.1", api_port=server.port, timeouts=FAST).read()
    assert reading.online
    assert reading.hashrate_ths is None
    assert reading.power_w is None and reading.chip_temp_c is None
    assert reading.board_temp_c is None and reading.fan_rpm == ()
    assert reading.frequency_mhz is None and reading.uptime_s is None
    assert reading.setting is None


async def test_a_refused_status_reads_as_a_miner_that_does_not_hash(
    servers: list[ApiStandIn],
) -> None:
    server = await stand_in(framed({"code": -2, "msg": "btminer down", "desc": "x"}))
    servers.append(server)
    reading = await WhatsminerV3Driver("127.0.0.1", api_port=server.port, timeouts=FAST).read()
    assert reading.online and reading.state is MiningState.SLEEPING


async def test_the_driver_is_rebuilt_from_its_stored_kind(start_fleet: FleetFactory) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    async with aiohttp.ClientSession() as session:
        driver = build_driver(
            FirmwareKind.WHATSMINER_V3,
            MinerEndpoint(miner.host, miner.api_port, miner.web_port),
            session,
            timeouts=FAST,
        )
    assert driver.kind == "whatsminer_v3"
    assert (await driver.identify()).mac == miner.mac


# ---------------------------------------------------------------------------- discovery


async def test_a_scan_finds_a_whatsminer_that_speaks_only_api_v3(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND], clock=ManualClock())
    miner = fleet.miners[0]
    shut = MinerEndpoint(miner.host, 1, miner.web_port)  # nothing on the cgminer port
    scanner = Scanner(session, hosts=[shut], whatsminer_v3_port=miner.api_port, probe_timeouts=FAST)
    result = await scanner.scan()
    assert list(result.miners) == [miner.mac]
    found = result.miners[miner.mac]
    assert found.driver.kind == "whatsminer_v3"
    assert found.endpoint.api_port == miner.api_port  # stored, so a restart finds it again
    assert "Whatsminer M50_VH84" in found.description
    reading = await found.driver.read()
    assert reading.state is MiningState.MINING
    assert M50.nominal_ths * 0.5 < (reading.hashrate_ths or 0)


async def test_a_scan_reports_a_v3_miner_it_cannot_read(
    servers: list[ApiStandIn], session: aiohttp.ClientSession
) -> None:
    server = await stand_in(framed({"code": -1, "msg": "api switched off", "desc": ""}))
    servers.append(server)
    scanner = Scanner(
        session,
        hosts=[MinerEndpoint("127.0.0.1", 1, 1)],
        whatsminer_v3_port=server.port,
        probe_timeouts=FAST,
    )
    result = await scanner.scan()
    assert not result.miners
    assert [f.detail for f in result.unsupported] == [
        f"{NOT_READABLE}: get.device.info: api switched off (code -1)"
    ]


async def test_another_service_on_the_v3_port_is_not_claimed(
    servers: list[ApiStandIn], session: aiohttp.ClientSession
) -> None:
    server = await stand_in(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    servers.append(server)
    scanner = Scanner(
        session,
        hosts=[MinerEndpoint("127.0.0.1", 1, 1)],
        whatsminer_v3_port=server.port,
        probe_timeouts=FAST,
    )
    result = await scanner.scan()
    assert not result.miners and not result.unsupported
