"""Per-miner actions (by device or MAC) and who may run the fleet's actions."""

from __future__ import annotations

import pytest
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet


def _device_id(hass: HomeAssistant, entry: MockConfigEntry, mac: str) -> str:
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        if (DOMAIN, mac) in device.identifiers:
            return device.id
    raise AssertionError(f"no device for {mac}")


async def test_miners_are_excluded_forced_and_released_by_device_or_mac(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    first, second = sorted(runtime.controller.macs)
    await hass.services.async_call(
        DOMAIN,
        "set_miner_dispatch",
        {"device_id": [_device_id(hass, loaded_entry, first)], "included": False},
        blocking=True,
    )
    assert runtime.controller.snapshot.miner(first).excluded  # type: ignore[union-attr]
    await hass.services.async_call(
        DOMAIN,
        "set_miner_override",
        {"mac": [second.lower().replace(":", "-")], "override": "on"},
        blocking=True,
    )
    await runtime.controller.wait_idle()
    snapshot = runtime.controller.snapshot
    assert snapshot.miner(second).override is not None  # type: ignore[union-attr]
    assert snapshot.rated_power_kw == 0.0  # one excluded, one forced on
    await hass.services.async_call(
        DOMAIN,
        "set_miner_dispatch",
        {"mac": [first, second], "included": True},
        blocking=True,
    )
    snapshot = runtime.controller.snapshot
    assert all(not m.excluded and m.override is None for m in snapshot.miners)
    history = await runtime.store.recent_commands(10)
    assert {c.command for c in history} >= {"set_excluded", "set_miner_override"}


async def test_reboot_miner_action(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    mac = sorted(runtime.controller.macs)[0]
    response = await hass.services.async_call(
        DOMAIN, "reboot_miner", {"mac": [mac]}, blocking=True, return_response=True
    )
    assert response is not None and response["accepted"] is True
    await runtime.controller.wait_idle()
    assert next(m for m in sim.miners if m.mac == mac).state == "booting"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"mac": ["00:11:22:33:44:55"]}, "unknown_miner_mac"),
        ({"mac": ["not a mac"]}, "unknown_miner_mac"),
        ({}, "no_miner_named"),
        ({"device_id": ["nope"]}, "unknown_miner_device"),
    ],
)
async def test_per_miner_actions_name_what_is_wrong(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, data: dict[str, list[str]], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "reboot_miner", data, blocking=True)
    assert err.value.translation_key == key


async def test_a_pin_out_of_range_is_a_translated_validation_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    mac = sorted(loaded_entry.runtime_data.controller.macs)[0]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_miner_override",
            {"mac": [mac], "override": "on", "mhz": 900},
            blocking=True,
        )
    assert err.value.translation_key == "command_pin_out_of_range"
    assert err.value.translation_placeholders == {
        "message": "the setting must be between 350 and 800 MHz, got 900",
        "low": "350",
        "high": "800",
        "mhz": "900",
        "unit": "MHz",
    }


async def test_fleet_actions_need_an_admin_but_automations_run_them(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_read_only_user: User
) -> None:
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "activate",
            {"power_kw": 1.46},
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    # An automation's context has no user.
    await hass.services.async_call(
        DOMAIN, "activate", {"power_kw": 1.46}, blocking=True, context=Context(parent_id="x")
    )
    history = await loaded_entry.runtime_data.store.recent_commands(1)
    assert history[0].accepted and history[0].caller == "automation or script"
