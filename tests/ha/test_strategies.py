"""Local strategies in Home Assistant: configured in the options flow, fed from entities in
their own units, answered at once when an input changes, switched by an entity, and every
change of source announced."""

from __future__ import annotations

import time
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.net_stabilization import local_strategy
from custom_components.net_stabilization.const import DOMAIN, EVENT_SOURCE_CHANGED
from custom_components.net_stabilization.diagnostics import fleet_diagnostics
from custom_components.net_stabilization.local_strategy import StrategyInputs
from simulator import SimulatedFleet

FREQUENCY = "sensor.grid_frequency"
PRICE = "sensor.day_ahead_price"
GRID = "sensor.grid_import"
S9_KW = 1.46


async def options_flow(hass: HomeAssistant, entry: MockConfigEntry, strategy: str) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"control": {"strategy": strategy}}
    )


async def test_each_strategy_has_its_form_and_a_complete_one_is_stored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await options_flow(hass, loaded_entry, "pv_surplus")
    assert result["step_id"] == "strategy"
    # Without its sensor the strategy cannot run: the form requires it.
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], {})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"grid_import_entity": GRID, "feed_in_limit_kw": 7.0, "strategy_min_off_s": 300},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the entry reloads with its new options
    assert loaded_entry.options["strategy"] == "pv_surplus"
    assert loaded_entry.options["feed_in_limit_kw"] == 7.0
    assert loaded_entry.options["strategy_min_off_s"] == 300.0
    # Another strategy replaces the first one's settings.
    result = await options_flow(hass, loaded_entry, "heat")
    # The form suggests what the last one had (pacing) and the defaults (band, policy).
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"heat_temperature_entity": "sensor.tank", "heat_setpoint_c": 55, "heat_limit_c": 60},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options["strategy"] == "heat"
    assert "feed_in_limit_kw" not in loaded_entry.options
    # None: no strategy settings are left at all.
    result = await options_flow(hass, loaded_entry, "none")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "heat_setpoint_c" not in loaded_entry.options


@pytest.mark.parametrize(
    ("strategy", "given", "errors"),
    [
        ("price", {"price_entity": PRICE}, {"price_threshold": "price_needs_limit"}),
        (
            "price",
            {"price_entity": PRICE, "price_threshold": 99.0},
            {"range": "schema"},
        ),
        (
            "frequency",
            {"frequency_entity": FREQUENCY, "droop_gain_kw_per_hz": 5, "frequency_trip_hz": 49.99},
            {"range": "schema"},
        ),
        (
            "frequency",
            {
                "frequency_entity": FREQUENCY,
                "droop_gain_kw_per_hz": 5,
                "droop_deadband_hz": 0.1,
                "frequency_trip_hz": 49.95,
            },
            {"frequency_trip_hz": "trip_inside_deadband"},
        ),
        (
            "heat",
            {"heat_temperature_entity": "sensor.tank", "heat_setpoint_c": 55, "heat_limit_c": 50},
            {"heat_limit_c": "limit_below_setpoint"},
        ),
        (
            "peak_shaving",
            {"grid_import_entity": GRID, "peak_import_limit_kw": 0},
            {"range": "schema"},
        ),
    ],
)
async def test_settings_that_make_no_sense_are_refused(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    strategy: str,
    given: dict[str, Any],
    errors: dict[str, str],
) -> None:
    result = await options_flow(hass, loaded_entry, strategy)
    # Only what the test gives: the form's suggestions are not defaults.
    if errors == {"range": "schema"}:  # out of a selector's range: the form itself refuses it
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(result["flow_id"], given)
        return
    result = await hass.config_entries.options.async_configure(result["flow_id"], given)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    """A droop on a frequency sensor in mHz: one S9 at 50 Hz, two above 50.2, none below the
    trip; no minimum times."""
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


@pytest.fixture
async def frequency_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    hass.states.async_set(FREQUENCY, "50000", {"unit_of_measurement": "mHz"})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await config_entry.runtime_data.coordinator.async_poll_now()
    return config_entry


async def test_a_frequency_excursion_is_answered_without_waiting_for_the_poll(
    hass: HomeAssistant, frequency_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    controller = frequency_entry.runtime_data.controller
    events = async_capture_events(hass, EVENT_SOURCE_CHANGED)
    snapshot = controller.snapshot
    assert snapshot.target_source == "strategy"
    assert snapshot.strategy_target_kw == pytest.approx(S9_KW, abs=0.01)
    target = hass.states.get("sensor.mining_fleet_strategy_target")
    assert target is not None and float(target.state) == pytest.approx(S9_KW, abs=0.01)
    # Over-frequency: both miners; no poll in between.
    hass.states.async_set(FREQUENCY, "50200", {"unit_of_measurement": "mHz"})
    await hass.async_block_till_done()
    assert controller.snapshot.strategy_target_kw == pytest.approx(2 * S9_KW, abs=0.01)
    # Below the trip: nothing runs, at once, and the miners are told.
    hass.states.async_set(FREQUENCY, "49.4", {"unit_of_measurement": "Hz"})
    await hass.async_block_till_done()
    await controller.wait_idle()
    assert controller.snapshot.target_kw == 0.0
    assert all(m.state != "mining" for m in sim.miners)
    history = await controller.recent_commands(10)
    assert any(c.command == "strategy_target" and "trip" in c.message for c in history)
    # An automation hears when the EMS takes over.
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.0}, blocking=True)
    await hass.async_block_till_done()
    assert [(e.data["from"], e.data["to"]) for e in events][-1] == ("strategy", "ems")
    status = hass.states.get("sensor.mining_fleet_strategy_status")
    assert status is not None and status.state == "waiting"


async def test_a_frequency_sensor_that_goes_silent_wakes_nothing_new(
    hass: HomeAssistant, frequency_entry: MockConfigEntry
) -> None:
    controller = frequency_entry.runtime_data.controller
    for nonsense in ("unavailable", "unknown", "fifty", "50"):  # 50 mHz is no grid frequency
        hass.states.async_set(FREQUENCY, nonsense, {"unit_of_measurement": "mHz"})
        await hass.async_block_till_done()
        assert controller.snapshot.strategy_status == "holding"
        assert (controller.snapshot.strategy_target_kw or 0.0) <= S9_KW + 0.01
    diagnostics = fleet_diagnostics(frequency_entry.runtime_data)
    assert diagnostics["strategy_inputs"] == {
        "frequency_hz": {"entity_id": FREQUENCY, "value": pytest.approx(0.05)}
    }
    assert diagnostics["fleet"]["strategy_status"] == "holding"


async def test_the_strategy_switch_stands_the_fleet_down_and_survives_a_restart(
    hass: HomeAssistant, frequency_entry: MockConfigEntry
) -> None:
    runtime = frequency_entry.runtime_data
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.mining_fleet_local_strategy"}, blocking=True
    )
    await hass.async_block_till_done()
    assert runtime.controller.snapshot.strategy_status == "off"
    assert runtime.controller.snapshot.target_source == "none"
    state = hass.states.get("switch.mining_fleet_local_strategy")
    assert state is not None and state.state == "off"
    assert await hass.config_entries.async_reload(frequency_entry.entry_id)
    await hass.async_block_till_done()
    assert frequency_entry.runtime_data.controller.snapshot.strategy_status == "off"


async def test_without_a_strategy_there_is_no_strategy_entity(
    hass: HomeAssistant, config_entry: MockConfigEntry, options: dict[str, Any]
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={**options, "strategy": "none"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("switch.mining_fleet_local_strategy") is None
    assert hass.states.get("sensor.mining_fleet_strategy_target") is None
    result = await config_entry.runtime_data.controller.set_strategy_enabled(True)
    assert not result.accepted and result.key == "no_strategy"


async def test_a_price_in_eur_per_mwh_runs_the_fleet_below_the_threshold(
    hass: HomeAssistant, config_entry: MockConfigEntry, options: dict[str, Any]
) -> None:
    hass.states.async_set(PRICE, "80", {"unit_of_measurement": "EUR/MWh"})
    config_entry.add_to_hass(hass)
    price = {
        **{k: v for k, v in options.items() if not k.startswith(("droop", "frequency"))},
        "strategy": "price",
        "price_entity": PRICE,
        "price_threshold": 0.1,
    }
    hass.config_entries.async_update_entry(config_entry, options=price)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    controller = config_entry.runtime_data.controller
    await config_entry.runtime_data.coordinator.async_poll_now()
    assert controller.snapshot.strategy_target_kw == pytest.approx(2 * S9_KW, abs=0.05)
    hass.states.async_set(PRICE, "12", {"unit_of_measurement": "ct/kWh"})
    await hass.async_block_till_done()
    assert controller.snapshot.strategy_target_kw == 0.0


async def test_a_grid_or_frequency_reading_two_minutes_old_counts_as_missing(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {
        "strategy": "pv_surplus",
        "grid_import_entity": GRID,
    }
    reader = StrategyInputs(hass, options)
    hass.states.async_set(GRID, "-3.5", {"unit_of_measurement": "kW"})
    assert reader().grid_w == pytest.approx(-3500.0)
    now = time.time()
    monkeypatch.setattr(local_strategy.time, "time", lambda: now + 119.0)
    assert reader().grid_w == pytest.approx(-3500.0)
    monkeypatch.setattr(local_strategy.time, "time", lambda: now + 121.0)
    assert reader().grid_w is None
    # A price is written when it changes (hourly, quarter-hourly): its age does not matter.
    price = StrategyInputs(hass, {"strategy": "price", "price_entity": PRICE})
    hass.states.async_set(PRICE, "80", {"unit_of_measurement": "EUR/MWh"})
    monkeypatch.setattr(local_strategy.time, "time", lambda: now + 7200.0)
    assert price().price_per_kwh == pytest.approx(0.08)
    # A unit that is not its own is no reading.
    hass.states.async_set(PRICE, "80", {"unit_of_measurement": "kW"})
    assert price().price_per_kwh is None
