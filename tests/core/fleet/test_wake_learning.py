"""What the fleet learns from its wakes: the start rate (spare wakes planned on expected
arrivals) and the start delay (wakes that never start caught sooner)."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    PlanMiner,
    PowerMode,
    plan_dispatch,
)
from custom_components.net_stabilization.core.fleet.planner import Action, present_power_w
from custom_components.net_stabilization.core.fleet.wakes import WakeLearning, WakeStats
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import Credentials
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault, SimulatedFleet

from ..conftest import FleetFactory
from .fakes import BOOT_S, RAMP_S
from .test_controller import POLL_S, Rig, make_rig

STEP_W = S9_CURVE.nominal_w - S9_CURVE.standby_w

# --- the statistics --------------------------------------------------------------------------


def test_start_rate_is_certain_until_a_wake_fails_and_recovers_as_wakes_start() -> None:
    stats = WakeStats(WakeLearning(prior_starts=10.0, memory=100.0))
    assert stats.start_rate == 1.0
    for _ in range(20):
        stats.started()
    assert stats.start_rate == 1.0  # a healthy fleet: never a spare
    for _ in range(10):
        stats.failed()
    assert stats.start_rate == pytest.approx(0.75, abs=0.02)
    for _ in range(300):
        stats.started()
    assert stats.start_rate > 0.99  # old failures fade


def test_one_failure_does_not_make_a_fleet_look_bad() -> None:
    stats = WakeStats(WakeLearning(prior_starts=10.0))
    stats.failed()
    assert stats.start_rate == pytest.approx(10 / 11)


def test_api_grace_is_learnt_from_healthy_starts_within_its_bounds() -> None:
    stats = WakeStats(WakeLearning(min_samples=3, margin=0.25, min_grace_s=10.0))
    stats.start_delay(10.0)
    stats.start_delay(5.0)
    assert stats.api_grace_s(45.0, 5.0) == 45.0  # too few starts seen: the configured grace
    stats.start_delay(10.0)
    assert stats.api_grace_s(45.0, 5.0) == 15.0  # longest + a poll (more than 25 %)
    assert stats.api_grace_s(45.0, 1.0) == 12.5  # longest + 25 %
    assert stats.api_grace_s(12.0, 5.0) == 12.0  # never above the configured grace
    quick = WakeStats(WakeLearning(min_samples=1, min_grace_s=10.0))
    quick.start_delay(2.0)
    assert quick.api_grace_s(45.0, 1.0) == 10.0  # never below the floor


# --- planning on expected arrivals -----------------------------------------------------------


def asleep(count: int, arrival: float = 1.0) -> list[PlanMiner]:
    return [
        PlanMiner(mac=f"m{i:02d}", running=False, arrival=arrival, runtime_s=float(i))
        for i in range(count)
    ]


def test_deficit_is_met_by_expected_arrivals() -> None:
    target = 10 * S9_CURVE.standby_w + 3 * STEP_W
    certain = plan_dispatch(target, PowerMode.ON_OFF, asleep(10))
    assert certain.starts == 3
    doubtful = plan_dispatch(target, PowerMode.ON_OFF, asleep(10, arrival=0.75))
    assert doubtful.starts == 4  # 4 x 0.75 = 3 miners expected


def test_start_under_way_counts_at_its_expected_share() -> None:
    waking = PlanMiner(mac="a", running=True, setting=650.0, arrival=0.5)
    assert present_power_w(PowerMode.ON_OFF, [waking]) == pytest.approx(
        S9_CURVE.standby_w + 0.5 * STEP_W
    )


def test_frequency_of_a_doubtful_start_is_set_for_when_it_runs() -> None:
    # Expected to bring half of what it draws at 500 MHz: it is started at 500 MHz.
    increment = S9_CURVE.power_w(500.0) - S9_CURVE.standby_w
    doubtful = PlanMiner(mac="a", running=False, arrival=0.5)
    plan = plan_dispatch(S9_CURVE.standby_w + increment / 2, PowerMode.FREQUENCY, [doubtful])
    assert plan.assignments[0].action is Action.START
    assert plan.assignments[0].setting == pytest.approx(500.0, abs=1.0)


# --- the controller: spares ------------------------------------------------------------------

FAILING_CONFIG = ControlConfig(
    wake_start_timeout_s=150.0, wake_timeout_s=200.0, wake_api_grace_s=10.0
)


def target_kw(fleet: int, running: int) -> float:
    """A target met by exactly `running` miners of `fleet` (the others asleep)."""
    return (fleet * S9_CURVE.standby_w + running * STEP_W) / 1000.0


def woken(rig: Rig, miners: range) -> list[int]:
    return [i for i in miners if "wake" in rig.miners[i].calls]


def mining(rig: Rig) -> int:
    return sum(1 for m in rig.miners if m.state == "mining")


def sleeps(rig: Rig, miners: range) -> int:
    return sum(rig.miners[i].calls.count("sleep") for i in miners)


async def test_healthy_fleet_wakes_no_spares() -> None:
    rig = await make_rig(12, config=FAILING_CONFIG)
    try:
        await rig.controller.activate(target_kw(12, 6))
        await rig.run(BOOT_S + RAMP_S + 4 * POLL_S)
        assert len(woken(rig, range(12))) == 6
        assert rig.controller.wake_start_rate == 1.0
    finally:
        await rig.controller.close()


async def test_retries_of_failed_miners_do_not_count_against_the_start_rate() -> None:
    rig = await make_rig(2, config=FAILING_CONFIG)
    for m in rig.miners:
        m.never_starts = True
    try:
        await rig.controller.activate(target_kw(2, 2))
        await rig.run(BOOT_S + 2 * POLL_S + FAILING_CONFIG.wake_api_grace_s)
        assert rig.controller.wake_start_rate == pytest.approx(10 / 12, abs=0.002)
        # Tried again after the back-off, as a last resort: they fail again, which says
        # nothing new about the miners in good standing.
        await rig.run(FAILING_CONFIG.wake_backoff_s + 60.0 + BOOT_S + 40.0)
        assert all(m.calls.count("wake") == 2 for m in rig.miners)
        assert all(s.wake_failures == 2 for s in rig.controller.snapshot.miners)
        assert rig.controller.wake_start_rate == pytest.approx(10 / 12, abs=0.002)
    finally:
        await rig.controller.close()


async def test_failed_wakes_are_replaced_with_spares_and_extras_put_back_to_sleep() -> None:
    rig = await make_rig(24, config=FAILING_CONFIG)
    for m in rig.miners[:4]:  # the first four to be woken accept the wake and never start
        m.never_starts = True
    try:
        target = target_kw(24, 8)
        await rig.controller.activate(target)
        await rig.controller.wait_idle()
        assert woken(rig, range(24)) == list(range(8))
        await rig.run(BOOT_S + 2 * POLL_S + FAILING_CONFIG.wake_api_grace_s)
        snap = rig.controller.snapshot
        assert sum(1 for m in snap.miners if m.wake_failures == 1) == 4
        # Four of eight failed (after a prior of ten that all started): about one in five
        # replacements is expected to fail too, so five replace four.
        assert rig.controller.wake_start_rate == pytest.approx(14 / 18, abs=0.01)
        assert woken(rig, range(8, 24)) == list(range(8, 13))
        await rig.run(BOOT_S + RAMP_S + 60)
        # All five started: the one too many went back to sleep, the target is met.
        assert mining(rig) == 8
        assert abs(rig.ground_truth_w - target * 1000) <= STEP_W / 2
        settled = len(rig.commands())
        await rig.run(600)
        assert len(rig.commands()) == settled  # nothing moves at a constant target
    finally:
        await rig.controller.close()


async def test_no_miner_is_stopped_while_starts_that_may_fail_are_pending() -> None:
    # Failures show 40 s after the web is back, successes as soon as the boot ends.
    config = replace(FAILING_CONFIG, wake_api_grace_s=40.0, wakes=WakeLearning(prior_starts=1.0))
    rig = await make_rig(30, config=config)
    for i in (3, 4, 5, 6, *range(11, 30)):
        rig.miners[i].never_starts = True
    try:
        await rig.controller.activate(target_kw(30, 3))  # 0-2 start and keep mining
        await rig.run(300.0)
        target = target_kw(30, 7)
        await rig.controller.activate(target)  # 3-6: all fail
        await rig.run(BOOT_S + 40.0 + 2 * POLL_S)
        assert rig.controller.wake_start_rate == pytest.approx(0.5, abs=0.01)
        # Four missing, each replacement expected to start at one chance in two: 7-10 will,
        # the others will not.
        spares = woken(rig, range(7, 30))
        assert spares[:8] == list(range(7, 15))
        await rig.run(BOOT_S + 2 * POLL_S)
        assert all(m.state == "ramping" for m in rig.miners[7:11])
        # The others are undecided: counted at their expected share, the fleet looks two
        # miners over the target, yet stopping one now would have to be undone.
        await rig.run(35.0)
        assert sleeps(rig, range(3)) == 0 and sleeps(rig, range(7, 11)) == 0
        await rig.run(RAMP_S)
        assert mining(rig) == 7
        assert abs(rig.ground_truth_w - target * 1000) <= STEP_W / 2
        assert sleeps(rig, range(3)) == 0 and sleeps(rig, range(7, 11)) == 0
    finally:
        await rig.controller.close()


# --- the controller: start delay -------------------------------------------------------------


async def simulated(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, count: int
) -> tuple[SimulatedFleet, FleetController]:
    """Simulated S9s (boot, then bmminer starting with the web up, then a ramp) and a
    controller driving them through the real drivers."""
    fleet = await start_fleet(
        count,
        host="127.0.0.1",
        password="root",
        boot_time_s=BOOT_S,
        ramp_time_s=RAMP_S,
        initial_state="sleeping",
    )
    config = ControlConfig(wake_start_timeout_s=120.0, wake_timeout_s=240.0)
    controller = FleetController(
        clock=FunctionClock(fleet.clock.now, fleet.clock.wall), config=config
    )
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
    return fleet, controller


async def step(fleet: SimulatedFleet, controller: FleetController) -> None:
    await fleet.advance(POLL_S)
    await controller.poll()
    await controller.wait_idle()
    await fleet.sync()


@pytest.mark.usefixtures("socket_enabled")
async def test_wake_that_never_starts_is_caught_after_the_learnt_start_delay(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet, controller = await simulated(start_fleet, session, 7)
    try:
        await wake_fleet_then_one_that_never_starts(fleet, controller)
    finally:
        await controller.close()


async def wake_fleet_then_one_that_never_starts(
    fleet: SimulatedFleet, controller: FleetController
) -> None:
    configured = controller.wake_api_grace_s
    await controller.activate(controller.snapshot.rated_power_kw)
    for _ in range(round((BOOT_S * 1.2 + 10 + RAMP_S * 1.2) / POLL_S) + 3):
        await step(fleet, controller)
    assert sum(1 for m in fleet.miners if m.state == "mining") == 7
    # Seven healthy starts: bmminer took 6.4-9.6 s after the web came back.
    learnt = controller.wake_api_grace_s
    assert 10.0 <= learnt <= 20.0 < configured
    await controller.deactivate()
    await step(fleet, controller)
    for m in fleet.miners:
        m.set_fault(Fault.NEVER_STARTS)
    await controller.activate(1.46)
    woke_at = fleet.clock.now()
    web_up_at: float | None = None
    failed_at: float | None = None
    while failed_at is None and fleet.clock.now() - woke_at < 300:
        await step(fleet, controller)
        now = fleet.clock.now()
        if web_up_at is None and any(m.state in ("restarting", "stopped") for m in fleet.miners):
            web_up_at = now
        if any(s.wake_failures for s in controller.snapshot.miners):
            failed_at = now
    assert web_up_at is not None and failed_at is not None
    # Caught once the learnt grace ran out after the web came back, long before the
    # configured one would have.
    assert failed_at - web_up_at <= learnt + POLL_S
    assert failed_at - web_up_at < configured
