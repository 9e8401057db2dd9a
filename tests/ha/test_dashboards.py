"""The shipped dashboards and the README's automations name entities that exist, in every
system language: entity ids do not follow the display language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet

ROOT = Path(__file__).parents[2]
SHIPPED = [
    ROOT / "docs" / "dashboard.yaml",
    ROOT / "docs" / "dashboard.de.yaml",
    ROOT / "README.md",
]
_ENTITY_ID = re.compile(
    r"\b(?:sensor|binary_sensor|switch|number|select|button)\.mining_fleet_[a-z0-9_]+\b"
)
FREQUENCY = "sensor.grid_frequency"


def fleet_ids_named(path: Path) -> set[str]:
    """Every fleet entity id a shipped file names."""
    return set(_ENTITY_ID.findall(path.read_text(encoding="utf-8")))


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    """A local strategy, so that the strategy's entities exist as well."""
    return {**options, "strategy": "frequency", "frequency_entity": FREQUENCY}


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.usefixtures("all_entities_enabled")
async def test_every_entity_a_shipped_dashboard_names_exists(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    sim: SimulatedFleet,
    language: str,
) -> None:
    hass.config.language = language
    hass.states.async_set(FREQUENCY, "50.0", {"unit_of_measurement": "Hz"})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    existing = {
        e.entity_id for e in er.async_entries_for_config_entry(registry, config_entry.entry_id)
    }
    for path in SHIPPED:
        named = fleet_ids_named(path)
        assert named, path
        assert named - existing == set(), path.name
    # The miners' ids too: the dashboards' miner table matches their English endings.
    miner_ids = {e for e in existing if not e.split(".")[1].startswith("mining_fleet_")}
    for ending in ("_state", "_power", "_chip_temperature", "_hashrate"):
        assert any(e.startswith("sensor.") and e.endswith(ending) for e in miner_ids), ending


async def test_the_fleet_device_is_named_in_the_system_language(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    hass.config.language = "de"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, config_entry.entry_id), config_entry.entry_id
    )
    assert device is not None
    assert device.name == "Mining-Flotte"
    assert device.model == "Steuerbare Last"
    state = hass.states.get("sensor.mining_fleet_active_power")
    assert state is not None
    assert state.attributes["friendly_name"] == "Mining-Flotte Wirkleistung"


async def test_ids_an_earlier_version_made_from_german_names_move_to_the_stable_ones(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Only ids exactly as made from the registered name move; one the user chose stays."""
    hass.config.language = "de"
    config_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    old = {
        "active_power": ("sensor", "mining_fleet_wirkleistung", "Wirkleistung"),
        "target_power": ("number", "mining_fleet_zielleistung_sollwert", "Zielleistung (Sollwert)"),
        "rated_power": ("sensor", "my_rated_power", "Nennleistung"),
    }
    for key, (domain, object_id, name) in old.items():
        registry.async_get_or_create(
            domain,
            DOMAIN,
            f"{config_entry.entry_id}_{key}",
            suggested_object_id=object_id,
            config_entry=config_entry,
            original_name=name,
            has_entity_name=True,
        )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get("sensor.mining_fleet_wirkleistung") is None
    assert registry.async_get("sensor.mining_fleet_active_power") is not None
    assert registry.async_get("number.mining_fleet_target_power_setpoint") is not None
    assert registry.async_get("sensor.my_rated_power") is not None  # the user's own id
    assert hass.states.get("sensor.mining_fleet_active_power") is not None
