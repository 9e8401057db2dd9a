"""A ramp on course is not re-planned against: power-target miners that climb in steps, each
held while temperatures settle, reach the target on their own; the loop neither starts nor
moves any miner again while they are still seen to progress. Real drivers over sockets, a
simulated Braiins OS+ fleet on a manual clock, judged on ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials, MinerEndpoint
from custom_components.net_stabilization.core.miners.identify import identify_miner
from simulator import ManualClock, SimulatedFleet
from simulator.timings import Plateaus

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
MINERS = 4
KINDS = ["braiins"] * MINERS


class Rig:
    def __init__(self, fleet: SimulatedFleet, controller: FleetController) -> None:
        self.fleet = fleet
        self.controller = controller

    async def run(self, seconds: float) -> None:
        for _ in range(round(seconds / POLL_S)):
            await self.fleet.advance(POLL_S)
            await self.controller.poll()
            await self.controller.wait_idle()
            await self.fleet.sync()

    async def target(self, kw: float) -> None:
        result = await self.controller.activate(kw)
        assert result.accepted, result.message
        await self.controller.wait_idle()
        await self.fleet.sync()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fleet = SimulatedFleet(
        count=len(KINDS), clock=ManualClock(), seed=5, kinds=KINDS, initial_state="sleeping"
    )
    await fleet.start()
    clock = fleet.clock
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), config=ControlConfig(), mode=PowerMode.FREQUENCY
    )
    async with aiohttp.ClientSession() as session:
        for m in fleet.miners:
            found = await identify_miner(
                MinerEndpoint(m.host, m.api_port, m.web_port),
                session,
                credentials=Credentials("root", "root"),
            )
            assert found.driver is not None
            controller.add_miner(found.driver)
        await controller.poll()
        yield Rig(fleet, controller)
        await controller.close()
    await fleet.stop()


def orders(fleet: SimulatedFleet) -> list[tuple[bool, float]]:
    """What each miner was told: asleep or not, and its power target."""
    return [(m.paused_by_user, m.target_w) for m in fleet.miners]


async def test_climbing_power_targets_are_left_to_arrive(rig: Rig) -> None:
    # Woken warm, they climb in three rises with two holds of 100 s while temperatures
    # settle: the fleet learns that their wakes pause that long. Then down, up and down
    # again, quick: it learns that their changes hardly pause.
    for m in rig.fleet.miners:
        m.plateaus = Plateaus((100.0, 100.0))
    await rig.target(MINERS * 2.5)
    await rig.run(900.0)
    for m in rig.fleet.miners:
        m.plateaus = None
    for kw in (1.8, 2.5, 1.8, 2.5, 1.8, 2.5, 1.8):
        await rig.target(MINERS * kw)
        await rig.run(300.0)
    before = orders(rig.fleet)
    # Warm again, a change up holds its steps as the wake did, longer than changes were seen
    # to pause: judged over on its first hold, it is still on course, and what it still brings
    # is left to it.
    for m in rig.fleet.miners:
        m.plateaus = Plateaus((100.0, 100.0))
    # Up again: each climbs in three rises with two holds, minutes in all.
    target_w = MINERS * 2600.0
    await rig.target(target_w / 1000.0)
    told = orders(rig.fleet)
    assert told != before
    # Each climbs for over three minutes, its holds longer than its change was seen to pause.
    for _ in range(round(200.0 / POLL_S)):
        await rig.run(POLL_S)
        assert orders(rig.fleet) == told, rig.fleet.clock.now()
    await rig.run(300.0)
    assert abs(rig.fleet.power_w - target_w) <= 100.0
