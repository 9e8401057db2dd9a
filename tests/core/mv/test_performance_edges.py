"""The power history and a dispatch's meter at their edges: readings that cannot be used are
left out, old ones age away, an open span ends at the last reading, and a dispatch ended
before any reading has no figures."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.mv import DispatchMeter, PowerHistory


def test_a_reading_that_is_not_finite_or_goes_back_in_time_is_left_out() -> None:
    history = PowerHistory()
    history.add(100.0, 4.0)
    history.add(110.0, math.nan)
    history.add(120.0, math.inf)
    history.add(90.0, 50.0)  # earlier than the last one
    assert history.latest == 4.0
    assert history.energy_kwh(100.0, 3700.0) == pytest.approx(4.0)


def test_readings_older_than_the_kept_span_age_away() -> None:
    history = PowerHistory(keep_s=600.0)
    history.add(0.0, 10.0)
    history.add(300.0, 2.0)
    history.add(900.0, 2.0)  # the first is now older than ten minutes
    # Only the 2 kW seen since counts, also for the part of the span before it.
    assert history.energy_kwh(0.0, 600.0) == pytest.approx(2.0 * 600.0 / 3600.0)


def test_a_span_open_to_the_future_ends_at_the_last_reading() -> None:
    history = PowerHistory()
    history.add(0.0, 3.6)
    history.add(1000.0, 3.6)
    assert history.energy_kwh(0.0, math.inf) == pytest.approx(1.0)
    assert history.energy_kwh(2000.0, math.inf) == 0.0  # starts after it: nothing drawn
    assert history.energy_kwh(500.0, 500.0) == 0.0


def test_a_meter_ignores_readings_from_before_its_start_or_without_a_value() -> None:
    history = PowerHistory()
    history.add(0.0, 1.0)
    meter = DispatchMeter("d1", "openadr", 1000.0, 5.0, history)
    meter.sample(900.0, 5.0)  # before the dispatch
    meter.sample(1100.0, math.nan)
    assert meter.performance().mean_kw is None
    meter.sample(1200.0, 5.0)
    meter.sample(1500.0, 5.0)
    assert meter.performance().mean_kw == pytest.approx(5.0)


def test_a_dispatch_ended_before_any_reading_has_no_figures() -> None:
    meter = DispatchMeter("d1", "ems", 1000.0, 5.0, PowerHistory())
    performance = meter.end(1300.0)
    assert performance.ended_at == 1300.0
    assert performance.baseline_kw == 0.0
    assert performance.mean_kw is None
    assert performance.delivered_kw is None
    assert performance.compliance is None
