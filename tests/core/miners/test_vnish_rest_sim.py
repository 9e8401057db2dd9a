"""The Vnish REST driver against the simulator's `vnish_rest` personality, over real sockets."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners import (
    MinerAuthError,
    MinerError,
    MinerProtocolError,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
    PowerSource,
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials, Timeouts
from custom_components.net_stabilization.core.miners.vnish_rest import (
    RESTART_SEEN_AFTER_S,
    VnishRestDriver,
)
from custom_components.net_stabilization.core.miners.vnish_rest_presets import STANDBY_W
from simulator import Fault, SimulatedFleet
from simulator.vnish_rest_miner import SPEC, TUNED_W, VnishRestMiner

from ..conftest import FleetFactory

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5, config_write_s=2.0, fire_and_forget_s=0.3)
KIND = "vnish_rest"
EXACT = {"jitter": 0.0}
INIT_W = 160.0  # the shared model's draw while the boards initialise


async def start(
    start_fleet: FleetFactory, initial_state: str = "mining"
) -> tuple[SimulatedFleet, VnishRestMiner]:
    fleet = await start_fleet(1, kinds=[KIND], initial_state=initial_state, **EXACT)
    miner = fleet.miners[0]
    assert isinstance(miner, VnishRestMiner)
    return fleet, miner


def driver_for(
    miner: VnishRestMiner, session: aiohttp.ClientSession, password: str | None = None
) -> VnishRestDriver:
    return VnishRestDriver(
        miner.host,
        session,
        web_port=miner.web_port,
        credentials=Credentials(password=password or miner.password),
        timeouts=FAST,
    )


# ------------------------------------------------------------------ identity and login


async def test_identify_reads_identity_and_tuned_presets(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    identity = await driver.identify()
    assert identity.mac == miner.mac
    assert identity.model == "Antminer S19j Pro"
    assert identity.firmware == "Vnish 1.2.6"
    assert identity.firmware_version == "1.2.6"
    assert identity.hostname == miner.hostname
    assert driver.identity == identity
    points = driver.capabilities.points
    assert points.unit is SettingUnit.WATT
    assert points.levels == TUNED_W  # 1100, 3350 and 3600 W are untuned
    assert points.nominal == max(TUNED_W)
    assert points.curve.power_w(1900.0) == 1900.0
    assert points.curve.hashrate_ths(1900.0) == round(SPEC.hashrate_ths(1900.0))  # its text
    assert points.curve.standby_w == STANDBY_W == SPEC.standby_w
    # The costs the planner weighs are the simulated firmware's.
    assert points.wake_s == SPEC.start_s + SPEC.ramp_s
    assert not points.wake_reboots
    assert points.change_s == SPEC.start_s + SPEC.ramp_s
    assert points.change_stops_hashing is SPEC.change_restarts
    assert driver.capabilities.can_sleep and driver.capabilities.can_set_frequency
    assert len(driver.presets) == len(miner.presets)
    assert driver.unlocks == miner.unlocks == 1


async def test_the_web_root_tells_anthillos_without_a_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(2, kinds=[KIND, "vnish_s9"])
    rest, s9 = fleet.miners
    assert await driver_for(rest, session).web_root_is_anthill()
    other = VnishRestDriver(s9.host, session, web_port=s9.web_port, timeouts=FAST)
    assert not await other.web_root_is_anthill()
    assert rest.unlocks == 0
    assert repr(other) == f"VnishRestDriver({other.endpoint})"
    assert other.host == s9.host and other.kind == "vnish_rest"


async def test_one_login_serves_every_call(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.identify()
    for _ in range(3):
        await driver.read()
    assert miner.unlocks == 1


async def test_a_forgotten_token_is_replaced_by_one_new_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.read()
    miner.forget_tokens()  # the firmware restarted its web service
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert miner.unlocks == driver.unlocks == 2
    await driver.sleep()
    assert miner.unlocks == 2
    assert miner.firmware_state == "paused"


async def test_a_forgotten_token_and_a_changed_password_is_an_auth_error(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.read()
    miner.forget_tokens()
    miner.set_fault(Fault.WRONG_PASSWORD)
    with pytest.raises(MinerAuthError):
        await driver.read()


async def test_wrong_password(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    _fleet, miner = await start(start_fleet)
    miner.set_fault(Fault.WRONG_PASSWORD)
    driver = driver_for(miner, session)
    for call in (driver.identify, driver.read, driver.sleep, driver.wake, driver.stop_mining):
        with pytest.raises(MinerAuthError):
            await call()
    with pytest.raises(MinerAuthError):
        await driver.apply_setting(1900.0)
    assert miner.machine_state == "mining"
    assert miner.unlocks == 0


# ------------------------------------------------------------------ reading each state


async def test_read_a_mining_miner(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.identify()
    reading = await driver.read()
    assert reading.online
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.001)
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert reading.power_source is PowerSource.REPORTED
    assert reading.setting == SPEC.nominal_w == 2950.0
    assert reading.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=1.0)
    assert reading.board_temp_c == pytest.approx(max(miner.board_temps()), abs=1.0)
    assert reading.frequency_mhz == pytest.approx(miner.frequency_mhz)
    assert len(reading.fan_rpm) == 4
    assert [c.index for c in reading.chains] == [1, 2, 3]
    assert all(c.chips == 126 and c.hashrate_ths for c in reading.chains)
    assert sum(c.hashrate_ths or 0.0 for c in reading.chains) == pytest.approx(
        miner.hashrate_ths, rel=0.001
    )
    assert reading.uptime_s == miner.mining_uptime_s
    assert reading.model == "Antminer S19j Pro"


@pytest.mark.parametrize("initial_state", ["paused", "sleeping", "stopped"])
async def test_read_a_paused_miner(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, initial_state: str
) -> None:
    _fleet, miner = await start(start_fleet, initial_state)
    reading = await driver_for(miner, session).read()
    assert reading.online
    assert reading.state is MiningState.SLEEPING
    assert reading.power_w == STANDBY_W
    assert reading.power_source is PowerSource.NAMEPLATE
    assert reading.hashrate_ths == 0.0
    assert reading.chip_temp_c is None  # the firmware's 0 °C with the boards off
    assert reading.setting == 2950.0


async def test_read_a_stopped_miner(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.stop_mining()
    assert miner.firmware_state == "stopped"
    assert (await driver.read()).state is MiningState.SLEEPING


async def test_booting_then_starting_then_mining(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet, "booting")
    driver = driver_for(miner, session)
    booting = await driver.read()
    assert not booting.online
    assert booting.state is MiningState.OFFLINE
    await fleet.advance(SPEC.boot_s + 1.0)
    starting = await driver.read()
    assert starting.state is MiningState.STARTING
    assert starting.hashrate_ths == 0.0
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert (await driver.read()).state is MiningState.MINING


async def test_a_failure_reads_as_not_mining_and_says_why(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet, "paused")
    miner.set_fault(Fault.NEVER_STARTS)
    driver = driver_for(miner, session)
    await driver.wake()
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(SPEC.start_s + 1.0)
    assert miner.firmware_state == "failure"
    failed = await driver.read()
    assert failed.state is MiningState.SLEEPING
    assert failed.hashrate_ths == 0.0
    assert driver.last_failure == "hash boards did not start"
    miner.clear_fault(Fault.NEVER_STARTS)
    await driver.wake()  # a failed miner takes a resume
    assert (await driver.read()).state is MiningState.STARTING
    assert driver.last_failure is None


# ------------------------------------------------------------------ control and its timing


async def test_pause_and_resume_timings_on_ground_truth(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    full_w = miner.power_w
    assert full_w > 2800.0
    await driver.sleep()
    assert miner.firmware_state == "paused"  # a pause, not a stop
    assert miner.power_w < 1.1 * STANDBY_W  # at once
    await fleet.advance(600.0)
    assert miner.power_w < 1.1 * STANDBY_W
    await driver.wake()
    await fleet.advance(SPEC.start_s - 1.0)  # boards initialising, nothing hashed yet
    assert miner.hashrate_ths == 0.0
    assert miner.power_w == pytest.approx(INIT_W, rel=0.1)
    await fleet.advance(2.0)  # hashing, ramping towards the preset
    assert miner.hashrate_ths > 0.0
    assert miner.power_w < 0.5 * full_w
    await fleet.advance(SPEC.ramp_s)
    assert miner.power_w == pytest.approx(full_w)
    assert driver.capabilities.points.wake_s == pytest.approx(SPEC.start_s + SPEC.ramp_s)


async def test_sleep_while_the_boards_initialise_falls_back_to_stop(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet, "paused")
    driver = driver_for(miner, session)
    await driver.wake()
    assert miner.machine_state == "starting"
    await driver.sleep()  # the firmware refuses a pause now; a stop holds
    assert miner.firmware_state == "stopped"
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert miner.power_w < 1.1 * STANDBY_W
    await driver.wake()  # a resume is refused after a stop; the driver starts it
    assert miner.machine_state == "starting"
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert miner.hashing


async def test_stop_mining_holds_while_starting_and_wake_starts_again(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet, "booting")
    driver = driver_for(miner, session)
    await fleet.advance(SPEC.boot_s + 1.0)
    assert miner.machine_state == "starting"
    await driver.stop_mining()
    await fleet.advance(300.0)
    assert miner.firmware_state == "stopped"
    assert not miner.hashing
    await driver.wake()
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert miner.hashing


async def test_restart_mining_after_a_stop_initialises_the_boards_again(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.stop_mining()
    assert not miner.hashing
    await driver.restart_mining()
    assert miner.machine_state == "starting"
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert miner.hashing


@pytest.mark.parametrize("restarts", [True, False])
async def test_a_tuned_preset_is_applied_confirmed_and_its_restart_told(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, restarts: bool
) -> None:
    fleet, miner = await start(start_fleet)
    miner.spec = replace(miner.spec, change_restarts=restarts)  # undocumented: both occur
    driver = driver_for(miner, session)
    await driver.identify()
    await fleet.advance(60.0)  # mining for a while before the change
    await driver.apply_setting(1900.0)
    assert miner.preset == "1900"
    assert miner.settings_writes == 1
    assert miner.hashing is not restarts
    assert driver.last_change_restarted is None  # not judged before a reading
    await fleet.advance(driver.capabilities.points.change_s)
    assert miner.hashing
    assert miner.power_w == pytest.approx(1900.0, rel=0.05)
    reading = await driver.read()
    assert reading.setting == 1900.0
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert driver.last_change_restarted is restarts


async def test_a_restart_is_not_judged_too_soon(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet)
    miner.spec = replace(miner.spec, change_restarts=False)
    driver = driver_for(miner, session)
    await driver.apply_setting(1900.0)
    await driver.read()  # at once: a restart might still be on its way
    assert driver.last_change_restarted is None
    await fleet.advance(RESTART_SEEN_AFTER_S)
    await driver.read()
    assert driver.last_change_restarted is False


@pytest.mark.parametrize("words_ramp", [True, False])
async def test_the_firmware_says_it_settles_while_it_starts_and_on_its_way_to_a_preset(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, words_ramp: bool
) -> None:
    fleet, miner = await start(start_fleet, "paused")
    miner.words_ramp = words_ramp  # whether a ramp is worded "auto-tuning": varies
    driver = driver_for(miner, session)
    await driver.identify()
    assert (await driver.read()).settling is False  # paused
    await driver.wake()
    await fleet.advance(SPEC.start_s / 2)
    assert (await driver.read()).settling is True  # "initializing"
    await fleet.advance(SPEC.start_s / 2 + SPEC.ramp_s / 2)
    ramping = await driver.read()
    assert miner.hashing and ramping.settling is words_ramp
    await fleet.advance(SPEC.ramp_s)
    steady = await driver.read()
    assert steady.settling is False and steady.state is MiningState.MINING


async def test_a_preset_reached_while_auto_tuning_is_no_restart(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet)
    miner.spec = replace(miner.spec, change_restarts=False)
    miner.words_ramp = True
    driver = driver_for(miner, session)
    await fleet.advance(60.0)
    await driver.apply_setting(1900.0)
    await fleet.advance(RESTART_SEEN_AFTER_S)
    tuning = await driver.read()
    assert miner.firmware_state == "auto-tuning" and tuning.settling is True
    assert tuning.state is MiningState.STARTING and tuning.hashrate_ths
    assert driver.last_change_restarted is False  # hashing on all along


async def test_a_preset_is_applied_without_identify(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet, "paused")
    driver = driver_for(miner, session)
    await driver.apply_setting(1300.4)  # the nearest whole watt names the preset
    assert miner.preset == "1300"
    assert driver.capabilities.points.levels == TUNED_W
    assert miner.machine_state == "paused"  # a new preset does not wake a paused miner


@pytest.mark.parametrize("watts", [3600.0, 1100.0, 1234.0, 0.0, -5.0, float("nan")])
async def test_untuned_or_unknown_presets_are_refused_before_any_write(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, watts: float
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    with pytest.raises(MinerUnsupportedError):
        await driver.apply_setting(watts)
    assert miner.settings_writes == 0
    assert miner.preset == "2950"


async def test_a_write_the_firmware_silently_ignores_is_caught_by_the_read_back(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    miner.ignore_preset_writes = True
    driver = driver_for(miner, session)
    with pytest.raises(MinerProtocolError, match="ignored"):
        await driver.apply_setting(1900.0)
    assert miner.settings_writes == 1
    assert miner.preset == "2950"
    assert miner.hashing


async def test_sensitive_writes_carry_the_configured_api_key(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    miner.api_key = "k3y-from-the-web-ui"
    keyless = driver_for(miner, session)
    with pytest.raises(MinerAuthError, match="API key, none is configured"):
        await keyless.apply_setting(1900.0)
    assert miner.preset == "2950"
    await keyless.sleep()  # pausing is no sensitive write
    driver = VnishRestDriver(
        miner.host,
        session,
        web_port=miner.web_port,
        credentials=Credentials(password=miner.password, api_key=miner.api_key),
        timeouts=FAST,
    )
    await driver.apply_setting(1900.0)
    assert miner.preset == "1900"
    wrong = VnishRestDriver(
        miner.host,
        session,
        web_port=miner.web_port,
        credentials=Credentials(password=miner.password, api_key="nope"),
        timeouts=FAST,
    )
    with pytest.raises(MinerAuthError, match="the one configured was refused"):
        await wrong.apply_setting(1700.0)


async def test_the_firmware_takes_the_token_raw_as_pyasic_sends_it(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    base = f"http://{miner.host}:{miner.web_port}/api/v1"
    async with session.post(f"{base}/unlock", json={"pw": miner.password}) as resp:
        token = (await resp.json())["token"]
    async with session.get(f"{base}/summary", headers={"Authorization": token}) as resp:
        assert resp.status == 200


async def test_reboot_then_back_with_a_new_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.read()
    await driver.reboot()
    assert miner.machine_state == "booting"
    await fleet.sync()
    assert (await driver.read()).state is MiningState.OFFLINE
    await fleet.advance(SPEC.boot_s + SPEC.start_s + SPEC.ramp_s + 1.0)
    assert (await driver.read()).state is MiningState.MINING
    assert miner.unlocks == 2


# ------------------------------------------------------------------ faults


async def test_offline_miner(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet, miner = await start(start_fleet)
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
    fleet, miner = await start(start_fleet)
    miner.set_fault(Fault.OFFLINE, hang=True)
    await fleet.sync()
    with pytest.raises(MinerTimeoutError):
        await driver_for(miner, session).read()


async def test_slow_miner_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await start(start_fleet)
    driver = driver_for(miner, session)
    await driver.read()  # logged in before the miner slows down
    miner.set_fault(Fault.SLOW, delay_s=2.0)
    with pytest.raises(MinerTimeoutError):
        await driver.read()
    with pytest.raises(MinerTimeoutError):
        await driver.sleep()
    miner.clear_fault(Fault.SLOW)
    assert (await driver.read()).online


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.GARBAGE])
async def test_truncated_and_garbage_are_protocol_errors(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, fault: Fault
) -> None:
    _fleet, miner = await start(start_fleet)
    logged_in = driver_for(miner, session)
    await logged_in.read()
    miner.set_fault(fault)
    for _ in range(3):  # random garbage must never slip through
        with pytest.raises(MinerProtocolError):
            await logged_in.read()
        with pytest.raises(MinerProtocolError):
            await logged_in.identify()
    with pytest.raises(MinerProtocolError):
        await driver_for(miner, session).read()  # the login itself is garbled


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        (Fault.TRUNCATED, {}),
        (Fault.GARBAGE, {}),
        (Fault.WRONG_PASSWORD, {}),
        (Fault.OFFLINE, {}),
        (Fault.OFFLINE, {"hang": True}),
        (Fault.NEVER_STARTS, {}),
    ],
)
async def test_nothing_but_miner_errors_escape(
    start_fleet: FleetFactory,
    session: aiohttp.ClientSession,
    fault: Fault,
    params: dict[str, bool],
) -> None:
    fleet, miner = await start(start_fleet)
    miner.set_fault(fault, **params)
    await fleet.sync()
    driver = driver_for(miner, session)
    calls = [
        driver.identify,
        driver.read,
        driver.sleep,
        driver.wake,
        driver.stop_mining,
        driver.restart_mining,
        lambda: driver.apply_setting(1900.0),
        driver.reboot,
    ]
    for call in calls:
        with suppress(MinerError):
            await call()
