"""A Braiins OS+ miner reaches a new power target in steps, each held for minutes: a miner the
fleet has seen change quickly before would be judged stalled at the first held step, unless its
tuner says it is still tuning. Over real sockets, against a simulated miner with its own drawn
timings, judged on the simulator's ground truth."""

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
from custom_components.net_stabilization.core.miners.braiins import BraiinsDriver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from simulator import ManualClock, SimulatedFleet
from simulator.personality import BRAIINS
from simulator.timings import Drawn, draw

pytestmark = pytest.mark.usefixtures("socket_enabled")

POLL_S = 5.0
LOW_W, LOWER_W, HIGH_W = 2400, 2000, 3600


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


async def run(fleet: SimulatedFleet, controller: FleetController, seconds: float) -> None:
    for _ in range(round(seconds / POLL_S)):
        await fleet.advance(POLL_S)
        await controller.poll()
        await controller.wait_idle()
        await fleet.sync()


@pytest.mark.parametrize("words_ramp", [True, False])
async def test_a_held_step_is_waited_for_while_the_tuner_says_it_tunes(
    rig: tuple[SimulatedFleet, FleetController, Drawn], words_ramp: bool
) -> None:
    fleet, controller, drawn = rig
    miner = fleet.miners[0]
    miner.words_ramp = words_ramp
    mac = miner.mac
    holds = sum(drawn.plateaus.holds_s)
    assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
    await run(fleet, controller, drawn.start_s + drawn.ramp_s + holds + 120.0)
    # A small step down, quick and steady: the fleet learns this miner pauses little.
    assert (await controller.set_miner_override(mac, "on", power_w=LOWER_W)).accepted
    await run(fleet, controller, drawn.change_s + 60.0)
    snap = controller.snapshot.miner(mac)
    assert snap is not None and snap.state is MinerState.MINING and snap.wake_failures == 0

    # Up by 2.5 kW: the first step is held for minutes while temperatures settle.
    assert (await controller.set_miner_override(mac, "on", power_w=HIGH_W)).accepted
    await run(fleet, controller, drawn.change_s + holds + 60.0)
    snap = controller.snapshot.miner(mac)
    assert snap is not None
    # With or without the tuner's word: the quick cut taught nothing about raises (they are
    # timed apart), so the held steps are judged by a raise's own pause and waited for.
    assert snap.state is MinerState.MINING, snap.last_error
    assert snap.wake_failures == 0 and snap.last_error is None
    assert miner.power_w == pytest.approx(miner.target_w, rel=0.05)
