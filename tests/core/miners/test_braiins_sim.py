"""The Braiins OS+ driver against the simulator's "braiins" personality and against hostile
stand-ins, over real sockets (nothing of the driver mocked)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

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
from custom_components.net_stabilization.core.miners.braiins import (
    BraiinsDriver,
    is_braiins_version,
)
from custom_components.net_stabilization.core.miners.cgminer import CgminerClient
from custom_components.net_stabilization.core.miners.endpoint import Credentials, Timeouts
from custom_components.net_stabilization.core.miners.firmware import classify_version_reply
from custom_components.net_stabilization.core.miners.http_exchange import MAX_REPLY_BYTES
from simulator import Fault, SimulatedFleet
from simulator.braiins_rest import SPEC
from simulator.modern import ModernMiner

from ..conftest import FleetFactory
from . import braiins_replies as replies

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5, fire_and_forget_s=0.3)
BRAIINS = "braiins"
# The personality's timings with jitter off: boards up 20 s after a resume, ramp 10 s.
START_S, RAMP_S, CHANGE_S, BOOT_S = SPEC.start_s, SPEC.ramp_s, SPEC.change_s, SPEC.boot_s


async def braiins_fleet(
    start_fleet: FleetFactory, count: int = 1, **options: Any
) -> SimulatedFleet:
    options.setdefault("jitter", 0.0)
    return await start_fleet(count, kinds=[BRAIINS] * count, **options)


def driver_for(
    miner: ModernMiner,
    session: aiohttp.ClientSession,
    password: str = "root",
    timeouts: Timeouts = FAST,
) -> BraiinsDriver:
    return BraiinsDriver(
        miner.host,
        session,
        web_port=miner.web_port,
        credentials=Credentials("root", password),
        timeouts=timeouts,
    )


# ------------------------------------------------------------------ identity and reading


async def test_identify_reads_the_identity_and_the_power_target_range(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    identity = await driver.identify()
    assert identity.mac == miner.mac
    assert identity.model == "Antminer S19j Pro"
    assert identity.firmware == "Braiins OS+ 25.07"
    assert identity.firmware_version == "25.07"
    assert identity.hostname == miner.hostname
    assert driver.identity == identity
    caps = driver.capabilities
    assert caps.can_sleep and caps.can_set_frequency
    assert (caps.min_mhz, caps.nominal_mhz, caps.max_mhz) == (1200.0, 3050.0, 3600.0)
    points = caps.points
    assert points.unit is SettingUnit.WATT and points.continuous and points.step == 10.0
    assert not points.wake_reboots and not points.change_stops_hashing
    # The driver's costs are the firmware's timings (here: the personality's).
    assert points.wake_s == START_S + RAMP_S and points.change_s == CHANGE_S
    assert points.curve.hashrate_ths(3050.0) == pytest.approx(SPEC.nominal_ths)


async def test_before_identify_the_capabilities_are_a_typical_miners(
    session: aiohttp.ClientSession,
) -> None:
    driver = BraiinsDriver("192.0.2.1", session)
    assert driver.identity is None
    assert driver.capabilities.points.unit is SettingUnit.WATT
    assert not driver.capabilities.can_set_frequency  # no range known: one level only
    assert driver.capabilities.can_sleep


async def test_read_a_mining_miner(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    reading = await driver.read()
    assert reading.online and reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.01)
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert reading.setting == 3050.0
    assert reading.chip_temp_c == pytest.approx(miner.chip_temp_c, abs=0.2)
    assert reading.frequency_mhz == pytest.approx(miner.frequency_mhz, abs=0.1)
    assert len(reading.fan_rpm) == 4
    assert [c.index for c in reading.chains] == [1, 2, 3]
    assert all(c.chips == 126 for c in reading.chains)
    assert reading.model == "Antminer S19j Pro"
    assert reading.uptime_s is not None and 0 < reading.uptime_s <= miner.uptime_s
    assert driver.missing_endpoints == set()


async def test_read_a_paused_miner(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    reading = await driver_for(miner, session).read()
    assert reading.online and reading.state is MiningState.SLEEPING
    assert reading.hashrate_ths == 0.0
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert reading.power_w == pytest.approx(SPEC.standby_w, rel=0.1)
    assert reading.frequency_mhz is None


async def test_a_booting_miner_reads_offline_then_starting(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="booting")
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    reading = await driver.read()
    assert not reading.online and reading.state is MiningState.OFFLINE
    with pytest.raises(MinerUnreachableError):
        await driver.identify()
    await fleet.advance(BOOT_S + 1.0)
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(START_S + RAMP_S)
    assert (await driver.read()).state is MiningState.MINING


# ------------------------------------------------------------------ control


async def test_pause_and_resume_take_the_firmwares_time(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    await driver.sleep()
    assert miner.machine_state == "paused"
    reading = await driver.read()
    assert reading.state is MiningState.SLEEPING
    assert miner.power_w == pytest.approx(SPEC.standby_w, rel=0.1)
    await driver.sleep()  # already paused: still fine

    await driver.wake()
    await fleet.advance(START_S - 1.0)
    assert (await driver.read()).state is MiningState.STARTING
    assert not miner.hashing
    await fleet.advance(2.0)  # boards up, ramping
    assert miner.hashing
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(RAMP_S)
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert miner.power_w == pytest.approx(SPEC.nominal_w, rel=0.03)
    assert reading.hashrate_ths == pytest.approx(miner.hashrate_ths, rel=0.01)


async def test_stop_mining_while_starting_keeps_it_paused(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.wake()
    await fleet.advance(START_S / 2)
    await driver.stop_mining()
    await fleet.advance(START_S + RAMP_S)
    assert miner.machine_state == "paused"
    assert (await driver.read()).state is MiningState.SLEEPING


async def test_a_start_that_fails_reads_asleep(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    miner.set_fault(Fault.NEVER_STARTS)
    driver = driver_for(miner, session)
    await driver.wake()
    await fleet.advance(START_S + 1.0)
    assert (await driver.read()).state is MiningState.SLEEPING


async def test_a_power_target_applies_while_hashing(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    await driver.apply_setting(2004.0)  # whole watts
    assert miner.target_w == 2004.0
    assert (await driver.read()).setting == 2004.0
    await fleet.advance(CHANGE_S / 2)
    assert miner.hashing  # the change does not stop hashing
    assert SPEC.nominal_w * 0.65 < miner.power_w < SPEC.nominal_w * 0.95
    await fleet.advance(CHANGE_S / 2 + 0.1)
    assert miner.power_w == pytest.approx(2004.0, rel=0.03)
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert reading.power_w == pytest.approx(miner.power_w, abs=1.0)
    assert reading.hashrate_ths == pytest.approx(
        driver.capabilities.points.curve.hashrate_ths(2004.0), rel=0.05
    )


@pytest.mark.parametrize("words_ramp", [True, False])
async def test_the_firmware_says_it_settles_while_it_starts_and_on_its_way_to_a_target(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, words_ramp: bool
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    miner.words_ramp = words_ramp  # whether the tuner says TUNING on the way: varies
    driver = driver_for(miner, session)
    await driver.identify()
    assert (await driver.read()).settling is False  # paused, the tuner stable
    await driver.wake()
    await fleet.advance(START_S / 2)
    assert (await driver.read()).settling is True  # the detailed status: starting
    await fleet.advance(START_S / 2 + RAMP_S / 2)
    assert miner.hashing
    assert (await driver.read()).settling is words_ramp
    await fleet.advance(RAMP_S)
    assert (await driver.read()).settling is False
    await driver.apply_setting(2004.0)
    await fleet.advance(CHANGE_S / 2)
    assert (await driver.read()).settling is words_ramp
    await fleet.advance(CHANGE_S)
    steady = await driver.read()
    assert steady.settling is False and steady.state is MiningState.MINING


async def test_a_target_set_while_paused_is_reached_after_the_resume(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.apply_setting(1500.0)  # the range is read on the way
    assert miner.machine_state == "paused"
    await driver.wake()
    await fleet.advance(START_S + RAMP_S + 0.1)
    assert miner.power_w == pytest.approx(1500.0, rel=0.03)
    assert (await driver.read()).state is MiningState.MINING


@pytest.mark.parametrize("target", [1199.0, 3601.0, 0.0, -5.0, math.nan, math.inf, 1e300])
async def test_targets_outside_the_constraints_are_refused_unsent(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, target: float
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    with pytest.raises(MinerUnsupportedError):
        await driver.apply_setting(target)
    assert miner.target_w == SPEC.nominal_w


async def test_the_simulated_firmware_refuses_a_target_outside_its_range(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    base = f"http://{miner.host}:{miner.web_port}/api/v1"
    login = {"username": "root", "password": "root"}
    async with session.post(f"{base}/auth/login", json=login) as response:
        token = (await response.json())["token"]
    for body in ({"watt": 5000}, {"watt": "2000"}, {"watt": True}, ["watt"]):
        headers = {"authorization": token}
        async with session.put(f"{base}/performance/power-target", json=body, headers=headers) as r:
            assert r.status == 400
    async with session.get(f"{base}/miner/details") as response:
        assert response.status == 401  # no token
    assert miner.target_w == SPEC.nominal_w


async def test_a_reboot_takes_every_port_down_and_the_miner_back_up(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    await driver.reboot()
    assert miner.machine_state == "booting"
    await fleet.sync()
    assert (await driver.read()).state is MiningState.OFFLINE
    await fleet.advance(BOOT_S + 1.0)
    assert (await driver.read()).state is MiningState.STARTING
    await fleet.advance(START_S + RAMP_S)
    assert (await driver.read()).state is MiningState.MINING
    assert driver.rest.logins == 2


# ------------------------------------------------------------------ authentication


async def test_the_token_is_kept_and_renewed_once_the_miner_forgets_it(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    await driver.read()
    assert driver.rest.logins == 1
    await fleet.advance(3000.0)  # used within its lifetime: still valid afterwards
    await driver.read()
    await fleet.advance(3000.0)
    await driver.read()
    assert driver.rest.logins == 1
    await fleet.advance(3601.0)  # idle for longer than its lifetime: expired
    reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert driver.rest.logins == 2


async def test_calls_at_once_share_one_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await asyncio.gather(driver.read(), driver.read(), driver.sleep())
    assert driver.rest.logins == 1
    assert miner.machine_state == "paused"


@pytest.mark.parametrize("how", ["password", "fault"])
async def test_a_wrong_password_is_an_auth_error(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, how: str
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    if how == "fault":
        miner.set_fault(Fault.WRONG_PASSWORD)
    driver = driver_for(miner, session, password="nope" if how == "password" else "root")
    for call in (driver.identify, driver.read, driver.sleep, driver.wake):
        with pytest.raises(MinerAuthError):
            await call()
    assert miner.machine_state == "mining"


async def test_a_password_changed_under_a_live_token_fails_at_the_next_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    miner.set_fault(Fault.WRONG_PASSWORD)
    await driver.read()  # the token still works
    await fleet.advance(3601.0)
    with pytest.raises(MinerAuthError):
        await driver.read()


# ------------------------------------------------------------------ faults


async def test_slow_replies_time_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    miner.set_fault(Fault.SLOW, delay_s=2.0)
    driver = driver_for(miner, session)
    with pytest.raises(MinerTimeoutError):
        await driver.read()


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.TRUNCATED])
async def test_mangled_replies_are_protocol_errors(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, fault: Fault
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    await driver.identify()
    miner.set_fault(fault)
    await fleet.advance(3601.0)  # the next call logs in again, through the fault
    for call in (driver.read, driver.identify, driver.sleep):
        with pytest.raises(MinerProtocolError):
            await call()
    with pytest.raises(MinerProtocolError):
        await driver.apply_setting(2000.0)


async def test_a_miner_without_power_reads_offline(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    miner.set_fault(Fault.OFFLINE)
    await fleet.sync()
    reading = await driver.read()
    assert not reading.online and reading.state is MiningState.OFFLINE
    with pytest.raises(MinerUnreachableError):
        await driver.sleep()


async def test_a_miner_that_accepts_and_never_answers_times_out(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    driver = driver_for(miner, session)
    miner.set_fault(Fault.OFFLINE, hang=True)
    await fleet.sync()
    with pytest.raises(MinerTimeoutError):
        await driver.read()


# ------------------------------------------------------------------ the cgminer-compatible API


async def test_port_4028_tells_the_firmware(start_fleet: FleetFactory) -> None:
    fleet = await braiins_fleet(start_fleet)
    miner = fleet.miners[0]
    api = CgminerClient(miner.host, miner.api_port, connect_timeout_s=1.0, read_timeout_s=1.0)
    version = await api.command("version")
    assert is_braiins_version(version["VERSION"][0])
    assert classify_version_reply(version).firmware == "Braiins OS"
    summary = (await api.command("summary"))["SUMMARY"][0]
    assert summary["MHS 5s"] / 1e6 == pytest.approx(miner.hashrate_ths, rel=0.001)
    devdetails = await api.command("devdetails")
    assert devdetails["DEVDETAILS"][0]["Model"] == "Antminer S19j Pro"
    with pytest.raises(MinerProtocolError, match="Invalid command"):
        await api.command("ascset", "0,freq,600")
    miner.set_fault(Fault.GARBAGE)
    with pytest.raises(MinerProtocolError):
        await api.command("version")


async def test_port_4028_stays_up_while_paused(start_fleet: FleetFactory) -> None:
    fleet = await braiins_fleet(start_fleet, initial_state="sleeping")
    miner = fleet.miners[0]
    api = CgminerClient(miner.host, miner.api_port, connect_timeout_s=1.0, read_timeout_s=1.0)
    assert (await api.command("summary"))["SUMMARY"][0]["MHS 5s"] == 0


# ------------------------------------------------------------------ hostile stand-ins

type Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def _stand_in(route: Route) -> AsyncIterator[tuple[BraiinsDriver, aiohttp.ClientSession]]:
    """A web server answering every request with `route`; a driver pointed at it."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", route)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield BraiinsDriver("127.0.0.1", session, web_port=server.port, timeouts=FAST), session
    finally:
        await server.close()


def _answering(body: bytes, *, status: int = 200, login: bytes | None = None) -> Route:
    """Logs in normally (unless `login` says otherwise), answers `body` everywhere else."""

    async def route(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/auth/login":
            reply = login if login is not None else json.dumps(replies.LOGIN).encode()
            return web.Response(body=reply, content_type="application/json")
        return web.Response(body=body, status=status, content_type="application/json")

    return route


async def _every_call(driver: BraiinsDriver) -> list[BaseException | None]:
    outcomes: list[BaseException | None] = []
    calls: list[Callable[[], Awaitable[object]]] = [
        driver.identify,
        driver.read,
        driver.sleep,
        driver.wake,
        driver.stop_mining,
        lambda: driver.apply_setting(2000.0),
        driver.reboot,
    ]
    for call in calls:
        try:
            await call()
        except Exception as err:  # what escapes is the point of the test
            outcomes.append(err)
        else:
            outcomes.append(None)
    return outcomes


_DEEP = b"[" * 100_000 + b"]" * 100_000
HOSTILE_BODIES = {
    "list": b"[]",
    "deep": _DEEP,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "string": b'"ok"',
    "not-json": b"<html>Braiins</html>",
    "undecodable": b"\xff\xfe\xfd",
    "nan": b'{"watt": NaN, "mac_address": NaN, "tuner_constraints": {"power_target": NaN}}',
    "huge-number": b'{"watt": 1e999, "status": 1' + b"0" * 5000 + b"}",
    "wrong-types": json.dumps(
        {
            "mac_address": 1,
            "hashboards": {"id": 1},
            "fans": "many",
            "miner_stats": [1, 2],
            "tuner_constraints": {"power_target": {"min": {"watt": [1]}, "max": "3600"}},
            "detailed_status": {"status": {"running": None, "stopped": None}},
        }
    ).encode(),
    "good-details-bad-rest": json.dumps(
        {**replies.DETAILS, "hashboards": [None, 1, "x"], "fans": [None]}
    ).encode(),
}


@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
async def test_nothing_but_miner_errors_escape_hostile_bodies(body: bytes) -> None:
    async with _stand_in(_answering(body)) as (driver, _session):
        outcomes = await _every_call(driver)
    assert all(o is None or isinstance(o, MinerError) for o in outcomes), outcomes


@pytest.mark.parametrize("status", [204, 301, 400, 403, 404, 412, 500, 503])
async def test_nothing_but_miner_errors_escape_odd_statuses(status: int) -> None:
    async with _stand_in(_answering(b'{"message": "no"}', status=status)) as (driver, _session):
        outcomes = await _every_call(driver)
    assert all(o is None or isinstance(o, MinerError) for o in outcomes), outcomes


@pytest.mark.parametrize(
    "login",
    [
        b'{"token": "a\\r\\nx: y"}',
        b'{"token": null}',
        b"[]",
        b"{}",
        b'{"token": "' + b"t" * 4096 + b'"}',
    ],
)
async def test_a_login_without_a_usable_token_is_a_protocol_error(login: bytes) -> None:
    async with _stand_in(_answering(json.dumps(replies.DETAILS).encode(), login=login)) as (
        driver,
        _session,
    ):
        with pytest.raises(MinerProtocolError, match=r"token|not an object"):
            await driver.read()


@pytest.mark.parametrize("status", [400, 405, 409, 422])
async def test_a_login_refused_with_any_client_error_is_a_rejected_login(status: int) -> None:
    # A real S19 on Braiins OS answered a REST login with 405.
    async def route(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/auth/login":
            return web.Response(status=status, text="Method Not Allowed")
        return web.json_response(replies.DETAILS)

    async with _stand_in(route) as (driver, _session):
        with pytest.raises(MinerAuthError, match=f"HTTP {status}"):
            await driver.identify()


async def test_a_login_endpoint_that_is_missing_is_unsupported() -> None:
    async def route(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="Not Found")

    async with _stand_in(route) as (driver, _session):
        with pytest.raises(MinerUnsupportedError):
            await driver.identify()


async def test_a_token_refused_after_a_fresh_login_is_an_auth_error() -> None:
    async with _stand_in(_answering(b"{}", status=401)) as (driver, _session):
        with pytest.raises(MinerAuthError, match="fresh login"):
            await driver.read()
        assert driver.rest.logins == 2  # one retry, no more


async def test_a_firmware_without_the_optional_endpoints_still_reads() -> None:
    async def route(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/auth/login":
            return web.json_response(replies.LOGIN)
        if request.path == "/api/v1/miner/details":
            return web.json_response(replies.DETAILS)
        if request.path == "/api/v1/miner/stats":
            return web.json_response({"message": "bosminer is not running"}, status=412)
        return web.json_response({"message": "not found"}, status=404)

    async with _stand_in(route) as (driver, _session):
        await driver.identify()
        assert not driver.capabilities.can_set_frequency  # no constraints: pause and resume
        with pytest.raises(MinerUnsupportedError):
            await driver.apply_setting(2000.0)
        reading = await driver.read()
        await driver.read()
    assert reading.online and reading.state is MiningState.STARTING  # no hashrate known
    assert reading.setting is None and reading.chains == () and reading.fan_rpm == ()
    assert "/api/v1/miner/hw/hashboards" in driver.missing_endpoints
    assert "/api/v1/miner/stats" not in driver.missing_endpoints  # down, not missing


async def test_a_refused_target_is_unsupported_and_a_wrong_echo_a_protocol_error() -> None:
    answers = {"status": 400, "watt": 2000}

    async def route(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/auth/login":
            return web.json_response(replies.LOGIN)
        if request.path == "/api/v1/configuration/constraints":
            return web.json_response(replies.CONSTRAINTS)
        if answers["status"] != 200:
            return web.json_response({"message": "refused"}, status=answers["status"])
        return web.json_response({"watt": answers["watt"]})

    async with _stand_in(route) as (driver, _session):
        with pytest.raises(MinerUnsupportedError, match="refused"):
            await driver.apply_setting(2500.0)
        answers["status"] = 200
        with pytest.raises(MinerProtocolError, match="says 2000"):
            await driver.apply_setting(2500.0)
        answers["watt"] = 2500
        await driver.apply_setting(2500.0)


async def test_a_reply_of_any_size_is_read_only_to_the_bound() -> None:
    sent = 0

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()  # chunked: no length announced
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(2_400):  # 150 MiB if it were all read
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass
        return response

    async with _stand_in(flood) as (driver, _session):
        with pytest.raises(MinerProtocolError, match="larger than"):
            await driver.read()
    assert sent < 100 * MAX_REPLY_BYTES


async def test_an_announced_oversize_reply_is_refused_unread() -> None:
    async def announce(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(MAX_REPLY_BYTES + 1)})
        await response.prepare(request)
        await response.write(b"{")
        return response

    async with _stand_in(announce) as (driver, _session):
        with pytest.raises(MinerProtocolError, match="refused"):
            await driver.identify()
