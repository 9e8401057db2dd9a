"""The site's limits from Home Assistant entities: a safety trip and a grid operator's cap, in
every unit, with unavailable entities keeping the last safe value."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.site_limits import cap_w, tripped
from simulator import SimulatedFleet

TRIP = "binary_sensor.site_protection"
LIMIT = "sensor.dso_limit"


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "safety_trip_entity": TRIP, "site_limit_entity": LIMIT}


@pytest.fixture
async def limits_entities(hass: HomeAssistant) -> None:
    hass.states.async_set(TRIP, "on")
    hass.states.async_set(LIMIT, "100", {"unit_of_measurement": "kW"})


async def settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done()


@pytest.mark.usefixtures("limits_entities")
async def test_a_trip_holds_the_fleet_at_zero_and_refuses_activations(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    rated = runtime.controller.snapshot.rated_power_kw
    assert rated > 0
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": rated}, blocking=True)
    hass.states.async_set(TRIP, "off")
    await settle(hass)
    await runtime.controller.wait_idle()
    snapshot = runtime.controller.snapshot
    assert snapshot.tripped and snapshot.target_source == "safety"
    assert snapshot.ems_status()["isAvailableForDispatch"] is False
    assert snapshot.ems_status()["ratedPowerInKw"] == 0.0
    assert hass.states.get("binary_sensor.mining_fleet_safety_trip").state == "on"
    assert hass.states.get("sensor.mining_fleet_target_source").state == "safety"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.0}, blocking=True)
    assert err.value.translation_key == "command_safety_trip"
    # Unavailable says nothing: the trip stays.
    hass.states.async_set(TRIP, "unavailable")
    await settle(hass)
    assert runtime.controller.snapshot.tripped
    hass.states.async_set(TRIP, "on")
    await settle(hass)
    snapshot = runtime.controller.snapshot
    assert not snapshot.tripped and snapshot.target_source == "ems"
    history = [c.command for c in await runtime.controller.recent_commands(10)]
    assert history.count("site_limits") >= 2


@pytest.mark.usefixtures("limits_entities")
async def test_a_limit_in_percent_caps_rated_power_and_keeps_its_last_value(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    runtime = loaded_entry.runtime_data
    nominal = runtime.controller.nominal_rated_kw
    hass.states.async_set(LIMIT, "50", {"unit_of_measurement": "%"})
    await settle(hass)
    snapshot = runtime.controller.snapshot
    assert snapshot.rated_power_kw == pytest.approx(nominal / 2, abs=0.01)
    assert snapshot.limit_kw == pytest.approx(nominal / 2, abs=0.01)
    for nonsense in ("unavailable", "unknown", "-5", "nan", "lots"):
        hass.states.async_set(LIMIT, nonsense, {"unit_of_measurement": "%"})
        await settle(hass)
        assert runtime.controller.snapshot.limit_kw == pytest.approx(nominal / 2, abs=0.01)
    shown = hass.states.get("sensor.mining_fleet_site_limit_in_force")
    assert shown is not None and float(shown.state) == pytest.approx(nominal / 2, abs=0.01)


def test_units_of_a_limit(hass: HomeAssistant) -> None:
    from homeassistant.core import State  # noqa: PLC0415

    def state(value: str, unit: str | None) -> State:
        return State(LIMIT, value, {"unit_of_measurement": unit} if unit else {})

    assert cap_w(state("1500", "W"), 10.0) == 1500.0
    assert cap_w(state("1.5", "kW"), 10.0) == 1500.0
    assert cap_w(state("0.0015", "MW"), 10.0) == pytest.approx(1500.0)
    assert cap_w(state("25", "%"), 10.0) == 2500.0
    assert cap_w(state("250", "%"), 10.0) == 10_000.0  # no more than all of it
    assert cap_w(state("5", "A"), 10.0) is None  # not a power
    assert cap_w(state("5", None), 10.0) is None
    assert cap_w(None, 10.0) is None
    assert tripped(State(TRIP, "off")) is True
    assert tripped(State(TRIP, "on")) is False
    assert tripped(State(TRIP, "unavailable")) is None


GRID = "sensor.grid_import"


@pytest.fixture
def grid_options(options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "grid_import_entity": GRID, "grid_limit_kw": 5.0}


@pytest.mark.usefixtures("limits_entities")
async def test_a_grid_connection_limit_leaves_the_fleet_what_the_rest_of_the_site_does_not_use(
    hass: HomeAssistant, config_entry: MockConfigEntry, grid_options: dict[str, Any]
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options=grid_options)
    hass.states.async_set(GRID, "0.5", {"unit_of_measurement": "kW"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass)
    controller = config_entry.runtime_data.controller
    fleet_kw = sum(m.consumption_w for m in controller.snapshot.miners) / 1000.0
    # 5 kW connection; the site imports 0.5 kW of which the (sleeping) fleet is part.
    expected = 5.0 - (0.5 - fleet_kw)
    assert controller.snapshot.limit_kw == pytest.approx(min(expected, 100.0), abs=0.01)
    # The rest of the site takes 4 kW more: the fleet is left that much less.
    hass.states.async_set(GRID, "4500", {"unit_of_measurement": "W"})
    await settle(hass)
    assert controller.snapshot.limit_kw == pytest.approx(5.0 - (4.5 - fleet_kw), abs=0.01)
    # An exporting site leaves the fleet more than the connection alone.
    hass.states.async_set(GRID, "-2", {"unit_of_measurement": "kW"})
    await settle(hass)
    assert controller.snapshot.limit_kw == pytest.approx(5.0 + 2.0 + fleet_kw, abs=0.01)


async def test_pv_surplus_is_followed_while_the_ems_is_idle(
    hass: HomeAssistant, config_entry: MockConfigEntry, options: dict[str, Any]
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry,
        options={**options, "grid_import_entity": GRID, "strategy": "pv_surplus"},
    )
    hass.states.async_set(TRIP, "on")
    hass.states.async_set(LIMIT, "100", {"unit_of_measurement": "kW"})
    hass.states.async_set(GRID, "-2.0", {"unit_of_measurement": "kW"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass)
    runtime = config_entry.runtime_data
    await runtime.coordinator.async_poll_now()
    snapshot = runtime.controller.snapshot
    assert snapshot.target_source == "strategy"
    assert snapshot.target_kw is not None and snapshot.target_kw > 1.0
    history = [c.command for c in await runtime.controller.recent_commands(10)]
    assert "strategy_target" in history
