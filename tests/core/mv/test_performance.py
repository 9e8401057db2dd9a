"""Measurement and verification of a dispatch: baseline, delivered change, response, energy
shifted and compliance, for OpenADR events and EMS activations alike; kept in the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.net_stabilization.core.mv import (
    DispatchMeter,
    DispatchTracker,
    Performance,
    PowerHistory,
)
from custom_components.net_stabilization.core.store import FleetStore


def curtailment(history: PowerHistory) -> DispatchMeter:
    """10 kW for the 15 min before t=0, then a shed to 4 kW reached after 60 s."""
    for t in range(-1800, 1, 10):
        history.add(float(t), 10.0 if t >= -900 else 20.0)
    meter = DispatchMeter("e1", "openadr", 0.0, 4.0, history)
    for t in range(0, 601, 10):
        meter.sample(float(t), 10.0 if t < 60 else 4.0)
    return meter


def test_the_baseline_is_the_mean_of_the_window_before_the_start() -> None:
    meter = curtailment(PowerHistory())
    assert meter.baseline_kw == pytest.approx(10.0, abs=0.05)


def test_delivered_change_response_energy_and_compliance() -> None:
    figures = curtailment(PowerHistory()).end(600.0)
    assert figures.requested_kw == pytest.approx(-6.0, abs=0.05)
    assert figures.response_s == 60.0
    # 60 s at 10 kW, 540 s at 4 kW: mean 4.6 kW; shifted (4.6 - 10) kW over 10 min.
    assert figures.mean_kw == pytest.approx(4.6, abs=0.01)
    assert figures.delivered_kw == pytest.approx(-5.4, abs=0.05)
    assert figures.energy_shifted_kwh == pytest.approx(-5.4 / 6, abs=0.01)
    assert figures.compliance == pytest.approx(0.9, abs=0.01)
    assert figures.error_kw == pytest.approx(0.0, abs=1e-9)


def test_a_dispatch_that_never_gets_there_has_no_response_time() -> None:
    history = PowerHistory()
    history.add(-60.0, 2.0)
    meter = DispatchMeter("e2", "ems", 0.0, 12.0, history)
    for t in range(0, 301, 5):
        meter.sample(float(t), 5.0)
    figures = meter.end(300.0)
    assert figures.response_s is None
    assert figures.compliance == pytest.approx(0.3)


def test_the_tracker_measures_every_ems_and_openadr_dispatch() -> None:
    done: list[Performance] = []
    tracker = DispatchTracker(done.append)
    t = 0.0
    for source, target, power, seconds in (
        ("none", None, 0.5, 1200),
        ("ems", 8.0, 8.0, 1200),
        ("openadr", 3.0, 3.0, 600),
        ("ems", 8.0, 8.0, 300),
        ("none", None, 0.5, 60),
    ):
        for _ in range(int(seconds / 5)):
            tracker.observe(t, source, target, power)
            t += 5.0
    assert [p.source for p in done] == ["ems", "openadr", "ems"]
    assert done[0].baseline_kw == pytest.approx(0.5)
    assert done[1].baseline_kw == pytest.approx(8.0)
    assert done[1].delivered_kw == pytest.approx(-5.0, abs=0.05)
    assert tracker.current is None


async def test_figures_are_kept_in_the_fleet_database(tmp_path: Path) -> None:
    store = FleetStore(tmp_path / "fleet.db")
    await store.open()
    figures = curtailment(PowerHistory()).end(600.0)
    assert await store.record_performance(figures.as_json())
    rows = await store.recent_performance()
    assert rows[0]["dispatchId"] == "e1"
    assert rows[0]["compliance"] == pytest.approx(0.9, abs=0.01)
    await store.close()


def test_a_span_open_to_the_future_ends_at_the_last_reading() -> None:
    history = PowerHistory()
    for t in range(0, 601, 60):
        history.add(float(t), 3.0)
    assert history.mean_kw(0.0, float("inf")) == pytest.approx(3.0)
