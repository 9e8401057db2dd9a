"""Settings a strategy cannot work with are refused when they are made, naming the problem;
pacing can be reset and resumed."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from custom_components.net_stabilization.core.strategies import (
    FleetView,
    FrequencySettings,
    HeatSettings,
    LocalStrategy,
    Pacing,
    PeakSettings,
    PeakShaving,
    PriceSettings,
    SiteInputs,
    SurplusFollower,
    SurplusSettings,
)
from custom_components.net_stabilization.core.strategies.units import price_per_kwh, temperature_c


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: HeatSettings(setpoint_c=math.nan), "setpoint"),
        (lambda: HeatSettings(setpoint_c=40.0, band_k=0.0), "band"),
        (lambda: HeatSettings(setpoint_c=40.0, band_k=math.inf), "band"),
        (lambda: HeatSettings(setpoint_c=40.0, limit_c=40.0), "limit"),
        (lambda: PeakSettings(import_limit_w=-1.0), "import_limit_w"),
        (lambda: PeakSettings(import_limit_w=5000.0, margin_w=math.nan), "margin_w"),
        (lambda: SurplusSettings(reserve_w=-5.0), "reserve"),
        (lambda: SurplusSettings(feed_in_limit_w=math.inf), "feed-in"),
        (lambda: PriceSettings(hysteresis_per_kwh=-0.01), "hysteresis"),
        (lambda: PriceSettings(assumed_joules_per_th=0.0), "efficiency"),
        (lambda: FrequencySettings(base_w=None, gain_w_per_hz=-1.0), "gain_w_per_hz"),
        (lambda: FrequencySettings(base_w=None, gain_w_per_hz=1.0, trip_hz=49.99), "trip"),
        (lambda: Pacing(band_w=-1.0), "band_w"),
        (lambda: Pacing(min_on_s=math.nan), "min_on_s"),
    ],
)
def test_settings_that_cannot_work_are_refused(make: Callable[[], object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make()


def test_settings_at_their_bounds_are_taken() -> None:
    assert HeatSettings(setpoint_c=40.0, limit_c=40.1).limit_c == 40.1
    assert PeakSettings(import_limit_w=0.0, margin_w=0.0).margin_w == 0.0
    assert SurplusSettings(reserve_w=0.0, feed_in_limit_w=0.0).feed_in_limit_w == 0.0
    assert FrequencySettings(base_w=0.0, gain_w_per_hz=0.0).trip_hz == 49.5


def test_a_reset_forgets_the_decision_and_a_resume_restarts_the_minimum_times() -> None:
    strategy = LocalStrategy(
        SurplusFollower(SurplusSettings(reserve_w=0.0)),
        Pacing(band_w=500.0, min_on_s=600.0, min_off_s=600.0),
    )
    assert strategy.name == "pv_surplus"
    fleet = FleetView(fleet_w=0.0, rated_w=10_000.0, joules_per_th=None)
    assert strategy.decide(0.0, SiteInputs(grid_w=-3000.0), fleet) == 3000.0
    strategy.reset()
    assert strategy.target_w is None
    # Resumed after a restart at 2 kW: it runs its minimum time from now, export or not.
    strategy.resume(1000.0, 2000.0)
    running = FleetView(fleet_w=2000.0, rated_w=10_000.0, joules_per_th=None)
    assert strategy.decide(1100.0, SiteInputs(grid_w=2000.0), running) == 2000.0
    assert strategy.decide(1700.0, SiteInputs(grid_w=2000.0), running) == 0.0


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("20", "°F", pytest.approx(-6.667, abs=0.01)), ("300", "K", pytest.approx(26.85))],
)
def test_temperatures_come_in_three_units(text: str, unit: str, expected: object) -> None:
    assert temperature_c(text, unit) == expected


def test_a_price_without_a_currency_is_no_price() -> None:
    assert price_per_kwh("0.30", "/kWh") is None


def test_peak_shaving_without_a_grid_reading_wants_nothing_new() -> None:
    rule = PeakShaving(PeakSettings(import_limit_w=5000.0))
    fleet = FleetView(fleet_w=1000.0, rated_w=10_000.0, joules_per_th=None)
    assert rule.want(SiteInputs(), fleet) is None
    want = rule.want(SiteInputs(grid_w=6000.0), fleet)
    assert want is not None and want.urgent
