"""The read-only cgminer driver against the simulated Whatsminer ("cgminer" kind), the simulated
S9 and small stand-ins, over real sockets (nothing mocked)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners.base import (
    MinerProtocolError,
    MinerReading,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
    PowerSource,
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.cgminer import (
    CgminerClient,
    CgminerCommandError,
)
from custom_components.net_stabilization.core.miners.cgminer_models import VNISH, WHATSMINER
from custom_components.net_stabilization.core.miners.cgminer_monitor import (
    CgminerMonitorDriver,
    speaks_cgminer,
)
from custom_components.net_stabilization.core.miners.endpoint import Timeouts
from simulator import Fault
from simulator.cgminer_generic import M30S, BtminerReplies
from simulator.modern import ModernMiner

from ..conftest import FleetFactory
from .replies import reply_bytes
from .standins import STOCK_SYSTEM_INFO, ApiStandIn, WebStandIn, json_route, stock_api_handler

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5)
KIND = "cgminer"
EXACT = {"jitter": 0.0}


def assert_power(miner: ModernMiner, reading: MinerReading) -> None:
    """Reported where the simulated summary carries `Power`; else the M30S nameplate."""
    if BtminerReplies(miner).reports_power:
        assert reading.power_source is PowerSource.REPORTED
        assert reading.power_w == round(miner.power_w)
    else:
        assert reading.power_source is PowerSource.NAMEPLATE
        assert reading.power_w is not None
        if miner.hashing:
            assert 0.9 * M30S.nominal_w < reading.power_w < 1.1 * M30S.nominal_w
        else:
            assert reading.power_w < 100


def driver_for(miner: ModernMiner, session: aiohttp.ClientSession) -> CgminerMonitorDriver:
    return CgminerMonitorDriver(
        miner.host, session, api_port=miner.api_port, web_port=miner.web_port, timeouts=FAST
    )


@pytest.fixture
async def stock_api() -> AsyncIterator[ApiStandIn]:
    server = ApiStandIn(stock_api_handler())
    await server.start()
    yield server
    await server.stop()


async def test_identify_reads_the_mac_from_the_api(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(2, kinds=[KIND] * 2)
    # One summary tells the MAC, the other does not: that one is read from get_miner_info.
    assert [BtminerReplies(m).reports_mac for m in fleet.miners] == [True, False]
    identities = [await driver_for(m, session).identify() for m in fleet.miners]
    assert [i.mac for i in identities] == [m.mac for m in fleet.miners]
    assert len({i.mac for i in identities}) == 2
    first = identities[0]
    assert first.model == "Whatsminer M30S_V20"
    assert first.firmware == f"{WHATSMINER} 20210322.22.REL"
    assert first.firmware_version == "20210322.22.REL"
    assert first.hostname == fleet.miners[0].hostname


async def test_capabilities_are_read_only_at_the_nameplate(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    driver = driver_for(fleet.miners[0], session)
    before = driver.capabilities
    assert before.nominal_w == 0.0  # nothing known before the device told its model
    await driver.identify()
    caps = driver.capabilities
    assert not caps.can_sleep and not caps.can_set_frequency
    assert caps.points.unit is SettingUnit.WATT
    assert caps.nominal_w == 3300.0 and caps.max_w == 3300.0
    assert caps.points.curve.hashrate_ths(caps.nominal_mhz) == 88.0
    assert caps.standby_w == 66.0


async def test_read_a_mining_miner_over_one_connection(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    reading = await driver.read()  # no identify first: the first poll asks who it is
    assert driver.multi_command_supported is True
    assert driver.description == ("Whatsminer M30S_V20", WHATSMINER, "")
    assert reading.online and reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=1e-6)
    assert_power(miner, reading)
    assert reading.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=0.01)
    assert len(reading.chains) == 3 and all(c.chips == 156 for c in reading.chains)
    assert len(reading.fan_rpm) == 2
    assert reading.setting == M30S.nominal_w
    assert reading.model == "Whatsminer M30S_V20"
    again = await driver.read()  # later polls ask only the family's reports
    assert again.state is MiningState.MINING


async def test_read_in_each_state(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND], initial_state="booting", **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)

    booting = await driver.read()  # every port is down while the system boots
    assert not booting.online and booting.state is MiningState.OFFLINE

    await fleet.advance(M30S.boot_s + 10.0)
    starting = await driver.read()
    assert miner.machine_state == "starting"
    assert starting.state is MiningState.STARTING
    assert starting.hashrate_ths == 0
    assert_power(miner, starting)

    await fleet.advance(M30S.start_s + M30S.ramp_s)
    mining = await driver.read()
    assert mining.state is MiningState.MINING
    assert mining.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=1e-6)

    miner.pause()  # as its own power_off would (this driver cannot send it)
    await fleet.advance(M30S.boot_s + M30S.start_s + 1000.0)
    paused = await driver.read()
    assert paused.state is MiningState.SLEEPING
    assert paused.online and paused.hashrate_ths == 0
    assert_power(miner, paused)


async def test_a_miner_paused_from_the_start_sleeps(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND], initial_state="sleeping")
    reading = await driver_for(fleet.miners[0], session).read()
    assert reading.state is MiningState.SLEEPING
    assert_power(fleet.miners[0], reading)


async def test_a_start_that_never_comes_goes_back_to_sleeping(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND], **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    miner.set_fault(Fault.NEVER_STARTS)
    miner.pause()
    miner.resume()
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(M30S.start_s + 1.0)
    assert miner.machine_state == "paused"
    assert (await driver.read()).state is MiningState.SLEEPING


async def test_control_is_refused_and_nothing_is_sent(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    for action in (driver.sleep(), driver.wake(), driver.stop_mining(), driver.apply_setting(3000)):
        with pytest.raises(MinerUnsupportedError, match="read only"):
            await action
    with pytest.raises(MinerUnsupportedError):
        await driver.reboot()  # `check` says restart is not ours to send
    await fleet.advance(600.0)
    assert miner.machine_state == "mining"
    assert miner.target_w == M30S.nominal_w


async def test_the_simulated_firmware_refuses_writes(
    start_fleet: FleetFactory,
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    api = CgminerClient(miner.host, miner.api_port, read_timeout_s=1.0)
    with pytest.raises(CgminerCommandError) as refused:
        await api.command("restart")
    assert refused.value.code == 45
    flat = json.loads((await api.exchange(b'{"cmd":"power_off","respbefore":"true"}'))[:-1])
    assert (flat["STATUS"], flat["Code"], flat["Msg"]) == ("E", 45, "permission denied")
    encrypted = json.loads((await api.exchange(b'{"enc":1,"data":"AAAA"}'))[:-1])
    assert encrypted["Code"] == 135
    with pytest.raises(CgminerCommandError) as unknown:
        await api.command("stats")
    assert unknown.value.code == 14
    assert miner.machine_state == "mining"


async def test_powered_off_miner_reads_offline(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    driver = driver_for(miner, session)
    reading = await driver.read()
    assert not reading.online and reading.state is MiningState.OFFLINE
    with pytest.raises(MinerUnreachableError):
        await driver.identify()


async def test_hanging_and_slow_miners_time_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(2, kinds=[KIND] * 2)
    hanging, slow = fleet.miners
    hanging.set_fault(Fault.OFFLINE, hang=True)
    slow.set_fault(Fault.SLOW, delay_s=2.0)
    await fleet.sync()
    for miner in (hanging, slow):
        with pytest.raises(MinerTimeoutError):
            await driver_for(miner, session).read()
    with pytest.raises(MinerTimeoutError):
        await driver_for(slow, session).identify()


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.GARBAGE])
async def test_truncated_and_garbage_are_protocol_errors(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, fault: Fault
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    miner.set_fault(fault)
    driver = driver_for(miner, session)
    for _ in range(3):
        with pytest.raises(MinerProtocolError):
            await driver.read()
    assert driver.multi_command_supported is None  # a garbled reply says nothing about it
    with pytest.raises(MinerProtocolError):
        await driver.identify()
    miner.clear_fault(fault)
    assert (await driver.read()).state is MiningState.MINING


async def test_overheating_miner_reads_hot(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[KIND])
    miner = fleet.miners[0]
    miner.set_fault(Fault.OVERHEAT)
    await fleet.advance(1800.0)
    reading = await driver_for(miner, session).read()
    assert reading.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=0.01)
    assert reading.chip_temp_c is not None and reading.chip_temp_c > 90


# ------------------------------------------------------------------ other firmwares


async def test_detection_of_a_cgminer_api(start_fleet: FleetFactory) -> None:
    fleet = await start_fleet(2, kinds=[KIND, "vnish_s9"])
    for miner in fleet.miners:
        assert speaks_cgminer(await CgminerClient(miner.host, miner.api_port).command("version"))
    assert speaks_cgminer(
        {"STATUS": "E", "When": 1, "Code": 14, "Msg": "invalid", "Description": ""}
    )
    others = ({"STATUS": "ok"}, {"STATUS": [{"STATUS": "OK"}]}, {"STATUS": "S"}, {"STATUS": {}})
    for other in (None, {}, {"STATUS": [{"STATUS": ["S"]}]}, *others):
        assert not speaks_cgminer(other)


async def test_vnish_s9_identity_comes_from_the_web(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)  # the S9 on Vnish 3.9: no MAC on its API
    miner = fleet.miners[0]
    driver = CgminerMonitorDriver(
        miner.host, session, api_port=miner.api_port, web_port=miner.web_port, timeouts=FAST
    )
    identity = await driver.identify()
    assert identity.mac == miner.mac
    assert (identity.model, identity.firmware) == ("Antminer S9", f"{VNISH} 3.9.0")
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert reading.power_source is PowerSource.REPORTED
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.05)


async def test_a_device_without_a_mac_is_unidentifiable(
    stock_api: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    # The API answers, and nothing answers on the web port.
    driver = CgminerMonitorDriver(
        "127.0.0.1", session, api_port=stock_api.port, web_port=1, timeouts=FAST
    )
    with pytest.raises(MinerProtocolError, match="no MAC address"):
        await driver.identify()
    reading = await driver.read()  # still readable
    assert reading.state is MiningState.MINING
    assert reading.power_source is PowerSource.NAMEPLATE


async def test_stock_web_page_gives_the_mac(
    stock_api: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    web = WebStandIn({"/cgi-bin/get_system_info.cgi": json_route(STOCK_SYSTEM_INFO)})
    await web.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=stock_api.port, web_port=web.port, timeouts=FAST
        )
        identity = await driver.identify()
    finally:
        await web.stop()
    assert identity.mac == "B4:B1:5A:10:20:30"
    assert identity.hostname == "antMiner"
    assert identity.model == "Antminer S9"


async def test_firmware_without_joined_commands_falls_back_once(
    session: aiohttp.ClientSession,
) -> None:
    server = ApiStandIn(stock_api_handler(multi_command=False))
    await server.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=server.port, web_port=1, timeouts=FAST
        )
        first = await driver.read()
        assert driver.multi_command_supported is False
        assert first.hashrate_ths == pytest.approx(13.81568)
        requests = len(server.requests)
        second = await driver.read()
        # summary and stats, one connection each; the refused reports are not asked again.
        assert len(server.requests) - requests == 2
        assert second.state is MiningState.MINING
    finally:
        await server.stop()


async def test_the_api_that_answers_nothing_useful(session: aiohttp.ClientSession) -> None:
    invalid = reply_bytes("unknown_command.bin")

    async def refuse(_request: bytes) -> bytes:
        return invalid

    server = ApiStandIn(refuse)
    await server.start()
    try:
        driver = CgminerMonitorDriver(
            "127.0.0.1", session, api_port=server.port, web_port=1, timeouts=FAST
        )
        with pytest.raises(MinerProtocolError):
            await driver.read()
        with pytest.raises(MinerProtocolError):
            await driver.identify()
        with pytest.raises(MinerUnsupportedError):
            await driver.reboot()
    finally:
        await server.stop()
