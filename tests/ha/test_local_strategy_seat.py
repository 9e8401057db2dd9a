"""How the options become a seated strategy: rules from their settings, nonsense refused with
a log line, an unknown policy read as the default, inputs only from configured entities, and an
input change while a decision runs taken by the next one."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.core.fleet.strategy import StrategyPolicy
from custom_components.net_stabilization.core.strategies import PeakShaving
from custom_components.net_stabilization.local_strategy import (
    StrategyInputs,
    build_rule,
    build_seat,
)
from simulator import SimulatedFleet

FREQUENCY = "sensor.grid_frequency"
S9_KW = 1.46


def test_peak_shaving_is_built_from_its_limit_in_kw() -> None:
    rule = build_rule({"strategy": "peak_shaving", "peak_import_limit_kw": 4.5})
    assert isinstance(rule, PeakShaving)
    assert rule.settings.import_limit_w == 4500.0


async def test_settings_that_make_no_sense_leave_the_strategy_off(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    options = {"strategy": "heat", "heat_setpoint_c": 40.0, "heat_limit_c": 30.0}
    assert build_seat(hass, options) is None
    assert "make no sense" in caplog.text
    assert build_seat(hass, {"strategy": "none"}) is None


async def test_an_unknown_policy_is_read_as_while_the_ems_is_idle(hass: HomeAssistant) -> None:
    seat = build_seat(
        hass, {"strategy": "frequency", "frequency_entity": FREQUENCY, "strategy_policy": "??"}
    )
    assert seat is not None
    assert seat.policy is StrategyPolicy.WHILE_EMS_IDLE


async def test_an_input_without_an_entity_reads_as_missing(hass: HomeAssistant) -> None:
    reader = StrategyInputs(hass, {"strategy": "price", "price_entity": "sensor.price"})
    assert reader.entities == {"price_per_kwh": "sensor.price"}
    assert reader.read("hashprice_per_th_day") is None
    hass.states.async_set("sensor.price", "0.25", {"unit_of_measurement": "EUR/kWh"})
    assert reader().price_per_kwh == 0.25


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    """A droop on the grid frequency; no minimum times."""
    return {
        **options,
        "strategy": "frequency",
        "frequency_entity": FREQUENCY,
        "droop_base_kw": S9_KW,
        "droop_gain_kw_per_hz": S9_KW / 0.18,
        "droop_deadband_hz": 0.02,
        "frequency_trip_hz": 49.5,
        "strategy_band_w": 500.0,
        "strategy_min_on_s": 0.0,
        "strategy_min_off_s": 0.0,
    }


async def test_a_change_during_a_decision_is_taken_by_the_next(
    hass: HomeAssistant, config_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    hass.states.async_set(FREQUENCY, "50.0", {"unit_of_measurement": "Hz"})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    controller = config_entry.runtime_data.controller
    # Two changes in one go: the second arrives while the first is being decided.
    hass.states.async_set(FREQUENCY, "50.1", {"unit_of_measurement": "Hz"})
    hass.states.async_set(FREQUENCY, "49.4", {"unit_of_measurement": "Hz"})
    await hass.async_block_till_done()
    assert controller.snapshot.strategy_target_kw == 0.0  # the trip, the last value, holds
