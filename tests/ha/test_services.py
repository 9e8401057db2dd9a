"""Service actions, their validation errors, and the command event."""

from __future__ import annotations

import pytest
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from probatio import Invalid
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.net_stabilization.const import DOMAIN, EVENT_COMMAND


async def test_activate_and_deactivate(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    events: list[Event] = async_capture_events(hass, EVENT_COMMAND)
    response = await hass.services.async_call(
        DOMAIN, "activate", {"power_kw": 1.4}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["accepted"] is True
    assert hass.states.get("sensor.mining_fleet_target_power").state == "1.4"
    response = await hass.services.async_call(
        DOMAIN, "deactivate", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["accepted"] is True
    await hass.async_block_till_done()
    assert [(e.data["source"], e.data["command"], e.data["accepted"]) for e in events] == [
        ("service", "activate", True),
        ("service", "deactivate", True),
    ]
    assert events[0].data["target_kw"] == 1.4
    assert events[1].data["target_kw"] == 0.0


async def test_activate_above_rated_is_a_validation_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": 50}, blocking=True)
    assert err.value.translation_key == "command_exceeds_rated"


@pytest.mark.parametrize(
    ("power", "key"),
    [
        (-1, "command_power_negative"),
        ("abc", "command_power_not_a_number"),
        (True, "command_power_not_a_number"),
        ("inf", "command_power_not_finite"),
    ],
)
async def test_a_bad_power_is_a_translated_validation_error_naming_the_field(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, power: object, key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": power}, blocking=True)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == {"name": "power_kw"}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_override", {"enabled": True, "target_power_kw": power}, blocking=True
        )
    assert err.value.translation_placeholders == {"name": "target_power_kw"}


async def test_override_blocks_ems_and_is_released(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        DOMAIN, "set_override", {"enabled": True, "target_power_kw": 1.46}, blocking=True
    )
    assert hass.states.get("switch.mining_fleet_manual_override").state == "on"
    assert hass.states.get("sensor.mining_fleet_fleet_state").state == "override"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1}, blocking=True)
    assert err.value.translation_key == "command_override_active"
    await hass.services.async_call(DOMAIN, "set_override", {"enabled": False}, blocking=True)
    assert hass.states.get("switch.mining_fleet_manual_override").state == "off"


async def test_set_power_mode(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    await hass.services.async_call(DOMAIN, "set_power_mode", {"mode": "frequency"}, blocking=True)
    assert hass.states.get("select.mining_fleet_power_mode").state == "frequency"
    with pytest.raises(Invalid):
        await hass.services.async_call(DOMAIN, "set_power_mode", {"mode": "turbo"}, blocking=True)


async def test_rescan(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    response = await hass.services.async_call(
        DOMAIN, "rescan", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["message"].startswith("2 miners found")


async def test_services_without_fleet(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "deactivate", {}, blocking=True)
    assert err.value.translation_key == "not_loaded"
