"""Net Stabilization: a fleet of Bitcoin miners as a controllable load for grid stabilisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import CONF_MINER_ENTITIES, CONF_POWER_MODE, DOMAIN
from .core.fleet import CommandSource
from .entity import async_adopt_stable_ids, fleet_device_info
from .http import async_register_views
from .language import async_message
from .options import effective_options
from .runtime import NetStabilizationConfigEntry, async_start, build_runtime, database_path
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register services and the HTTP views once; they answer 503 until a fleet is loaded."""
    async_setup_services(hass)
    async_register_views(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> bool:
    """Set up the fleet: database, known miners, first scan and poll, then the entities."""
    runtime = build_runtime(hass, entry)
    try:
        await async_start(hass, entry, runtime)
        await runtime.coordinator.async_config_entry_first_refresh()
    except BaseException:
        await runtime.async_shutdown()
        raise
    entry.runtime_data = runtime
    # A device's model has no translation of its own: it is written in the system language.
    model = await async_message(hass, "fleet_model")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **fleet_device_info(entry.entry_id, model)
    )
    runtime.coordinator.fleet_device_id = device.id
    async_adopt_stable_ids(hass, entry.entry_id)
    if not runtime.options.get(CONF_MINER_ENTITIES, True):
        _async_remove_miner_devices(hass, entry, device.id)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> bool:
    """Unload the entities, then stop the controller and close the database."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_shutdown()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> None:
    """The fleet is deleted: its database goes with it (and what a crash or a corrupt file
    left beside it)."""
    await hass.async_add_executor_job(_delete_database, database_path(hass, entry.entry_id))


def _delete_database(path: Path) -> None:
    for leftover in (
        path,
        *path.parent.glob(f"{path.name}-*"),
        *path.parent.glob(f"{path.name}.*"),
    ):
        leftover.unlink(missing_ok=True)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the operator delete a miner that is gone (never the fleet itself, never a live one)."""
    runtime = entry.runtime_data
    for domain, identifier in device.identifiers:
        if domain != DOMAIN or identifier == entry.entry_id:
            continue
        miner = runtime.coordinator.miners.get(identifier)
        if miner is not None and miner.state.value != "offline":
            return False
        await runtime.async_forget_miner(identifier)
        return True
    return False


@callback
def _async_remove_miner_devices(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry, fleet_device_id: str
) -> None:
    """Without per-miner entities, the miner devices (and with them their entities) go."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if device.id != fleet_device_id:
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


async def _async_entry_updated(hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> None:
    """Apply a new power mode at once; anything else needs a reload."""
    runtime = entry.runtime_data
    new_options: dict[str, Any] = effective_options(entry.options)
    changed = {
        k
        for k in new_options.keys() | runtime.options.keys()
        if new_options.get(k) != runtime.options.get(k)
    }
    if dict(entry.data) == runtime.entry_data and changed <= {CONF_POWER_MODE}:
        runtime.options = new_options
        if CONF_POWER_MODE in changed:
            mode = new_options[CONF_POWER_MODE]
            await runtime.coordinator.async_command(
                lambda fleet: fleet.set_mode(mode, source=CommandSource.OPTIONS)
            )
        return
    hass.config_entries.async_schedule_reload(entry.entry_id)
