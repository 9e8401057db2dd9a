"""The options form in sections, as the frontend shows and sends it; the options stay stored flat
under their old keys, so existing fleets keep theirs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import config_validation as cv
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.options import default_options

ROOT = Path(__file__).parent.parent.parent / "custom_components" / "net_stabilization"
GENERAL_OPTIONS = {
    *default_options(),
    "meter_entity",
    "ems_user",
    "safety_trip_entity",
    "site_limit_entity",
    "grid_import_entity",
    "openadr",
}
SECTIONS = ("control", "polling", "ems", "site", "fleet")


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    """A fleet set up before the sections: its options flat, some not at their defaults."""
    return {
        **options,
        "poll_interval": 10,
        "meter_entity": "sensor.site_power",
        "ems_networks": ["10.0.0.5/32"],
        "max_miners": 200,
    }


async def test_the_general_options_come_in_sections(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    schema = result["data_schema"].schema
    assert [str(key) for key in schema] == list(SECTIONS)
    assert all(isinstance(value, section) for value in schema.values())
    fields = [str(key) for value in schema.values() for key in value.schema.schema]
    assert sorted(fields) == sorted(GENERAL_OPTIONS)
    assert len(fields) == len(GENERAL_OPTIONS)
    # The stored flat options fill their sections.
    serialised = probatio.to_field_list(
        result["data_schema"], custom_serializer=cv.custom_serializer
    )
    by_name = {field["name"]: field for container in serialised for field in container["schema"]}
    assert by_name["poll_interval"]["default"] == 10
    assert by_name["max_miners"]["default"] == 200
    assert by_name["meter_entity"]["description"] == {"suggested_value": "sensor.site_power"}
    assert by_name["ems_networks"]["description"] == {"suggested_value": "10.0.0.5/32"}
    # Control is open; the other sections open on a click.
    assert [c["expanded"] for c in serialised] == [True, False, False, False, False]


async def test_sections_are_saved_flat_under_the_old_keys(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    before = dict(loaded_entry.options)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    # What the frontend sends: every section, each with its fields (the meter left as it was,
    # the EMS networks emptied).
    sent = {
        "control": {
            "power_mode": "on_off",
            "target_policy": "nearest",
            "strategy": "none",
            "temperature_limit": 85,
        },
        "polling": {
            "poll_interval": 15,
            "snapshot_interval": 60,
            "retention_hours": 24,
            "rescan_interval": 0,
        },
        "ems": {"ems_user": "none", "restore_max_age": 15},
        "site": {"meter_entity": "sensor.site_power", "grid_limit_kw": 0},
        "fleet": {"miner_entities": True, "max_miners": 200, "hot_reserve": 0, "hot_standby_w": 0},
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], sent)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    stored = dict(loaded_entry.options)
    assert not set(stored) & set(SECTIONS)
    assert set(stored) <= set(before) | GENERAL_OPTIONS
    assert stored["poll_interval"] == 15
    assert stored["temperature_limit"] == 85.0
    assert stored["meter_entity"] == "sensor.site_power"
    assert stored["ems_networks"] == []
    assert loaded_entry.runtime_data.options["poll_interval"] == 15


async def test_a_section_left_out_keeps_its_values(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"polling": {"poll_interval": 20}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options["poll_interval"] == 20
    assert loaded_entry.options["meter_entity"] == "sensor.site_power"
    assert loaded_entry.options["ems_networks"] == ["10.0.0.5/32"]


@pytest.mark.parametrize("name", ["strings.json", "translations/en.json", "translations/de.json"])
def test_every_section_is_named_and_described(name: str) -> None:
    init = json.loads((ROOT / name).read_text(encoding="utf-8"))["options"]["step"]["init"]
    assert list(init["sections"]) == list(SECTIONS)
    fields: set[str] = set()
    for texts in init["sections"].values():
        assert texts["name"] and texts["description"]
        assert set(texts["data"]) == set(texts["data_description"])
        fields |= set(texts["data"])
    assert fields == GENERAL_OPTIONS


def test_german_says_du() -> None:
    """Mid-sentence, a capital "Sie" or "Ihr" is the formal address."""
    text = (ROOT / "translations" / "de.json").read_text(encoding="utf-8")
    assert re.findall(r"[a-zäöüß,] (?:Sie|Ihnen|Ihre?[mnrs]?)\b", text) == []
