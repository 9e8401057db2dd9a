"""The S9 driver against the shared Vnish simulator, over real sockets (nothing mocked)."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners import (
    MinerAuthError,
    MinerProtocolError,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import Credentials, Timeouts
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault, SimulatedMiner

from ..conftest import FleetFactory

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5, config_write_s=2.0, fire_and_forget_s=0.3)
# Deterministic timing: boot 60 s, bmminer init 8 s, ramp 80 s.
EXACT = {"jitter": 0.0}
BOOT_TO_HASHING_S = 68.0
RAMP_S = 80.0


def driver_for(
    miner: SimulatedMiner, session: aiohttp.ClientSession, password: str = "root"
) -> AntminerS9Driver:
    return AntminerS9Driver(
        miner.host,
        session,
        api_port=miner.api_port,
        web_port=miner.web_port,
        credentials=Credentials("root", password),
        timeouts=FAST,
    )


async def test_read_mining_miner(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    reading = await driver.read()
    assert reading.online
    assert reading.state is MiningState.MINING
    assert driver.multi_command_supported is True
    assert reading.frequency_mhz == pytest.approx(650.0)
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.02)
    assert reading.power_w == pytest.approx(miner.power_w, rel=0.05)
    assert reading.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=1.5)
    assert [c.index for c in reading.chains] == [6, 7, 8]
    assert all(c.chips == 63 and c.power_w for c in reading.chains)
    assert len(reading.fan_rpm) == 2
    assert reading.uptime_s == miner.elapsed_s


async def test_read_without_the_stats_bug(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, stats_brace_bug=False)
    reading = await driver_for(fleet.miners[0], session).read()
    assert reading.state is MiningState.MINING


async def test_booting_then_starting_then_mining(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="booting", **EXACT)
    driver = driver_for(fleet.miners[0], session)
    assert (await driver.read()).state is MiningState.OFFLINE  # both ports down while booting
    await fleet.advance(BOOT_TO_HASHING_S + 10.0)
    ramping = await driver.read()
    assert ramping.state is MiningState.STARTING
    assert ramping.online
    assert ramping.hashrate_ths is not None
    assert ramping.hashrate_ths < 0.5 * S9_CURVE.hashrate_ths(650.0)
    await fleet.advance(RAMP_S)
    assert (await driver.read()).state is MiningState.MINING


async def test_sleeping_miner_reads_as_sleeping(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="sleeping")
    reading = await driver_for(fleet.miners[0], session).read()
    assert reading.online
    assert reading.state is MiningState.SLEEPING
    assert reading.power_w == S9_CURVE.standby_w
    assert reading.hashrate_ths is None


async def test_sleeping_miner_with_wrong_password_still_reads_as_sleeping(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="sleeping")
    reading = await driver_for(fleet.miners[0], session, password="wrong").read()
    assert reading.state is MiningState.SLEEPING


async def test_offline_miner(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    driver = driver_for(miner, session)
    reading = await driver.read()
    assert not reading.online
    assert reading.state is MiningState.OFFLINE
    with pytest.raises(MinerUnreachableError):
        await driver.sleep()
    with pytest.raises(MinerUnreachableError):
        await driver.identify()


async def test_hanging_miner_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(Fault.OFFLINE, hang=True)
    await fleet.sync()
    with pytest.raises(MinerTimeoutError):
        await driver_for(miner, session).read()


async def test_slow_miner_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(Fault.SLOW, delay_s=2.0)
    driver = driver_for(miner, session)
    with pytest.raises(MinerTimeoutError):
        await driver.read()
    with pytest.raises(MinerTimeoutError):
        await driver.sleep()


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.GARBAGE])
async def test_truncated_and_garbage_are_protocol_errors(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, fault: Fault
) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(fault)
    driver = driver_for(miner, session)
    for _ in range(3):  # random garbage must never slip through
        with pytest.raises(MinerProtocolError):
            await driver.read()
    # A garbled reply says nothing about multi-command support.
    assert driver.multi_command_supported is not False
    with pytest.raises(MinerProtocolError):
        await driver.identify()


async def test_wrong_password(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(Fault.WRONG_PASSWORD)
    driver = driver_for(miner, session)
    assert (await driver.read()).state is MiningState.MINING  # the API needs no password
    with pytest.raises(MinerAuthError):
        await driver.sleep()
    with pytest.raises(MinerAuthError):
        await driver.set_frequency(500)
    with pytest.raises(MinerAuthError):
        await driver.identify()
    assert miner.state == "mining"


async def test_dead_board(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    miner.set_fault(Fault.DEAD_BOARD, dead_chain=7)
    reading = await driver_for(miner, session).read()
    chips = {c.index: c.chips for c in reading.chains}
    assert chips == {6: 63, 7: 0, 8: 63}
    dead = reading.chains[1]
    assert dead.chip_temp_c is None
    assert not dead.hashrate_ths
    assert dead.power_w == 0
    assert reading.state is MiningState.MINING  # the two live boards hash at full speed
    assert reading.power_w == pytest.approx(miner.power_w, rel=0.05)
    assert reading.power_w is not None
    assert reading.power_w < 0.75 * S9_CURVE.power_w(650.0)


async def test_overheat(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    normal = await driver_for(miner, session).read()
    miner.set_fault(Fault.OVERHEAT)
    await fleet.advance(600.0)
    hot = await driver_for(miner, session).read()
    assert normal.chip_temp_c is not None
    assert hot.chip_temp_c is not None
    assert hot.chip_temp_c > 95.0 > normal.chip_temp_c
    assert hot.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=1.5)
    assert hot.board_temp_c is not None
    assert hot.board_temp_c < hot.chip_temp_c


async def test_sleep_then_wake(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1, **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.sleep()
    assert miner.state == "sleeping"
    asleep = await driver.read()
    assert asleep.state is MiningState.SLEEPING
    assert asleep.power_w == S9_CURVE.standby_w

    await driver.wake()  # a full reboot on Vnish 3.9
    await fleet.sync()
    assert miner.state == "booting"
    assert (await driver.read()).state is MiningState.OFFLINE
    await fleet.advance(BOOT_TO_HASHING_S + 1.0)
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(RAMP_S)
    awake = await driver.read()
    assert awake.state is MiningState.MINING
    assert awake.power_w == pytest.approx(miner.power_w, rel=0.05)


async def test_wake_that_never_starts(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="sleeping", **EXACT)
    miner = fleet.miners[0]
    miner.set_fault(Fault.NEVER_STARTS)
    driver = driver_for(miner, session)
    await driver.wake()
    await fleet.advance(BOOT_TO_HASHING_S + RAMP_S)
    # The web is up but bmminer is not: indistinguishable from sleep for the driver.
    assert (await driver.read()).state is MiningState.SLEEPING


async def test_restart_mining_after_bmminer_stopped(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, **EXACT)
    miner = fleet.miners[0]
    miner.stop_bmminer()
    await fleet.sync()
    driver = driver_for(miner, session)
    assert (await driver.read()).state is MiningState.SLEEPING
    # reboot_cgminer.cgi holds the reply while bmminer restarts: a timeout counts as sent.
    await driver.restart_mining()
    assert miner.machine_state == "restarting"
    await fleet.advance(8.0 + RAMP_S + 1.0)
    assert (await driver.read()).state is MiningState.MINING


async def test_set_frequency_round_trip(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    before = miner.config_text
    await driver.set_frequency(500.4)
    await fleet.sync()
    assert miner.machine_state == "restarting"
    assert '"bitmain-freq" : "500"' in miner.config_text
    # Only the frequency line changed.
    changed = [
        (a, b)
        for a, b in zip(before.splitlines(), miner.config_text.splitlines(), strict=True)
        if a != b
    ]
    assert len(changed) == 1
    assert "bitmain-freq" in changed[0][1]
    await fleet.advance(8.0 + RAMP_S + 1.0)
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert reading.frequency_mhz == pytest.approx(500.0)
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.02)
    assert reading.power_w == pytest.approx(miner.power_w, rel=0.05)
    assert reading.power_w == pytest.approx(S9_CURVE.power_w(500.0), rel=0.06)


async def test_set_frequency_outside_the_curve(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)
    driver = driver_for(fleet.miners[0], session)
    for mhz in (200.0, 900.0):
        with pytest.raises(MinerUnsupportedError):
            await driver.set_frequency(mhz)
    assert fleet.miners[0].state == "mining"


async def test_reboot(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1, **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.reboot()
    await fleet.sync()
    assert miner.machine_state == "booting"
    await fleet.advance(BOOT_TO_HASHING_S + RAMP_S + 1.0)
    assert (await driver.read()).state is MiningState.MINING


async def test_identify(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    identity = await driver.identify()
    assert identity.mac == miner.mac
    assert identity.host == miner.host
    assert identity.model == "Antminer S9"
    assert identity.firmware == "Vnish 3.9.0"
    assert identity.firmware_version == "3.9.0"
    assert identity.hostname == miner.hostname
    assert driver.identity == identity
    assert driver.firmware is FirmwareKind.VNISH_S9
    caps = driver.capabilities
    assert caps.can_sleep
    assert caps.can_set_frequency
    assert (caps.min_mhz, caps.max_mhz, caps.nominal_mhz) == (350.0, 800.0, 650.0)
    assert caps.nominal_w == S9_CURVE.nominal_w
    assert caps.standby_w == S9_CURVE.standby_w


async def test_orders_are_signed_up_front_after_the_first_challenge(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(2, initial_state="mining")
    drivers = [driver_for(m, session) for m in fleet.miners]
    for driver in drivers:
        await driver.identify()  # the one challenge per miner
    assert fleet.auth_challenges == 2
    for driver in drivers:
        await driver.sleep()
        await driver.sleep()
        await driver.wake()
    assert fleet.auth_challenges == 2  # every order one round trip


async def test_the_poll_of_a_sleeping_miner_readies_its_first_order(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    """A sleeping S9 is polled through its web root, whose answer is the login challenge:
    taken there, the first wake after a scan is one round trip, not a refusal and a retry."""
    fleet = await start_fleet(2, initial_state="sleeping")
    drivers = [driver_for(m, session) for m in fleet.miners]
    for driver in drivers:
        await driver.read()
    assert fleet.auth_challenges == 2  # the polls' own, unsigned by nature
    for driver in drivers:
        await driver.wake()
    assert fleet.auth_challenges == 2
    assert all(m.state == "booting" for m in fleet.miners)


async def test_stop_mining_stops_the_starting_mining_software(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, initial_state="booting", **EXACT)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    with pytest.raises(MinerUnreachableError):
        await driver.stop_mining()  # booting: the web is down
    await fleet.advance(61)
    assert miner.state == "restarting"  # web up, bmminer initialising: sleep is unheard
    await driver.sleep()
    await fleet.advance(1)
    assert miner.state == "restarting"
    await driver.stop_mining()
    await fleet.advance(30)
    assert miner.state == "stopped"
