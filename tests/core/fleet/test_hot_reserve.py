"""The S9's second off state as a hot reserve: stopped mining software instead of sleep mode,
restarted without a reboot. On simulated S9s through the real driver, judged on ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from simulator import ManualClock, SimulatedFleet

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
STOPPED_W = 120.0  # what the simulated S9s draw stopped (a measured value in real use)
WAKE_S = 60.0 + 8.0 + 80.0  # boot, bmminer start and ramp
RESTART_S = 8.0 + 80.0  # bmminer start and ramp: no boot
CONFIG = ControlConfig(
    wake_start_timeout_s=120.0, wake_timeout_s=240.0, hot_reserve=2, hot_standby_w=STOPPED_W
)


class Rig:
    def __init__(self, fleet: SimulatedFleet, controller: FleetController) -> None:
        self.fleet = fleet
        self.controller = controller
        self.booted: set[int] = set()  # miners seen booting since `watch`

    async def run(self, seconds: float) -> None:
        for _ in range(round(seconds / POLL_S)):
            await self.fleet.advance(POLL_S)
            await self.controller.poll()
            await self.controller.wait_idle()
            await self.fleet.sync()
            self.booted |= {i for i, m in enumerate(self.fleet.miners) if m.state == "booting"}

    def states(self) -> list[str]:
        return [m.state for m in self.fleet.miners]


async def make_rig(config: ControlConfig) -> AsyncIterator[Rig]:
    clock = ManualClock()
    fleet = SimulatedFleet(
        count=4, clock=clock, seed=2, jitter=0.0, initial_state="sleeping", stopped_w=STOPPED_W
    )
    await fleet.start()
    session = aiohttp.ClientSession()
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), config=config, mode=PowerMode.ON_OFF
    )
    try:
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
        await controller.poll()
        yield Rig(fleet, controller)
    finally:
        await controller.close()
        await session.close()
        await fleet.stop()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async for r in make_rig(CONFIG):
        yield r


async def test_shed_miners_fill_the_reserve_and_come_back_without_a_reboot(rig: Rig) -> None:
    rated = rig.controller.snapshot.rated_power_kw
    assert (await rig.controller.activate(rated)).accepted
    await rig.run(WAKE_S + 3 * POLL_S)
    assert rig.states() == ["mining"] * 4
    assert (await rig.controller.activate(rated / 4)).accepted
    await rig.run(3 * POLL_S)
    # Three shed: two held stopped (the reserve), one put to sleep.
    assert sorted(rig.states()) == ["mining", "sleeping", "stopped", "stopped"]
    snapshot = rig.controller.snapshot
    assert snapshot.hot_reserve_miners == 2
    assert snapshot.hot_reserve_w == pytest.approx(2 * STOPPED_W)
    stopped = [i for i, s in enumerate(rig.states()) if s == "stopped"]
    # Two more needed: the reserve starts, without a reboot, well before a wake could.
    rig.booted.clear()
    assert (await rig.controller.activate(3 * rated / 4)).accepted
    await rig.run(RESTART_S + 2 * POLL_S)
    assert all(rig.fleet.miners[i].state == "mining" for i in stopped)
    assert not rig.booted & set(stopped)
    assert rig.controller.snapshot.hot_reserve_miners == 0


async def test_a_deactivation_keeps_the_reserve_and_sleeps_the_rest(rig: Rig) -> None:
    rated = rig.controller.snapshot.rated_power_kw
    assert (await rig.controller.activate(rated)).accepted
    await rig.run(WAKE_S + 3 * POLL_S)
    assert (await rig.controller.deactivate()).accepted
    await rig.run(2 * POLL_S)
    assert sorted(rig.states()) == ["sleeping", "sleeping", "stopped", "stopped"]
    # Ground truth: the reserve draws its stopped draw, the rest their sleep draw.
    assert rig.fleet.power_w == pytest.approx(2 * STOPPED_W + 2 * 50.0, rel=0.1)
    assert rig.controller.snapshot.active_power_kw == pytest.approx(
        rig.fleet.power_w / 1000.0, rel=0.1
    )


async def test_without_a_measured_stopped_draw_there_is_no_reserve() -> None:
    async for rig in make_rig(replace(CONFIG, hot_standby_w=None)):
        rated = rig.controller.snapshot.rated_power_kw
        assert (await rig.controller.activate(rated)).accepted
        await rig.run(WAKE_S + 3 * POLL_S)
        assert (await rig.controller.deactivate()).accepted
        await rig.run(2 * POLL_S)
        assert rig.states() == ["sleeping"] * 4
        assert rig.controller.snapshot.hot_reserve_miners == 0
