"""A Braiins OS+ miner holding a step on its way to a higher power target, its firmware silent, is
judged arrived where it can; its draw must not be learnt from that step, which would have the
fleet plan it at a fraction of what it is about to draw. Over real sockets against a simulated
miner with its own drawn timings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    FleetController,
    FunctionClock,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.braiins import BraiinsDriver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from simulator import ManualClock, SimulatedFleet
from simulator.personality import BRAIINS
from simulator.timings import Drawn, draw

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
LOW_W, LOWER_W = 2400, 2000


def slow_stepping_seed() -> tuple[int, Drawn]:
    """A seed whose first Braiins OS+ miner holds at least two steps, two minutes each."""
    for seed in range(500):
        drawn = draw(BRAIINS, seed, 0)
        holds = drawn.plateaus.holds_s
        if len(holds) >= 2 and min(holds) >= 120.0:
            return seed, drawn
    raise AssertionError("no such miner in the first 500 seeds")


@pytest.fixture
async def rig() -> AsyncIterator[tuple[SimulatedFleet, FleetController, Drawn]]:
    seed, drawn = slow_stepping_seed()
    clock = ManualClock()
    fleet = SimulatedFleet(
        count=1, clock=clock, seed=seed, kinds=[BRAIINS], initial_state="sleeping", spread=True
    )
    await fleet.start()
    session = aiohttp.ClientSession()
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), mode=PowerMode.FREQUENCY
    )
    try:
        m = fleet.miners[0]
        m.words_ramp = False
        driver = BraiinsDriver(
            m.host, session, web_port=m.web_port, credentials=Credentials("root", "root")
        )
        await driver.identify()
        controller.add_miner(driver)
        await controller.poll()
        yield fleet, controller, drawn
    finally:
        await controller.close()
        await session.close()
        await fleet.stop()


async def run(fleet: SimulatedFleet, controller: FleetController, seconds: float) -> list[float]:
    """Poll for `seconds`; the miner's learnt draw over the curve at every poll."""
    scales: list[float] = []
    for _ in range(round(seconds / POLL_S)):
        await fleet.advance(POLL_S)
        await controller.poll()
        await controller.wait_idle()
        await fleet.sync()
        roster = controller._roster
        scales.extend(roster.scale(m) for m in roster if m.calibration.calibrated)
    return scales


@pytest.mark.parametrize("quick_raise_seen", [False, True])
async def test_a_held_step_is_not_taken_for_the_miners_own_draw(
    rig: tuple[SimulatedFleet, FleetController, Drawn], quick_raise_seen: bool
) -> None:
    fleet, controller, drawn = rig
    miner = fleet.miners[0]
    mac = miner.mac
    holds = sum(drawn.plateaus.holds_s)
    assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
    await run(fleet, controller, drawn.start_s + drawn.ramp_s + holds + 300.0)
    if quick_raise_seen:
        # A raise the tuner said it tuned through: the fleet learns this miner's raises pause
        # little, so the silent held step below ends the change as arrived where it can.
        assert (await controller.set_miner_override(mac, "on", power_w=LOWER_W)).accepted
        await run(fleet, controller, drawn.change_s + 120.0)
        miner.words_ramp = True
        assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
        await run(fleet, controller, drawn.change_s + holds + 300.0)
        miner.words_ramp = False
    assert (await controller.set_miner_override(mac, "on", power_w=LOWER_W)).accepted
    settled = await run(fleet, controller, drawn.change_s + 120.0)
    assert settled, "calibrated at a steady setting"
    own = settled[-1]

    # Back up by 400 W: each step is held for minutes, the firmware silent, the miner hashing
    # near enough its target to be called mining.
    assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
    scales = await run(fleet, controller, drawn.change_s + holds + 300.0)
    assert min(scales) == pytest.approx(own, rel=0.03)
    assert scales[-1] == pytest.approx(own, rel=0.03)
