"""Miners not calibrated yet are planned at the fleet's bias, learnt from the calibrated ones,
when the whole fleet draws more (or less) than the power curve says."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    ManualClock,
    PowerMode,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .fakes import BOOT_S, RAMP_S, FakeMiner, fake_fleet

POLL_S = 5.0
CONFIG = ControlConfig(wake_start_timeout_s=90.0, wake_timeout_s=200.0)


class Rig:
    def __init__(self, miners: list[FakeMiner], clock: ManualClock, controller: FleetController):
        self.miners = miners
        self.clock = clock
        self.controller = controller

    async def run(self, seconds: float) -> None:
        for _ in range(math.ceil(seconds / POLL_S)):
            self.clock.advance(POLL_S)
            await self.controller.poll()
            await self.controller.wait_idle()

    @property
    def ground_truth_w(self) -> float:
        return sum(m.power_w for m in self.miners)

    def restarts(self) -> int:
        """Frequency changes of running miners (one set before a wake restarts nothing)."""
        count = 0
        for m in self.miners:
            calls = [c for c in m.calls if c != "read"]
            count += sum(
                1
                for c, after in pairwise([*calls, ""])
                if c.startswith("set_frequency") and after != "wake"
            )
        return count


async def make_rig(factors: list[float], mode: PowerMode) -> Rig:
    clock = ManualClock()
    miners = fake_fleet(clock, len(factors))
    for m, factor in zip(miners, factors, strict=True):
        m.power_factor = factor
    controller = FleetController(clock=clock, config=CONFIG, mode=mode)
    for m in miners:
        controller.add_miner(m)
    await controller.poll()
    return Rig(miners, clock, controller)


async def calibrate_first(rig: Rig, count: int) -> None:
    """Run the first `count` miners at full power until their draw is learnt."""
    fleet = len(rig.miners)
    kw = (fleet * S9_CURVE.standby_w + count * (1.06 * S9_CURVE.nominal_w - 50.0)) / 1000.0
    await rig.controller.activate(kw)
    await rig.run(BOOT_S + RAMP_S + 4 * POLL_S)
    learnt = [m for m in rig.miners if rig.controller.power_scale(m.mac) != 1.0]
    assert len(learnt) == count


async def test_bias_of_the_whole_fleet_is_taken_for_the_miners_not_calibrated() -> None:
    rig = await make_rig([1.06] * 10, PowerMode.ON_OFF)
    try:
        assert rig.controller.prior_power_scale == 1.0
        assert rig.controller.snapshot.rated_power_kw == pytest.approx(14.6)
        await calibrate_first(rig, 5)
        assert rig.controller.prior_power_scale == pytest.approx(1.06, abs=0.002)
        # Rated power: all ten as they will draw, not five at the curve's figure.
        assert rig.controller.snapshot.rated_power_kw == pytest.approx(15.48, abs=0.02)
    finally:
        await rig.controller.close()


async def test_a_spread_around_the_curve_is_not_taken_for_a_bias() -> None:
    # The six calibrated: median 0.9975, well within the sample's own uncertainty.
    factors = [0.97, 1.03, 0.985, 1.02, 1.005, 0.99, 1.0, 1.0]
    rig = await make_rig(factors, PowerMode.ON_OFF)
    try:
        await calibrate_first(rig, 6)
        assert rig.controller.prior_power_scale == 1.0
    finally:
        await rig.controller.close()


async def test_miners_started_at_the_fleets_bias_need_no_trim() -> None:
    rig = await make_rig([1.06] * 10, PowerMode.ON_OFF)
    try:
        await calibrate_first(rig, 5)
        await rig.controller.deactivate()
        await rig.controller.set_mode("frequency")
        await rig.run(60.0)
        # Everything at full power: the five new ones are expected to draw 6 % over the curve
        # too, so the target is met as they arrive and no restart is needed to trim it.
        target_kw = rig.controller.snapshot.rated_power_kw
        changes = rig.restarts()
        await rig.controller.activate(target_kw)
        await rig.run(BOOT_S + RAMP_S + 300.0)
        assert rig.restarts() == changes
        assert rig.ground_truth_w == pytest.approx(target_kw * 1000, abs=100)
    finally:
        await rig.controller.close()
