"""The PV-surplus strategy: the fleet absorbs the site's export while the EMS is idle, with a
band and minimum on/off times, and wakes nothing new without a reading."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import SiteLimits
from custom_components.net_stabilization.core.fleet.strategy import (
    SurplusFollower,
    SurplusSettings,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .test_controller import Rig, make_rig

FAST = SurplusSettings(reserve_w=200.0, band_w=500.0, min_on_s=600.0, min_off_s=600.0)


def test_it_absorbs_export_within_band_and_minimum_times() -> None:
    follower = SurplusFollower(FAST)
    # 3 kW exported, fleet asleep (100 W): it may draw 3.1 kW less the reserve.
    assert follower.follow(0.0, -3000.0, 100.0, 10_000.0) == pytest.approx(2900.0)
    # A small change is not followed; a large one is.
    assert follower.follow(60.0, -200.0, 3000.0, 10_000.0) == pytest.approx(2900.0)
    assert follower.follow(120.0, -1000.0, 2900.0, 10_000.0) == pytest.approx(3700.0)
    # Less sun: the fleet follows down to what is left.
    assert follower.follow(200.0, 3000.0, 3700.0, 10_000.0) == pytest.approx(500.0)
    # A cloud: nothing left. Within the minimum on time the fleet keeps running.
    assert follower.follow(300.0, 4000.0, 3700.0, 10_000.0) == pytest.approx(500.0)
    follower.target_w = 3700.0
    assert follower.follow(300.0, 4000.0, 3700.0, 10_000.0) == pytest.approx(3700.0)
    assert follower.follow(700.0, 4000.0, 3700.0, 10_000.0) == 0.0
    # Back in the sun, but the fleet rests for its minimum off time first.
    assert follower.follow(800.0, -5000.0, 100.0, 10_000.0) == 0.0
    assert follower.follow(1400.0, -5000.0, 100.0, 10_000.0) == pytest.approx(4900.0)
    # Never more than rated.
    assert follower.follow(1500.0, -50_000.0, 4900.0, 10_000.0) == 10_000.0


def test_without_a_reading_it_wakes_nothing_new() -> None:
    follower = SurplusFollower(FAST)
    assert follower.follow(0.0, -3000.0, 100.0, 10_000.0) == pytest.approx(2900.0)
    # The sensor is gone while only 1.5 kW of it runs yet: that is all it keeps.
    assert follower.follow(30.0, None, 1500.0, 10_000.0) == pytest.approx(1500.0)
    assert follower.follow(60.0, float("nan"), 2900.0, 10_000.0) == pytest.approx(1500.0)


async def test_the_fleet_follows_the_surplus_only_while_the_ems_is_idle() -> None:
    # The site exports 3.5 kW with the fleet asleep; what the fleet draws it no longer exports.
    holder: list[Rig] = []

    def grid_kw() -> float:
        fleet_kw = holder[0].ground_truth_w / 1000.0 if holder else 0.2
        return -3.5 - 0.2 + fleet_kw

    rig = await make_rig(4, strategy=SurplusFollower(FAST), grid_meter=grid_kw)
    holder.append(rig)
    controller = rig.controller
    await rig.run(400.0)
    # Two S9 absorb the 3.5 kW export (on/off: whole miners, nearest).
    assert rig.ground_truth_w == pytest.approx(2 * S9_CURVE.nominal_w + 2 * 50.0, rel=0.1)
    assert controller.snapshot.target_source == "strategy"
    # The EMS takes over: its target, not the strategy's.
    assert (await controller.activate(4 * S9_CURVE.nominal_w / 1000.0)).accepted
    await rig.run(400.0)
    assert rig.ground_truth_w == pytest.approx(4 * S9_CURVE.nominal_w, rel=0.05)
    assert controller.snapshot.target_source == "ems"
    # A site limit still stands above the strategy.
    await controller.deactivate()
    await controller.set_limits(SiteLimits(cap_w=1600.0))
    await rig.run(700.0)
    assert rig.ground_truth_w <= 1600.0 + 200.0
    history = [c.command for c in await controller.recent_commands(30)]
    assert "strategy_target" in history
    await controller.close()
