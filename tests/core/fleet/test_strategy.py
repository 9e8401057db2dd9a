"""The local strategy inside the controller: it decides only while nothing above it does, it
stands the fleet down when switched off, every change of source is in the history, and every
pair of sources resolves in the documented order; judged on the fake miners' draw."""

from __future__ import annotations

import itertools

import pytest

from custom_components.net_stabilization.core.fleet import (
    SiteLimits,
    StrategyPolicy,
    StrategySeat,
    StrategyStatus,
    TargetSource,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from custom_components.net_stabilization.core.strategies import (
    FrequencyDroop,
    FrequencySettings,
    LocalStrategy,
    Pacing,
    SiteInputs,
    SurplusFollower,
)

from .test_controller import Rig, make_rig

FAST = Pacing(band_w=500.0, min_on_s=600.0, min_off_s=600.0)
FULL_W = S9_CURVE.nominal_w


class Site:
    """A site exporting `export_w` before the fleet draws, as its grid sensor reports it."""

    def __init__(self, export_w: float) -> None:
        self.export_w = export_w
        self.rig: Rig | None = None
        self.available = True

    def __call__(self) -> SiteInputs:
        if not self.available:
            return SiteInputs()
        fleet_w = self.rig.ground_truth_w if self.rig is not None else 0.0
        return SiteInputs(grid_w=-self.export_w + fleet_w)


async def surplus_rig(count: int, export_w: float, **seat: object) -> tuple[Rig, Site]:
    site = Site(export_w)
    strategy = StrategySeat(LocalStrategy(SurplusFollower(), FAST), site, **seat)  # type: ignore[arg-type]
    rig = await make_rig(count, strategy=strategy)
    site.rig = rig
    return rig, site


async def test_the_fleet_follows_the_surplus_only_while_the_ems_is_idle() -> None:
    rig, _site = await surplus_rig(4, 3500.0)
    controller = rig.controller
    await rig.run(400.0)
    # Two S9 absorb the 3.5 kW export (on/off: whole miners, nearest).
    assert rig.ground_truth_w == pytest.approx(2 * FULL_W + 2 * 50.0, rel=0.1)
    assert controller.snapshot.target_source == "strategy"
    assert controller.snapshot.strategy_status == "following"
    assert controller.snapshot.strategy == "pv_surplus"
    assert controller.snapshot.strategy_target_kw is not None
    # The EMS takes over: its target, not the strategy's.
    assert (await controller.activate(4 * FULL_W / 1000.0)).accepted
    await rig.run(400.0)
    assert rig.ground_truth_w == pytest.approx(4 * FULL_W, rel=0.05)
    assert controller.snapshot.target_source == "ems"
    assert controller.snapshot.strategy_status == "waiting"
    assert controller.snapshot.strategy_target_kw is None
    # A site limit still stands above the strategy.
    await controller.set_limits(SiteLimits(cap_w=1600.0))
    await rig.run(700.0)
    assert rig.ground_truth_w <= 1600.0 + 200.0
    records = await controller.recent_commands(60)
    assert "strategy_target" in [c.command for c in records]
    changes = [
        (c.parameters["from"], c.parameters["to"])
        for c in reversed(records)
        if c.command == "target_source"
    ]
    assert ("none", "strategy") in changes and ("strategy", "ems") in changes
    # A change of source is a note in the history, not the last command.
    assert controller.snapshot.last_command is not None
    assert controller.snapshot.last_command.command != "target_source"
    await controller.close()


async def test_handed_back_by_the_ems_it_takes_over_at_once() -> None:
    rig, _site = await surplus_rig(4, 3500.0)
    controller = rig.controller
    await rig.run(300.0)  # the strategy started the fleet less than its minimum times ago
    assert (await controller.activate(4 * FULL_W / 1000.0)).accepted
    await rig.run(60.0)
    await controller.deactivate()
    await rig.run(5.0)
    # Its minimum off time paces its own stops, not the EMS's deactivation.
    assert controller.snapshot.target_source == "strategy"
    assert (controller.snapshot.strategy_target_kw or 0.0) > 2.0
    await controller.close()


async def test_switched_off_it_stands_the_fleet_down_and_back_on_it_decides_again() -> None:
    rig, _site = await surplus_rig(4, 3500.0)
    controller = rig.controller
    await rig.run(400.0)
    assert rig.ground_truth_w > FULL_W
    assert (await controller.set_strategy_enabled(False)).accepted
    await rig.run(30.0)
    assert rig.ground_truth_w == pytest.approx(4 * 50.0, abs=60.0)
    assert controller.snapshot.strategy_status == "off"
    assert controller.snapshot.target_source == "none"
    # It stays down (nothing wakes on its own) ...
    await rig.run(700.0)
    assert rig.ground_truth_w < FULL_W
    # ... until it is switched on again (after the minimum off time).
    assert (await controller.set_strategy_enabled(True)).accepted
    await rig.run(400.0)
    assert rig.ground_truth_w > FULL_W
    assert not (await controller.set_strategy_enabled("yes")).accepted
    assert controller.settings().strategy_enabled is True
    await controller.close()


async def test_never_with_an_ems_means_never_once_one_is_configured() -> None:
    rig, _site = await surplus_rig(
        4, 3500.0, policy=StrategyPolicy.NEVER_WITH_EMS, ems_configured=True
    )
    await rig.run(400.0)
    assert rig.ground_truth_w < FULL_W
    assert rig.controller.strategy_status is StrategyStatus.BLOCKED
    await rig.controller.close()


async def test_an_unavailable_sensor_wakes_nothing_new() -> None:
    rig, site = await surplus_rig(4, 0.0)
    site.available = False
    site.export_w = 9000.0  # the sun comes out, but nobody can see it
    await rig.run(700.0)
    assert rig.ground_truth_w < FULL_W
    assert rig.controller.strategy_status is StrategyStatus.HOLDING
    site.available = True
    await rig.run(400.0)
    assert rig.ground_truth_w > 2 * FULL_W
    await rig.controller.close()


async def test_a_restart_takes_back_the_strategys_target_and_its_minimum_times() -> None:
    rig, _site = await surplus_rig(4, 3500.0)
    await rig.run(400.0)
    settings = rig.controller.settings()
    assert settings.strategy_target_kw is not None and settings.strategy_target_kw > 2.0
    again, _ = await surplus_rig(4, 0.0)  # the sun went while Home Assistant restarted
    again.controller.restore(settings)
    assert again.controller.snapshot.strategy_target_kw == settings.strategy_target_kw
    await again.controller.close()
    await rig.controller.close()


async def test_a_frequency_step_is_answered_without_waiting_for_a_poll() -> None:
    frequency = [50.0]
    droop = FrequencyDroop(
        FrequencySettings(base_w=3 * FULL_W, gain_w_per_hz=10 * FULL_W, deadband_hz=0.02)
    )
    seat = StrategySeat(LocalStrategy(droop, FAST), lambda: SiteInputs(frequency_hz=frequency[0]))
    rig = await make_rig(4, strategy=seat)
    await rig.run(400.0)
    assert rig.ground_truth_w == pytest.approx(3 * FULL_W + 50.0, rel=0.1)
    frequency[0] = 49.8  # 180 mHz beyond the deadband: 1.8 miners less
    await rig.controller.follow_strategy_now()
    await rig.controller.wait_idle()
    assert rig.ground_truth_w == pytest.approx(1 * FULL_W + 3 * 50.0, rel=0.1)
    frequency[0] = 49.4  # under the trip frequency: all of it
    await rig.controller.follow_strategy_now()
    await rig.controller.wait_idle()
    assert rig.ground_truth_w == pytest.approx(4 * 50.0, abs=60.0)
    await rig.controller.close()


SOURCES = ("safety", "limit", "override", "ems", "strategy")
ORDER = {s: i for i, s in enumerate(SOURCES)}


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(SOURCES, 2)))
async def test_every_pair_of_sources_resolves_in_order(a: str, b: str) -> None:
    """Two sources at once: the higher one decides; the limit only where it binds."""
    rig, _site = await surplus_rig(4, 2.5 * FULL_W)
    controller = rig.controller
    await rig.run(10.0)
    # The lower source first: a higher one in force refuses the lower's commands (409).
    for source in (b, a):
        match source:
            case "safety" | "limit":
                cap = 1.0 * FULL_W if "limit" in (a, b) else None
                await controller.set_limits(SiteLimits(tripped="safety" in (a, b), cap_w=cap))
            case "override":
                assert (await controller.set_override(True, 3 * FULL_W / 1000.0)).accepted
            case "ems":
                assert (await controller.activate(4 * FULL_W / 1000.0)).accepted
    await rig.run(400.0)
    winner = min((a, b), key=ORDER.__getitem__)
    snapshot = controller.snapshot
    assert snapshot.target_source == TargetSource(winner).value
    expected_kw = {
        "safety": 0.0,
        "limit": FULL_W / 1000.0,
        "override": 3 * FULL_W / 1000.0,
        "ems": 4 * FULL_W / 1000.0,
    }.get(winner)
    if expected_kw is not None:
        assert snapshot.target_kw == pytest.approx(expected_kw, abs=0.01)
    else:
        assert snapshot.target_kw is not None and snapshot.target_kw > FULL_W / 1000.0
    # Judged on what the miners draw, not on what the controller believes.
    assert rig.ground_truth_w <= 1000.0 * (snapshot.target_kw or 0.0) + FULL_W / 2 + 200.0
    await controller.close()
