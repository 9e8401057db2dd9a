"""Action responses and refusals in the user's language, figures written the user's way."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.core.fleet import CommandSource
from custom_components.net_stabilization.language import format_number, localize_placeholders


@pytest.mark.parametrize(
    ("language", "activated", "deactivated"),
    [
        ("de", "Zielleistung der Flotte auf 1,40 kW gesetzt.", "Flotte deaktiviert:"),
        ("en", "Fleet target set to 1.40 kW.", "Fleet deactivated:"),
    ],
)
async def test_action_responses_are_in_the_system_language(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    language: str,
    activated: str,
    deactivated: str,
) -> None:
    hass.config.language = language
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    response = await hass.services.async_call(
        DOMAIN, "activate", {"power_kw": "1,4"}, blocking=True, return_response=True
    )
    assert response == {"accepted": True, "message": activated}
    response = await hass.services.async_call(
        DOMAIN, "deactivate", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert str(response["message"]).startswith(deactivated)


async def test_german_refusals_write_a_decimal_comma(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    hass.config.language = "de"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": 29.2}, blocking=True)
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["requested"] == "29,2"
    assert "," in placeholders["rated"] and "." not in placeholders["rated"]


async def test_a_refusal_the_user_can_act_on_is_a_validation_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Validation errors are shown without logging an error; the override blocking the EMS
    is one of them, like every other refusal of what was asked."""
    await hass.services.async_call(
        DOMAIN, "set_override", {"enabled": True, "target_power_kw": 1.4}, blocking=True
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1}, blocking=True)
    assert err.value.translation_key == "command_override_active"


@pytest.mark.parametrize("command", ["set_override", "set_dispatch_enabled", "set_strategy"])
async def test_a_flag_that_is_not_one_has_a_translation(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: str
) -> None:
    controller = loaded_entry.runtime_data.controller
    if command == "set_override":
        result = await controller.set_override("yes", None, source=CommandSource.ACTION)  # type: ignore[arg-type]
    elif command == "set_dispatch_enabled":
        result = await controller.set_dispatch_enabled("yes", source=CommandSource.ACTION)  # type: ignore[arg-type]
    else:
        result = await controller.set_strategy_enabled("yes", source=CommandSource.ACTION)  # type: ignore[arg-type]
    assert not result.accepted
    assert result.key == "invalid_flag"


def test_figures_follow_the_language() -> None:
    assert format_number(29.2, "de") == "29,20"
    assert format_number(29.2, "en") == "29.20"
    assert format_number(2.5, "pt-BR", 1) == "2,5"
    assert localize_placeholders({"rated": "2.92", "mac": "aa:bb", "n": "3"}, "de") == {
        "rated": "2,92",
        "mac": "aa:bb",
        "n": "3",
    }
    assert localize_placeholders({"rated": "2.92"}, "en") == {"rated": "2.92"}
