"""The LuxOS driver against the simulated S19j Pro on LuxOS, over real sockets (nothing mocked)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

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
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.endpoint import Timeouts
from custom_components.net_stabilization.core.miners.luxos import (
    CHANGE_S,
    STANDBY_W,
    WAKE_S,
    LuxosDriver,
    LuxosSessionBusyError,
)
from simulator import Fault
from simulator.luxos_miner import PROFILES, SESSION_IDLE_S, SPEC, LuxosMiner

from ..conftest import FleetFactory
from .standins import ApiStandIn

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5, fire_and_forget_s=0.3)
EXACT = {"kinds": ["luxos"], "jitter": 0.0}
LEVELS = tuple(p.watts for p in PROFILES)
DEFAULT_W = SPEC.nominal_w
WAKE_TO_FULL_S = SPEC.start_s + SPEC.ramp_s


def driver_for(miner: Any, session: aiohttp.ClientSession) -> LuxosDriver:
    return LuxosDriver(miner.host, session, api_port=miner.api_port, timeouts=FAST)


async def one_miner(start_fleet: FleetFactory, **options: Any) -> tuple[Any, LuxosMiner]:
    fleet = await start_fleet(1, **{**EXACT, **options})
    miner: LuxosMiner = fleet.miners[0]
    return fleet, miner


# ---------------------------------------------------------------- identity and reading


async def test_identify_reads_identity_and_profiles(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    driver = driver_for(miner, session)
    before = driver.capabilities
    assert before.can_sleep and not before.can_set_frequency  # no profiles known yet
    identity = await driver.identify()
    assert identity.mac == miner.mac
    assert identity.model == "Antminer S19j Pro"
    assert identity.firmware.startswith("LuxOS 2025.")
    assert identity.hostname == miner.hostname
    assert driver.identity == identity
    caps = driver.capabilities
    assert caps.can_sleep and caps.can_set_frequency
    points = caps.points
    assert points.unit is SettingUnit.WATT
    assert points.levels == LEVELS
    assert points.nominal == DEFAULT_W
    assert points.curve.hashrate_ths(DEFAULT_W) == pytest.approx(SPEC.nominal_ths, rel=0.01)
    assert caps.standby_w == STANDBY_W
    assert points.wake_s >= WAKE_TO_FULL_S and not points.wake_reboots
    assert points.change_s >= SPEC.change_s and not points.change_stops_hashing


async def test_identify_refuses_a_miner_that_is_not_luxos(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1)  # an S9 on Vnish
    with pytest.raises(MinerUnsupportedError):
        await driver_for(fleet.miners[0], session).identify()


async def test_read_mining_miner(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    _fleet, miner = await one_miner(start_fleet)
    driver = driver_for(miner, session)
    reading = await driver.read()
    assert driver.poll_form == (True, True)  # one connection, events included
    assert reading.online
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.01)
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert reading.setting == DEFAULT_W
    assert reading.frequency_mhz == 545.0
    assert reading.board_temp_c == pytest.approx(max(miner.board_temps()) + 2.0, abs=1.0)
    assert len(reading.fan_rpm) == 4
    assert reading.uptime_s == miner.uptime_s
    assert driver.capabilities.can_set_frequency  # the read loaded the profiles


async def test_read_in_every_state(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet, initial_state="booting")
    driver = driver_for(miner, session)
    assert (await driver.read()).state is MiningState.OFFLINE  # the port is shut while booting
    await fleet.advance(SPEC.boot_s + 1.0)
    initialising = await driver.read()
    assert initialising.state is MiningState.STARTING
    assert initialising.hashrate_ths == 0.0
    await fleet.advance(SPEC.start_s + SPEC.ramp_s / 4)
    ramping = await driver.read()
    assert ramping.state is MiningState.STARTING
    assert ramping.hashrate_ths
    await fleet.advance(SPEC.ramp_s)
    assert (await driver.read()).state is MiningState.MINING
    await driver.sleep()
    asleep = await driver.read()
    assert asleep.state is MiningState.SLEEPING
    assert asleep.power_w == pytest.approx(miner.power_w, abs=1.0)
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    offline = await driver.read()
    assert not offline.online and offline.state is MiningState.OFFLINE


async def test_a_curtailed_miner_reads_as_sleeping(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet, initial_state="sleeping")
    reading = await driver_for(miner, session).read()
    assert reading.state is MiningState.SLEEPING
    assert reading.hashrate_ths == 0.0
    assert reading.power_w is not None and reading.power_w < 40.0
    assert reading.setting == DEFAULT_W


# ---------------------------------------------------------------- curtailment


async def test_sleep_drops_to_standby_at_once(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    assert miner.power_w > 3000.0
    await driver_for(miner, session).sleep()
    assert miner.power_w < 40.0  # ground truth, no simulated time passed
    assert miner.hashrate_ths == 0.0
    assert miner.curtailed


async def test_wake_reaches_full_power_within_the_drivers_wake_time(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet, initial_state="sleeping")
    driver = driver_for(miner, session)
    await driver.wake()
    await fleet.advance(SPEC.start_s - 0.5)
    assert miner.hashrate_ths == 0.0  # boards powering up
    assert miner.power_w < 500.0
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(WAKE_TO_FULL_S - SPEC.start_s + 0.5)
    assert miner.power_w == pytest.approx(DEFAULT_W, rel=0.05)
    assert WAKE_TO_FULL_S <= WAKE_S
    assert (await driver.read()).state is MiningState.MINING


async def test_stop_mining_while_starting_holds_through_a_reboot(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet, initial_state="sleeping")
    driver = driver_for(miner, session)
    await driver.wake()
    await fleet.advance(1.0)
    await driver.stop_mining()  # boards still initialising
    assert miner.machine_state == "paused"
    await driver.reboot()
    await fleet.sync()
    assert miner.machine_state == "booting"
    with pytest.raises(MinerUnreachableError):
        await driver.wake()
    await fleet.advance(SPEC.boot_s + WAKE_TO_FULL_S)
    assert miner.power_w < 40.0  # LuxOS keeps the curtailment across the reboot
    assert (await driver.read()).state is MiningState.SLEEPING
    logons = miner.logons
    await driver.wake()  # the reboot ended the session: logged on again
    assert miner.logons == logons + 1
    await fleet.advance(WAKE_TO_FULL_S)
    assert miner.power_w == pytest.approx(DEFAULT_W, rel=0.05)


# ---------------------------------------------------------------- session


async def test_each_change_logs_on_and_off_again(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    driver = driver_for(miner, session)
    await driver.sleep()
    assert miner.curtailed
    assert miner.logons == 1
    assert miner.session_id == ""  # logged off: the next actor may log on at once
    await driver.apply_setting(LEVELS[0])  # ATM off and the profile: one session
    assert miner.logons == 2 and miner.session_id == ""
    await driver.wake()
    assert miner.logons == 3 and miner.session_id == ""
    assert miner.logon() is not None


async def test_a_change_goes_through_whatever_the_miner_words_a_lapsed_session(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(8, kinds=["luxos"] * 8, jitter=0.0)
    wordings = set()
    for miner in fleet.miners:
        driver = driver_for(miner, session)
        other = miner.logon()  # another tool, whose session lapses while we borrow it
        assert other
        await driver.session.ensure()
        assert driver.session.borrowed
        await fleet.advance(SESSION_IDLE_S + 1.0)
        wordings.add(miner.names_stale_session)
        await driver.sleep()
        assert miner.curtailed
        assert miner.session_id == ""  # the session it opened was logged off
    assert wordings == {True, False}


async def test_another_actors_session_is_borrowed_and_left_alone(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    other = miner.logon()  # e.g. the web UI or another tool
    assert other
    driver = driver_for(miner, session)
    await driver.sleep()
    assert miner.curtailed
    assert miner.session_id == other  # not ours to end
    await driver.logoff()
    assert miner.session_id == other


async def test_logoff_ends_our_own_session(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    driver = driver_for(miner, session)
    await driver.session.ensure()
    assert miner.session_id and not driver.session.borrowed
    await driver.logoff()
    assert miner.session_id == ""
    assert miner.logon() is not None  # free for the next actor


# ---------------------------------------------------------------- profiles


async def test_profile_change_turns_atm_off_and_keeps_hashing(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet)
    driver = driver_for(miner, session)
    assert miner.atm_enabled
    await driver.apply_setting(2700.0)
    assert not miner.atm_enabled
    assert miner.profile.name == "495MHz"
    assert miner.hashing  # no restart: the boards step down while hashing
    await fleet.advance(CHANGE_S / 2)
    assert 2700.0 < miner.power_w < DEFAULT_W
    await fleet.advance(CHANGE_S / 2)
    assert miner.power_w == pytest.approx(2700.0, rel=0.05)
    reading = await driver.read()
    assert reading.setting == 2700.0
    assert reading.state is MiningState.MINING
    await driver.apply_setting(LEVELS[-1])  # ATM already off: straight to the profile
    assert miner.profile.name == "570MHz"


async def test_profile_change_while_curtailed_applies_at_wakeup(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet, initial_state="sleeping")
    driver = driver_for(miner, session)
    await driver.apply_setting(LEVELS[0])
    assert miner.power_w < 40.0
    await driver.wake()
    await fleet.advance(WAKE_TO_FULL_S)
    assert miner.power_w == pytest.approx(LEVELS[0], rel=0.05)


@pytest.mark.parametrize("watts", [2600.0, 0.0, -1.0, math.nan, math.inf, 1e12])
async def test_watts_of_no_profile_are_refused(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, watts: float
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    with pytest.raises(MinerUnsupportedError):
        await driver_for(miner, session).apply_setting(watts)
    assert miner.profile.name == "default"
    assert miner.atm_enabled  # nothing was touched


# ---------------------------------------------------------------- faults


async def test_slow_miner_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    miner.set_fault(Fault.SLOW, delay_s=2.0)
    driver = driver_for(miner, session)
    with pytest.raises(MinerTimeoutError):
        await driver.read()
    with pytest.raises(MinerTimeoutError):
        await driver.sleep()


async def test_hanging_miner_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, miner = await one_miner(start_fleet)
    miner.set_fault(Fault.OFFLINE, hang=True)
    await fleet.sync()
    with pytest.raises(MinerTimeoutError):
        await driver_for(miner, session).read()


async def test_offline_miner(start_fleet: FleetFactory, session: aiohttp.ClientSession) -> None:
    fleet, miner = await one_miner(start_fleet)
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    driver = driver_for(miner, session)
    assert (await driver.read()).state is MiningState.OFFLINE
    for action in (driver.sleep, driver.wake, driver.identify):
        with pytest.raises(MinerUnreachableError):
            await action()


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.GARBAGE])
async def test_truncated_and_garbage_are_protocol_errors(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, fault: Fault
) -> None:
    _fleet, miner = await one_miner(start_fleet)
    miner.set_fault(fault)
    driver = driver_for(miner, session)
    for _ in range(3):  # random garbage must never slip through
        with pytest.raises(MinerProtocolError):
            await driver.read()
    assert driver.poll_form == (True, True)  # a garbled reply refuses no form
    with pytest.raises(MinerProtocolError):
        await driver.identify()
    with pytest.raises(MinerProtocolError):
        await driver.sleep()
    assert not miner.curtailed


# ---------------------------------------------------------------- hostile or odd firmware


def luxos_status(code: int, msg: str, kind: str = "S") -> list[dict[str, Any]]:
    return [{"Code": code, "Description": "LUXminer 1", "Msg": msg, "STATUS": kind, "When": 0}]


def reply(obj: dict[str, Any]) -> bytes:
    return json.dumps({**obj, "id": 1}).encode() + b"\0"


@asynccontextmanager
async def serving(handler: Callable[[bytes], Awaitable[bytes | None]]) -> AsyncIterator[ApiStandIn]:
    stand_in = ApiStandIn(handler)
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


async def test_an_oversized_reply_is_cut_off(session: aiohttp.ClientSession) -> None:
    async def flood(_request: bytes) -> bytes:
        return b'{"STATUS":[' + b" " * (4 << 20)  # 4 MiB, no end in sight

    async with serving(flood) as stand_in:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        with pytest.raises(MinerProtocolError, match="larger than"):
            await driver.read()


async def test_no_shared_session_is_a_typed_error(session: aiohttp.ClientSession) -> None:
    async def busy(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        if command == "logon":
            return reply({"STATUS": luxos_status(402, "Another session is active", "E")})
        return reply({"SESSION": [{"SessionID": ""}], "STATUS": luxos_status(319, "Session")})

    async with serving(busy) as stand_in:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        with pytest.raises(LuxosSessionBusyError) as caught:
            await driver.sleep()
    assert isinstance(caught.value, MinerAuthError)


async def test_old_firmware_is_polled_one_command_at_a_time(
    session: aiohttp.ClientSession,
) -> None:
    """No multi-command and no `events`: the driver settles on single commands."""
    sections: dict[str, dict[str, Any]] = {
        "summary": {"SUMMARY": [{"GHS 5s": 0, "Elapsed": 5}]},
        "temps": {"TEMPS": []},
        "fans": {"FANS": []},
        "power": {"POWER": [{"Watts": 22}]},
        "config": {"CONFIG": [{"Profile": "default"}]},
        "profiles": {"PROFILES": [{"Profile Name": "default", "Watts": 3000, "Hashrate": 100}]},
    }

    async def old(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        if command in sections:
            return reply({**sections[command], "STATUS": luxos_status(1, command)})
        return reply({"STATUS": luxos_status(14, "Invalid command", "E")})

    async with serving(old) as stand_in:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        reading = await driver.read()
        assert driver.poll_form == (False, False)
        assert reading.state is MiningState.SLEEPING  # no hashing, PSU output off
        assert reading.setting == 3000.0
        requests = len(stand_in.requests)
        await driver.read()
        assert len(stand_in.requests) - requests == 5  # no more failed attempts


async def test_a_profile_that_does_not_take_is_an_error(session: aiohttp.ClientSession) -> None:
    profiles = [
        {"Profile Name": "default", "Watts": 3000, "Hashrate": 100},
        {"Profile Name": "low", "Watts": 2000, "Hashrate": 70},
    ]
    answers: dict[str, dict[str, Any]] = {
        "profiles": {"PROFILES": profiles},
        "logon": {"SESSION": [{"SessionID": "s1"}]},
        "atm": {"ATM": [{"Enabled": False}]},
        "profileset": {"PROFILE": [{"Profile": "low"}]},
        "config": {"CONFIG": [{"Profile": "default"}]},  # it did not change
    }

    async def stubborn(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        return reply({**answers.get(command, {}), "STATUS": luxos_status(1, command)})

    async with serving(stubborn) as stand_in:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        with pytest.raises(MinerProtocolError, match="runs default"):
            await driver.apply_setting(2000.0)
        sent = [json.loads(r) for r in stand_in.requests]
    assert {"command": "profileset", "parameter": "s1,low"} in sent
    assert not any(r["command"] == "atmset" for r in sent)  # ATM was off already


async def test_a_reboot_that_goes_unanswered_was_delivered(
    session: aiohttp.ClientSession,
) -> None:
    silent: set[str] = {"rebootdevice"}

    async def rebooting(request: bytes) -> bytes | None:
        command = json.loads(request)["command"]
        if command in silent:
            return None  # taken, and the box goes down before it answers
        return reply({"SESSION": [{"SessionID": "s1"}], "STATUS": luxos_status(316, "ok")})

    stand_in = ApiStandIn(rebooting, linger_s=FAST.api_read_s * 3)
    await stand_in.start()
    try:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        await driver.reboot()
        assert json.loads(stand_in.requests[-1])["command"] == "rebootdevice"
        silent.add("logon")  # without a session nothing was sent: that is a failure
        with pytest.raises(MinerTimeoutError):
            await LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST).reboot()
    finally:
        await stand_in.stop()


HOSTILE: list[bytes] = [
    b"",
    b"\0",
    b"[" * 100_000 + b"\0",
    b'"a string"\0',
    b"[1, 2, 3]\0",
    b'{"STATUS": "S"}\0',
    b'{"STATUS": [{"STATUS": "E", "Code": "x", "Msg": null}]}\0',
    reply({"SESSION": [{"SessionID": None}], "PROFILES": [[], None, 1], "VERSION": [[]]}),
    reply({"SESSION": "x", "PROFILES": {"a": 1}, "CONFIG": [{"MACAddr": 5}], "ATM": [1]}),
    reply({"summary": [1], "temps": None, "fans": [[]], "power": "", "config": [{}]}),
    b"\xff\xfe\x00\x01garbage",
    reply({"VERSION": [{"LUXminer": "1", "Type": "x" * 100_000}], "CONFIG": [{"MACAddr": "x"}]}),
]


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
async def test_nothing_but_miner_errors_escape(
    session: aiohttp.ClientSession, payload: bytes
) -> None:
    async def hostile(_request: bytes) -> bytes:
        return payload

    async with serving(hostile) as stand_in:
        driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
        actions: list[Callable[[], Awaitable[object]]] = [
            driver.identify,
            driver.read,
            driver.sleep,
            driver.wake,
            driver.stop_mining,
            driver.reboot,
            driver.logoff,
            lambda: driver.apply_setting(3000.0),
        ]
        for action in actions:
            with suppress(MinerError):  # anything else fails the test
                await action()
