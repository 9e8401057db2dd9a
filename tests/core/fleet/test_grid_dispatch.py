"""The grid's dispatch (OpenADR events) in the fleet's precedence: above the EMS, below the
manual override and the limits; its caps are limits; the EMS's target comes back at its end;
judged on the fake miners' draw."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import (
    GridDispatch,
    SiteLimits,
    StrategySeat,
    TargetSource,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from custom_components.net_stabilization.core.strategies import (
    LocalStrategy,
    Pacing,
    SiteInputs,
    SurplusFollower,
)

from .test_controller import make_rig

FULL_W = S9_CURVE.nominal_w
STANDBY_W = S9_CURVE.standby_w


async def test_a_grid_target_ranks_above_the_ems_and_hands_back_at_its_end() -> None:
    rig = await make_rig(4)
    fleet = rig.controller
    assert (await fleet.activate(4 * FULL_W / 1000.0)).accepted
    await rig.run(300)
    assert rig.ground_truth_w == pytest.approx(4 * FULL_W, rel=0.05)
    await fleet.set_grid_dispatch(GridDispatch(target_w=FULL_W, events="e1"))
    await rig.run(30)
    assert fleet.snapshot.target_source == TargetSource.OPENADR
    assert rig.ground_truth_w == pytest.approx(FULL_W + 3 * STANDBY_W, rel=0.05)
    # The EMS may change its target meanwhile: kept for after the event.
    result = await fleet.activate(3 * FULL_W / 1000.0)
    assert result.accepted and "grid" in result.message
    await rig.run(30)
    assert rig.ground_truth_w == pytest.approx(FULL_W + 3 * STANDBY_W, rel=0.05)
    await fleet.set_grid_dispatch(GridDispatch())
    await rig.run(300)
    assert fleet.snapshot.target_source == TargetSource.EMS
    assert rig.ground_truth_w == pytest.approx(3 * FULL_W + STANDBY_W, rel=0.05)
    await fleet.close()


async def test_an_ems_deactivation_during_an_event_keeps_the_event() -> None:
    rig = await make_rig(3)
    fleet = rig.controller
    await fleet.activate(3 * FULL_W / 1000.0)
    await fleet.set_grid_dispatch(GridDispatch(target_w=2 * FULL_W, events="e1"))
    await rig.run(300)
    assert (await fleet.deactivate()).accepted
    await rig.run(30)
    assert rig.ground_truth_w == pytest.approx(2 * FULL_W + STANDBY_W, rel=0.05)
    await fleet.set_grid_dispatch(GridDispatch())
    await rig.run(30)
    assert rig.ground_truth_w == pytest.approx(3 * STANDBY_W, rel=0.05)
    await fleet.close()


async def test_the_override_and_the_site_limits_stay_above_the_grid() -> None:
    rig = await make_rig(4)
    fleet = rig.controller
    await fleet.set_grid_dispatch(GridDispatch(target_w=4 * FULL_W, events="e1"))
    await fleet.set_override(True, 1 * FULL_W / 1000.0)
    await rig.run(300)
    assert fleet.snapshot.target_source == TargetSource.OVERRIDE
    assert rig.ground_truth_w == pytest.approx(FULL_W + 3 * STANDBY_W, rel=0.05)
    await fleet.set_override(False)
    await fleet.set_limits(SiteLimits(cap_w=2 * FULL_W + 100))
    await rig.run(300)
    assert fleet.snapshot.target_source == TargetSource.LIMIT
    assert rig.ground_truth_w <= 2 * FULL_W + 100 + 2 * STANDBY_W
    await fleet.close()


async def test_a_grid_cap_and_a_site_cap_hold_together() -> None:
    rig = await make_rig(4)
    fleet = rig.controller
    await fleet.activate(4 * FULL_W / 1000.0)
    await fleet.set_limits(SiteLimits(cap_w=3 * FULL_W))
    await fleet.set_grid_dispatch(GridDispatch(cap_w=FULL_W, events="limit"))
    assert fleet.limits.cap_w == FULL_W
    await fleet.set_limits(SiteLimits(cap_w=3 * FULL_W + 10))  # the site's own changes
    assert fleet.limits.cap_w == FULL_W  # the grid's lower cap still holds
    await fleet.set_grid_dispatch(GridDispatch())
    assert fleet.limits.cap_w == 3 * FULL_W + 10
    await fleet.close()


async def test_a_grid_target_holds_the_local_strategy_back() -> None:
    def inputs() -> SiteInputs:
        return SiteInputs(grid_w=-10_000.0)

    seat = StrategySeat(LocalStrategy(SurplusFollower(), Pacing(500.0, 0.0, 0.0)), inputs)
    rig = await make_rig(4, strategy=seat)
    fleet = rig.controller
    await rig.run(300)
    assert fleet.snapshot.target_source == TargetSource.STRATEGY
    await fleet.set_grid_dispatch(GridDispatch(target_w=0.0, events="shed"))
    await rig.run(30)
    assert fleet.snapshot.target_source == TargetSource.OPENADR
    assert fleet.snapshot.strategy_status == "waiting"
    assert rig.ground_truth_w == pytest.approx(4 * STANDBY_W, rel=0.05)
    await fleet.close()


async def test_every_change_of_the_grid_dispatch_is_in_the_history() -> None:
    rig = await make_rig(2)
    fleet = rig.controller
    await fleet.set_grid_dispatch(GridDispatch(target_w=FULL_W, events="e7"))
    assert await fleet.set_grid_dispatch(GridDispatch(target_w=FULL_W, events="e7")) is None
    await fleet.set_grid_dispatch(GridDispatch())
    records = [r for r in await fleet.recent_commands(10) if r.command == "grid_dispatch"]
    assert [r.source for r in records] == ["openadr", "openadr"]
    assert "e7" in records[1].message
    await fleet.close()
