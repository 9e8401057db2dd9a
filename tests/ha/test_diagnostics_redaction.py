"""Diagnostics hide what identifies an installation: its EMS user and the site's entities."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.net_stabilization.const import (
    CONF_EMS_USER,
    CONF_GRID_IMPORT_ENTITY,
    CONF_LIMIT_ENTITY,
    CONF_METER_ENTITY,
    CONF_TRIP_ENTITY,
)

SECRETS = {
    CONF_EMS_USER: "0123456789abcdef0123456789abcdef",
    CONF_TRIP_ENTITY: "binary_sensor.site_protection_relay",
    CONF_LIMIT_ENTITY: "sensor.dso_feed_limit",
    CONF_GRID_IMPORT_ENTITY: "sensor.house_connection_import",
    CONF_METER_ENTITY: "sensor.site_meter_power",
}


@pytest.fixture
def options(options: dict[str, Any]) -> dict[str, Any]:
    """The site's own entities and the EMS user configured."""
    return {**options, **SECRETS}


async def test_diagnostics_redact_the_ems_user_and_the_sites_entities(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    text = json.dumps(diagnostics)
    for option, secret in SECRETS.items():
        assert secret.split(".")[-1] not in text, option
        assert diagnostics["entry"]["options"][option] == "**REDACTED**"
