"""The controller driving simulated S9s (Vnish 3.9) through the real drivers, on simulated time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    ControlConfig,
    FleetController,
    FleetState,
    FunctionClock,
    MinerState,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from simulator import Fault, ManualClock, SimulatedFleet

# The simulated miners listen on loopback sockets.
pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
BOOT_S = 60.0
RAMP_S = 80.0
CONFIG = ControlConfig(wake_start_timeout_s=120.0, wake_timeout_s=240.0)


@dataclass
class SimRig:
    fleet: SimulatedFleet
    controller: FleetController
    drivers: list[AntminerS9Driver]

    async def step(self, seconds: float = POLL_S) -> None:
        """Advance simulated time by one poll, poll, and let the orders land."""
        await self.fleet.advance(seconds)
        await self.controller.poll()
        await self.controller.wait_idle()
        await self.fleet.sync()

    async def run(self, seconds: float) -> None:
        for _ in range(int(seconds // POLL_S)):
            await self.step()

    def by_mac(self, mac: str) -> int:
        return next(i for i, m in enumerate(self.fleet.miners) if m.mac == mac)


async def make_sim_rig(
    count: int,
    mode: PowerMode = PowerMode.ON_OFF,
    faults: dict[int, Fault] | None = None,
    config: ControlConfig = CONFIG,
) -> AsyncIterator[SimRig]:
    clock = ManualClock()
    fleet = SimulatedFleet(
        count=count,
        host="127.0.0.1",
        network=None,
        api_port=0,
        web_port=0,
        clock=clock,
        seed=1,
        password="root",
        boot_time_s=BOOT_S,
        ramp_time_s=RAMP_S,
        initial_state="sleeping",
    )
    await fleet.start()
    session = aiohttp.ClientSession()
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), config=config, mode=mode
    )
    try:
        drivers = []
        for m in fleet.miners:
            driver = AntminerS9Driver(
                m.host,
                session,
                api_port=m.api_port,
                web_port=m.web_port,
                credentials=Credentials("root", "root"),
            )
            await driver.identify()
            controller.add_miner(driver)
            drivers.append(driver)
        for index, fault in (faults or {}).items():
            fleet.miners[index].set_fault(fault)
        await controller.poll()
        yield SimRig(fleet, controller, drivers)
    finally:
        await controller.close()
        await session.close()
        await fleet.stop()


@pytest.fixture
async def sim3() -> AsyncIterator[SimRig]:
    async for rig in make_sim_rig(3):
        yield rig


async def test_status_and_activation_meet_target_in_ground_truth(sim3: SimRig) -> None:
    snap = sim3.controller.snapshot
    assert snap.rated_power_kw == pytest.approx(4.38)
    assert snap.available
    assert all(m.state is MinerState.SLEEPING for m in snap.miners)
    result = await sim3.controller.activate(3.0)
    assert result.accepted and result.message.startswith("2 miners at 650 MHz")
    await sim3.controller.wait_idle()
    await sim3.run(BOOT_S * 1.2 + 8 + RAMP_S * 1.2 + 2 * POLL_S)
    assert sim3.controller.snapshot.state is FleetState.ACTIVE
    assert abs(sim3.fleet.power_w - 3000) <= 730
    assert sum(1 for m in sim3.fleet.miners if m.state == "mining") == 2


async def test_deactivate_sleeps_every_dispatched_miner_within_two_polls(sim3: SimRig) -> None:
    await sim3.controller.activate(4.38)
    await sim3.run(BOOT_S * 1.2 + 8 + RAMP_S * 1.2 + 2 * POLL_S)
    assert all(m.state == "mining" for m in sim3.fleet.miners)
    assert (await sim3.controller.deactivate()).accepted
    await sim3.step()
    await sim3.step()
    assert all(m.state == "sleeping" for m in sim3.fleet.miners)
    assert sim3.controller.snapshot.state is FleetState.STANDBY
    assert sim3.fleet.power_w < 200


async def test_deactivate_mid_boot_still_ends_asleep(sim3: SimRig) -> None:
    await sim3.controller.activate(2.92)
    await sim3.run(30)  # rebooting: the web server is down and cannot hear a sleep
    assert (await sim3.controller.deactivate()).accepted
    await sim3.run(BOOT_S * 1.2 + 8 + RAMP_S + 4 * POLL_S)
    assert all(m.state in ("sleeping", "stopped") for m in sim3.fleet.miners)


async def test_miner_that_never_starts_is_replaced() -> None:
    async for rig in make_sim_rig(3):
        # The planner starts the least-run miner first: ties go by MAC.
        first = min(rig.controller.macs)
        rig.fleet.miners[rig.by_mac(first)].set_fault(Fault.NEVER_STARTS)
        await rig.controller.activate(1.6)
        await rig.run(CONFIG.wake_start_timeout_s + 2 * POLL_S)
        bad = rig.controller.snapshot.miner(first)
        assert bad is not None and bad.wake_failures == 1
        await rig.run(BOOT_S * 1.2 + 8 + RAMP_S * 1.2 + 2 * POLL_S)
        mining = [m for m in rig.fleet.miners if m.state == "mining"]
        assert len(mining) == 1 and mining[0].mac != first
        assert abs(rig.fleet.power_w - 1600) <= 730


async def test_frequency_mode_tracks_target_within_100_w() -> None:
    async for rig in make_sim_rig(3, mode=PowerMode.FREQUENCY):
        result = await rig.controller.activate(2.0)
        assert result.accepted and "MHz" in result.message
        await rig.run(BOOT_S * 1.2 + 8 + RAMP_S * 1.2 + 2 * POLL_S)
        assert abs(rig.fleet.power_w - 2000) <= 100
        commands_before = rig.controller.snapshot.last_command
        await rig.run(600)
        assert abs(rig.fleet.power_w - 2000) <= 100
        assert rig.controller.snapshot.last_command == commands_before


async def test_command_table_against_the_simulator(sim3: SimRig) -> None:
    bad = await sim3.controller.activate(float("nan"))
    assert (bad.http_status, bad.reason) == (400, CommandReason.INVALID)
    above = await sim3.controller.activate(5.0)
    assert (above.http_status, above.reason) == (400, CommandReason.EXCEEDS_RATED)
    await sim3.controller.set_dispatch_enabled(False)
    assert (await sim3.controller.activate(1.0)).http_status == 409
    await sim3.controller.set_dispatch_enabled(True)
    for m in sim3.fleet.miners:
        m.set_fault(Fault.OFFLINE)
    await sim3.run(3 * POLL_S)
    assert (await sim3.controller.activate(1.0)).http_status == 503
    assert (await sim3.controller.deactivate()).accepted
