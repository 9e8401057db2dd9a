"""Setting up, reloading and unloading the fleet."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet


async def test_integration_loads_without_entry(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "activate")


async def test_setup_creates_fleet_and_miner_devices(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    devices = dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
    fleet = next(d for d in devices if (DOMAIN, loaded_entry.entry_id) in d.identifiers)
    miners = [d for d in devices if d.via_device_id == fleet.id]
    assert sorted(next(iter(d.identifiers))[1] for d in miners) == sorted(m.mac for m in sim.miners)
    assert {d.model for d in miners} == {"Antminer S9"}
    state = hass.states.get("sensor.mining_fleet_rated_power")
    assert state is not None
    assert float(state.state) == 2.92
    assert hass.states.get("binary_sensor.mining_fleet_available_for_dispatch").state == "on"


async def test_unload_and_reload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
