"""Each local strategy's rule and the pacing that keeps miners from cycling."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.strategies import (
    FleetView,
    FrequencyDroop,
    FrequencySettings,
    HeatDemand,
    HeatSettings,
    LocalStrategy,
    Pacing,
    PeakSettings,
    PeakShaving,
    PriceFollower,
    PriceSettings,
    SiteInputs,
    SurplusFollower,
    SurplusSettings,
    break_even_per_kwh,
)

PACING = Pacing(band_w=500.0, min_on_s=600.0, min_off_s=600.0)
FLEET = FleetView(fleet_w=100.0, rated_w=10_000.0, joules_per_th=50.0)


def view(fleet_w: float, rated_w: float = 10_000.0, jth: float | None = 50.0) -> FleetView:
    return FleetView(fleet_w=fleet_w, rated_w=rated_w, joules_per_th=jth)


def test_surplus_absorbs_export_within_band_and_minimum_times() -> None:
    s = LocalStrategy(SurplusFollower(SurplusSettings(reserve_w=200.0)), PACING)
    # 3 kW exported, fleet asleep (100 W): it may draw 3.1 kW less the reserve.
    assert s.decide(0.0, SiteInputs(grid_w=-3000.0), view(100.0)) == pytest.approx(2900.0)
    # A small change is not followed; a large one is.
    assert s.decide(60.0, SiteInputs(grid_w=-200.0), view(3000.0)) == pytest.approx(2900.0)
    assert s.decide(120.0, SiteInputs(grid_w=-1000.0), view(2900.0)) == pytest.approx(3700.0)
    # Less sun: the fleet follows down to what is left.
    assert s.decide(200.0, SiteInputs(grid_w=3000.0), view(3700.0)) == pytest.approx(500.0)
    # A cloud: nothing left. Within the minimum on time the fleet keeps running.
    assert s.decide(300.0, SiteInputs(grid_w=4000.0), view(500.0)) == pytest.approx(500.0)
    assert s.decide(700.0, SiteInputs(grid_w=4000.0), view(500.0)) == 0.0
    # Back in the sun, but the fleet rests for its minimum off time first.
    assert s.decide(800.0, SiteInputs(grid_w=-5000.0), view(100.0)) == 0.0
    assert s.decide(1400.0, SiteInputs(grid_w=-5000.0), view(100.0)) == pytest.approx(4900.0)
    # Never more than rated.
    assert s.decide(1500.0, SiteInputs(grid_w=-50_000.0), view(4900.0)) == 10_000.0


def test_an_export_over_the_feed_in_limit_is_absorbed_at_once() -> None:
    rule = SurplusFollower(SurplusSettings(reserve_w=200.0, feed_in_limit_w=3000.0))
    s = LocalStrategy(rule, PACING)
    assert s.decide(0.0, SiteInputs(grid_w=-2000.0), view(100.0)) == pytest.approx(1900.0)
    assert s.decide(60.0, SiteInputs(grid_w=1000.0), view(1900.0)) == pytest.approx(700.0)
    assert s.decide(660.0, SiteInputs(grid_w=1000.0), view(700.0)) == 0.0
    # Minimum off time: an export under the feed-in limit waits ...
    assert s.decide(700.0, SiteInputs(grid_w=-2500.0), view(100.0)) == 0.0
    # ... one over it does not: the inverter would curtail it.
    assert s.decide(710.0, SiteInputs(grid_w=-4000.0), view(100.0)) == pytest.approx(3900.0)


def test_without_a_reading_nothing_new_is_woken() -> None:
    s = LocalStrategy(SurplusFollower(), PACING)
    assert s.decide(0.0, SiteInputs(grid_w=-3000.0), view(100.0)) == pytest.approx(2900.0)
    # The sensor is gone while only 1.5 kW of it runs yet: that is all it keeps.
    assert s.decide(30.0, SiteInputs(), view(1500.0)) == pytest.approx(1500.0)
    assert s.holding
    assert s.decide(60.0, SiteInputs(grid_w=math.nan), view(2900.0)) == pytest.approx(1500.0)
    assert s.decide(90.0, SiteInputs(grid_w=-3000.0), view(1500.0)) == pytest.approx(4300.0)
    assert not s.holding


def test_break_even_from_hashprice_and_efficiency() -> None:
    # 1 TH/s at 25 J/TH draws 0.6 kWh a day; at 0.06 per TH/s and day that pays 0.10 per kWh.
    assert break_even_per_kwh(0.06, 25.0) == pytest.approx(0.1)
    assert break_even_per_kwh(0.06, 0.0) is None
    assert break_even_per_kwh(0.06, math.inf) is None


def test_price_threshold_with_hysteresis() -> None:
    rule = PriceFollower(PriceSettings(threshold_per_kwh=0.10, hysteresis_per_kwh=0.01))
    s = LocalStrategy(rule, Pacing(band_w=500.0, min_on_s=0.0, min_off_s=0.0))
    assert s.decide(0.0, SiteInputs(price_per_kwh=0.095), FLEET) == 0.0  # not 0.01 below
    assert s.decide(1.0, SiteInputs(price_per_kwh=0.089), FLEET) == 10_000.0
    assert s.decide(2.0, SiteInputs(price_per_kwh=0.099), FLEET) == 10_000.0  # keeps on
    assert s.decide(3.0, SiteInputs(price_per_kwh=0.101), FLEET) == 0.0
    assert s.decide(4.0, SiteInputs(price_per_kwh=None), FLEET) == 0.0  # nothing new


def test_price_break_even_uses_the_measured_efficiency_or_a_conservative_one() -> None:
    rule = PriceFollower(PriceSettings(hashprice_per_th_day=0.06))
    inputs = SiteInputs(price_per_kwh=0.05)
    # Measured 25 J/TH: break-even 0.10, the price is below it.
    assert rule.limit_per_kwh(inputs, view(0.0, jth=25.0)) == pytest.approx(0.1)
    want = rule.want(inputs, view(0.0, jth=25.0))
    assert want is not None and want.power_w == 10_000.0
    # Nothing measured yet: taken as 100 J/TH, break-even 0.025: it does not start.
    want = rule.want(inputs, view(0.0, jth=None))
    assert want is not None and want.power_w == 0.0
    # A hashprice entity overrides the fixed number.
    assert rule.limit_per_kwh(
        SiteInputs(price_per_kwh=0.05, hashprice_per_th_day=0.12), view(0.0, jth=25.0)
    ) == pytest.approx(0.2)
    # No hashprice at all: no decision.
    assert PriceFollower(PriceSettings()).want(inputs, FLEET) is None


def test_peak_shaving_fills_the_headroom_and_sheds_at_once_when_over() -> None:
    s = LocalStrategy(PeakShaving(PeakSettings(import_limit_w=20_000.0)), PACING)
    # The site imports 12 kW with the fleet at 0.1 kW: 7.8 kW headroom under the margin.
    assert s.decide(0.0, SiteInputs(grid_w=12_000.0), view(100.0)) == pytest.approx(7900.0)
    # A kettle: import 21 kW. Over the limit: the fleet sheds now, minimum on time or not.
    got = s.decide(10.0, SiteInputs(grid_w=21_000.0), view(7900.0))
    assert got == pytest.approx(7900.0 - 1200.0)


def test_frequency_droop_deadband_gain_and_trip() -> None:
    rule = FrequencyDroop(
        FrequencySettings(base_w=6000.0, gain_w_per_hz=20_000.0, deadband_hz=0.02)
    )
    s = LocalStrategy(rule, PACING)
    assert s.decide(0.0, SiteInputs(frequency_hz=50.01), FLEET) == 6000.0
    # -200 mHz: 180 mHz beyond the deadband, 3.6 kW less, at once (no minimum time).
    assert s.decide(1.0, SiteInputs(frequency_hz=49.8), FLEET) == pytest.approx(2400.0)
    # Over-frequency adds load.
    assert s.decide(2.0, SiteInputs(frequency_hz=50.12), FLEET) == pytest.approx(8000.0)
    # At the trip frequency everything goes, whatever the band and the minimum on time.
    assert s.decide(3.0, SiteInputs(frequency_hz=49.5), FLEET) == 0.0
    # Not a grid frequency (a sensor in mHz read as Hz): no decision, nothing new.
    assert rule.want(SiteInputs(frequency_hz=49_800.0), FLEET) is None
    # Without a base it runs at half the rated power.
    half = FrequencyDroop(FrequencySettings(base_w=None, gain_w_per_hz=1000.0))
    assert half.target_w(50.0, 10_000.0) == 5000.0


def test_frequency_settings_must_make_sense() -> None:
    with pytest.raises(ValueError):
        FrequencySettings(base_w=1.0, gain_w_per_hz=1.0, trip_hz=49.99)
    with pytest.raises(ValueError):
        FrequencySettings(base_w=-1.0, gain_w_per_hz=1.0)


def test_heat_follows_the_setpoint_and_stops_at_the_limit() -> None:
    rule = HeatDemand(HeatSettings(setpoint_c=55.0, band_k=5.0, limit_c=60.0))
    s = LocalStrategy(rule, PACING)
    assert s.decide(0.0, SiteInputs(temperature_c=45.0), FLEET) == 10_000.0
    assert s.decide(100.0, SiteInputs(temperature_c=52.5), FLEET) == pytest.approx(5000.0)
    # At the setpoint it would stop, but the minimum on time holds ...
    assert s.decide(200.0, SiteInputs(temperature_c=55.0), FLEET) == pytest.approx(5000.0)
    # ... not at the limit.
    assert s.decide(210.0, SiteInputs(temperature_c=60.0), FLEET) == 0.0
    assert rule.want(SiteInputs(temperature_c=999.0), FLEET) is None
    with pytest.raises(ValueError):
        HeatSettings(setpoint_c=55.0, limit_c=50.0)


def test_non_finite_inputs_count_as_missing() -> None:
    inputs = SiteInputs(grid_w=math.inf, price_per_kwh=math.nan, frequency_hz=-math.inf)
    assert inputs.grid_w is None and inputs.price_per_kwh is None
    assert inputs.frequency_hz is None


def test_between_polls_a_rule_on_the_fleets_draw_takes_only_urgent_wishes() -> None:
    rule = SurplusFollower(SurplusSettings(reserve_w=200.0, feed_in_limit_w=5000.0))
    s = LocalStrategy(rule, PACING)
    assert s.decide(0.0, SiteInputs(grid_w=-3000.0), view(100.0)) == pytest.approx(2900.0)
    # A miner was just put to sleep: the grid shows the export, the last poll still shows the
    # miner. Taking both would wake it again.
    assert s.decide(5.0, SiteInputs(grid_w=-2000.0), view(2900.0), between_polls=True) == 2900.0
    # An export over the feed-in limit cannot wait for the poll.
    got = s.decide(6.0, SiteInputs(grid_w=-6000.0), view(2900.0), between_polls=True)
    assert got == pytest.approx(8700.0)
    # A rule on other inputs decides between polls as at a poll.
    droop = LocalStrategy(
        FrequencyDroop(FrequencySettings(base_w=5000.0, gain_w_per_hz=10_000.0)), PACING
    )
    assert droop.decide(0.0, SiteInputs(frequency_hz=50.0), FLEET, between_polls=True) == 5000.0
