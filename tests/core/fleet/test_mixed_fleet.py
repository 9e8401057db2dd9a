"""A mixed fleet end to end on simulated time: discovery picks each firmware's driver, the
planner dispatches every kind at once, safety reaches every kind. Judged on ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    MinerState,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials, MinerEndpoint
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.miners.identify import ProbeOutcome, identify_miner
from simulator import Fault, ManualClock, SimulatedFleet

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
KINDS = ["vnish_s9", "braiins", "luxos", "vnish_rest", "cgminer", "vnish_s9", "braiins"]
DRIVER_OF = {
    "vnish_s9": FirmwareKind.VNISH_S9,
    "braiins": FirmwareKind.BRAIINS,
    "luxos": FirmwareKind.LUXOS,
    "vnish_rest": FirmwareKind.VNISH_REST,
    "cgminer": FirmwareKind.MONITOR,
}
CONFIG = ControlConfig(wake_start_timeout_s=150.0, wake_timeout_s=300.0)
HASHING = ("mining", "ramping")


@dataclass
class MixedRig:
    fleet: SimulatedFleet
    controller: FleetController

    async def step(self) -> None:
        await self.fleet.advance(POLL_S)
        await self.controller.poll()
        await self.controller.wait_idle()
        await self.fleet.sync()

    async def run(self, seconds: float) -> None:
        for _ in range(round(seconds / POLL_S)):
            await self.step()

    def hashing(self, kind: str) -> list[bool]:
        return [
            m.state in HASHING for m, k in zip(self.fleet.miners, KINDS, strict=True) if k == kind
        ]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def fleet() -> AsyncIterator[SimulatedFleet]:
    sim = SimulatedFleet(
        count=len(KINDS), clock=ManualClock(), seed=3, kinds=KINDS, initial_state="sleeping"
    )
    await sim.start()
    yield sim
    await sim.stop()


async def discover(fleet: SimulatedFleet, session: aiohttp.ClientSession) -> list[object]:
    return [
        await identify_miner(
            MinerEndpoint(m.host, m.api_port, m.web_port),
            session,
            credentials=Credentials("root", "root"),
        )
        for m in fleet.miners
    ]


async def test_discovery_finds_each_firmware_and_its_driver(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    found = await discover(fleet, session)
    for m, kind, result in zip(fleet.miners, KINDS, found, strict=True):
        assert result.outcome is ProbeOutcome.MINER, (kind, result.detail)
        assert result.driver is not None and result.identity is not None
        assert result.driver.kind == DRIVER_OF[kind].value, kind
        assert result.identity.mac == m.mac
        caps = result.driver.capabilities
        # Only the monitored kind is read-only; every other one can be slept and woken.
        assert caps.can_sleep is (kind != "cgminer"), kind


async def test_a_wrong_password_on_a_rest_firmware_is_an_auth_failure(
    session: aiohttp.ClientSession,
) -> None:
    sim = SimulatedFleet(count=1, clock=ManualClock(), kinds=["braiins"], password="secret")
    async with sim:
        m = sim.miners[0]
        result = await identify_miner(
            MinerEndpoint(m.host, m.api_port, m.web_port),
            session,
            credentials=Credentials("root", "wrong"),
        )
    assert result.outcome is ProbeOutcome.AUTH_FAILED


@pytest.fixture
async def rig(fleet: SimulatedFleet, session: aiohttp.ClientSession) -> AsyncIterator[MixedRig]:
    clock = fleet.clock
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), config=CONFIG, mode=PowerMode.FREQUENCY
    )
    for result in await discover(fleet, session):
        assert result.driver is not None
        controller.add_miner(result.driver)
    await controller.poll()
    yield MixedRig(fleet, controller)
    await controller.close()


async def test_rated_power_counts_every_controllable_kind_and_no_monitored_one(
    rig: MixedRig,
) -> None:
    snapshot = rig.controller.snapshot
    by_driver = {m.driver: m for m in snapshot.miners}
    monitored = by_driver[FirmwareKind.MONITOR.value]
    assert not monitored.dispatchable
    expected = sum(m.nominal_w for m in snapshot.miners if m.dispatchable)
    assert snapshot.rated_power_kw == pytest.approx(expected / 1000.0, abs=0.01)
    assert snapshot.miners_dispatchable == len(KINDS) - 1
    # The monitored miner is counted in active power (asleep: its standby or estimate).
    assert monitored.consumption_w > 0


async def test_a_target_inside_the_power_target_range_needs_no_s9(rig: MixedRig) -> None:
    result = await rig.controller.activate(5.0)
    assert result.accepted, result.message
    await rig.run(240.0)
    truth_kw = rig.fleet.power_w / 1000.0
    assert truth_kw == pytest.approx(5.0, abs=0.35)
    assert rig.hashing("vnish_s9") == [False, False]  # no S9 rebooted for it
    assert any(rig.hashing("braiins"))
    # A change within the range is followed by power targets, in well under a minute.
    await rig.controller.activate(6.2)
    await rig.run(45.0)
    assert rig.fleet.power_w / 1000.0 == pytest.approx(6.2, abs=0.35)
    assert rig.hashing("vnish_s9") == [False, False]


async def test_deactivate_reaches_every_kind(rig: MixedRig) -> None:
    full = rig.controller.snapshot.rated_power_kw
    assert (await rig.controller.activate(full)).accepted
    await rig.run(400.0)
    for kind in ("vnish_s9", "braiins", "luxos", "vnish_rest"):
        assert all(rig.hashing(kind)), kind
    assert (await rig.controller.deactivate()).accepted
    await rig.run(2 * POLL_S)
    for kind in ("vnish_s9", "braiins", "luxos", "vnish_rest"):
        assert not any(rig.hashing(kind)), kind
    # The monitored miner was never touched: it mines as it did.
    assert rig.hashing("cgminer") == [rig.fleet.miners[KINDS.index("cgminer")].state in HASHING]


@pytest.mark.parametrize("kind", ["braiins", "luxos"])  # chip and board temperatures
async def test_an_overheating_miner_is_stopped_whatever_its_firmware(
    rig: MixedRig, kind: str
) -> None:
    full = rig.controller.snapshot.rated_power_kw
    assert (await rig.controller.activate(full)).accepted
    await rig.run(400.0)
    hot = KINDS.index(kind)
    rig.fleet.miners[hot].set_fault(Fault.OVERHEAT)
    await rig.run(600.0)
    mac = rig.fleet.miners[hot].mac
    assert rig.fleet.miners[hot].state not in HASHING
    snap = rig.controller.snapshot.miner(mac)
    assert snap is not None and snap.overheated
    assert snap.state is not MinerState.MINING
