"""A LuxOS profile change ramps the boards as a wakeup does, which on a slow unit takes minutes:
the fleet waits for it and does not fail the change. Over real sockets, against a simulated
miner with its own drawn timings, judged on the simulator's ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    FleetController,
    FunctionClock,
    MinerState,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from custom_components.net_stabilization.core.miners.luxos import LuxosDriver
from simulator import ManualClock, SimulatedFleet
from simulator.luxos_miner import LuxosMiner
from simulator.personality import LUXOS
from simulator.timings import Drawn, draw

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
LOW_W, HIGH_W = 2530.0, 3070.0  # the simulated S19j Pro's "470MHz" and "default" profiles


def slow_restarting_seed() -> tuple[int, Drawn]:
    """A seed whose first LuxOS miner starts its boards again on a profile change, and takes
    more than four minutes to initialise them (longer than the fleet's default pause)."""
    for seed in range(500):
        drawn = draw(LUXOS, seed, 0)
        if drawn.change_restarts and drawn.start_s > 240.0:
            return seed, drawn
    raise AssertionError("no such miner in the first 500 seeds")


@pytest.fixture
async def rig() -> AsyncIterator[tuple[SimulatedFleet, FleetController, Drawn]]:
    seed, drawn = slow_restarting_seed()
    clock = ManualClock()
    fleet = SimulatedFleet(
        count=1, clock=clock, seed=seed, kinds=[LUXOS], initial_state="sleeping", spread=True
    )
    await fleet.start()
    session = aiohttp.ClientSession()
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), mode=PowerMode.FREQUENCY
    )
    try:
        m = fleet.miners[0]
        driver = LuxosDriver(
            m.host, session, api_port=m.api_port, credentials=Credentials("root", "root")
        )
        await driver.identify()
        controller.add_miner(driver)
        await controller.poll()
        yield fleet, controller, drawn
    finally:
        await controller.close()
        await session.close()
        await fleet.stop()


async def run(fleet: SimulatedFleet, controller: FleetController, seconds: float) -> list[bool]:
    """Poll for `seconds`; the ground truth of whether the miner hashed, at every step."""
    hashed = []
    for _ in range(round(seconds / POLL_S)):
        await fleet.advance(POLL_S)
        await controller.poll()
        await controller.wait_idle()
        await fleet.sync()
        hashed.append(fleet.miners[0].hashing)
    return hashed


async def test_a_profile_change_that_takes_minutes_is_not_a_failed_change(
    rig: tuple[SimulatedFleet, FleetController, Drawn],
) -> None:
    fleet, controller, drawn = rig
    miner = fleet.miners[0]
    assert isinstance(miner, LuxosMiner)
    mac = miner.mac
    assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
    await run(fleet, controller, drawn.start_s + drawn.ramp_s + 60.0)
    assert miner.hashing and miner.profile.watts == LOW_W
    snap = controller.snapshot.miner(mac)
    assert snap is not None and snap.state is MinerState.MINING

    assert (await controller.set_miner_override(mac, "on", power_w=HIGH_W)).accepted
    hashed = await run(fleet, controller, drawn.start_s + drawn.ramp_s + 120.0)
    # The boards were started again, as at a wakeup: minutes without hashing.
    idle_s = POLL_S * (len(hashed) - sum(hashed))
    assert idle_s >= 240.0
    assert miner.hashing and miner.power_w == pytest.approx(HIGH_W, rel=0.05)
    snap = controller.snapshot.miner(mac)
    assert snap is not None
    assert snap.state is MinerState.MINING, snap.last_error
    assert snap.wake_failures == 0 and snap.last_error is None
