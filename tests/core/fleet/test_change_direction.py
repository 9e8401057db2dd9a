"""A change of setting to less power is timed apart from one to more: a Braiins OS+ target cut
is quick, a raise holds steps for minutes, so a cut is given its own (shorter) deadline and
plan cost. Over real sockets against a simulated miner with its own drawn timings; the split
survives a restart in the fleet database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    FleetController,
    FunctionClock,
    PowerMode,
)
from custom_components.net_stabilization.core.fleet.planner import PlanMiner, plan_dispatch
from custom_components.net_stabilization.core.fleet.timings import (
    TimingBook,
    TimingSample,
    Transition,
)
from custom_components.net_stabilization.core.miners.base import OperatingPoints, SettingUnit
from custom_components.net_stabilization.core.miners.braiins import BraiinsDriver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from custom_components.net_stabilization.core.power_curve import PowerCurve
from custom_components.net_stabilization.core.store import FleetStore
from simulator import ManualClock, SimulatedFleet
from simulator.personality import BRAIINS
from simulator.timings import Drawn, draw

POLL_S = 5.0
LOW_W, HIGH_W = 2000, 2400


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
        m.words_ramp = True
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


@pytest.mark.usefixtures("socket_enabled")
async def test_a_cut_and_a_raise_are_timed_apart(
    rig: tuple[SimulatedFleet, FleetController, Drawn],
) -> None:
    fleet, controller, drawn = rig
    mac = fleet.miners[0].mac
    holds = sum(drawn.plateaus.holds_s)
    assert (await controller.set_miner_override(mac, "on", power_w=HIGH_W)).accepted
    await run(fleet, controller, drawn.start_s + drawn.ramp_s + holds + 120.0)
    assert (await controller.set_miner_override(mac, "on", power_w=LOW_W)).accepted
    await run(fleet, controller, drawn.change_s + 60.0)
    assert (await controller.set_miner_override(mac, "on", power_w=HIGH_W)).accepted
    await run(fleet, controller, drawn.change_s + holds + 120.0)

    roster = controller._roster
    (m,) = list(roster)
    book = roster.timings
    down = book.typical_s(mac, m.timing_kind, Transition.CHANGE_DOWN)
    up = book.typical_s(mac, m.timing_kind, Transition.CHANGE)
    assert down is not None and up is not None
    assert down < drawn.change_s + 30.0 < holds < up  # the raise held its steps, the cut none
    deadlines = roster.deadlines(m)
    assert deadlines.change_down_pause_s is not None
    # The tuner said it tuned through the held steps, so neither paused: both at the floor.
    assert deadlines.change_down_pause_s <= deadlines.change_pause_s
    assert roster.measured_s(m, Transition.CHANGE_DOWN) == down


def test_a_cut_not_timed_yet_is_judged_as_a_raise() -> None:
    book = TimingBook()
    book.record(TimingSample("a", "k", Transition.CHANGE, 400.0, 150.0))
    assert book.typical_s("a", "k", Transition.CHANGE_DOWN) == 400.0
    assert book.pause_limit_s("a", "k", Transition.CHANGE_DOWN, 60.0, 5.0) == 2 * 150.0 + 10.0
    book.record(TimingSample("b", "k", Transition.CHANGE_DOWN, 20.0, 10.0))
    assert book.typical_s("a", "k", Transition.CHANGE_DOWN) == 20.0  # its kind's cut
    assert book.pause_limit_s("a", "k", Transition.CHANGE_DOWN, 60.0, 5.0) == 60.0


async def test_cuts_come_back_after_a_restart(tmp_path: Path) -> None:
    cut = TimingSample("AA:BB", "braiins/S19k Pro", Transition.CHANGE_DOWN, 25.0, 10.0)
    raise_ = TimingSample("AA:BB", "braiins/S19k Pro", Transition.CHANGE, 420.0, 170.0)
    store = FleetStore(tmp_path / "fleet.db")
    await store.open()
    assert await store.record_timings([cut, raise_], 1.0)
    await store.close()
    again = FleetStore(tmp_path / "fleet.db")
    await again.open()
    assert await again.timings() == [cut, raise_]
    await again.close()


def test_a_cut_goes_to_the_miner_whose_cuts_are_quick() -> None:
    points = OperatingPoints(
        curve=PowerCurve(
            points=((1200.0, 1200.0, 45.0), (3600.0, 3600.0, 110.0)),
            nominal_mhz=3000.0,
            standby_w=20.0,
        ),
        unit=SettingUnit.WATT,
        step=10.0,
        wake_s=30.0,
        wake_reboots=False,
        change_s=10.0,
        change_stops_hashing=False,
    )
    # "AA" raises slowly (held steps) but cuts at once; "BB" was seen raising quickly and
    # cutting slowly.
    miners = [
        PlanMiner("AA", True, setting=3000.0, points=points, change_s=600.0, change_down_s=10.0),
        PlanMiner("BB", True, setting=3000.0, points=points, change_s=10.0, change_down_s=600.0),
    ]
    plan = plan_dispatch(5500.0, PowerMode.FREQUENCY, miners)
    settings = {a.mac: a.setting for a in plan.assignments}
    assert settings["BB"] == 3000.0 and settings["AA"] is not None and settings["AA"] < 3000.0
