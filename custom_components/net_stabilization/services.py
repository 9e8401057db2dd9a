"""Service actions: activate, deactivate, set_power_mode, set_override and rescan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import probatio
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import DOMAIN, POWER_MODES
from .core.fleet import CommandResult, CommandSource
from .runtime import FleetRuntime, NetStabilizationConfigEntry

SOURCE = CommandSource.ACTION
ATTR_POWER_KW = "power_kw"
ATTR_MODE = "mode"
ATTR_ENABLED = "enabled"
ATTR_TARGET_POWER_KW = "target_power_kw"

_POWER = probatio.All(probatio.Coerce(float), probatio.Range(min=0))
SCHEMAS: dict[str, probatio.Schema] = {
    "activate": probatio.Schema({probatio.Required(ATTR_POWER_KW): _POWER}),
    "deactivate": probatio.Schema({}),
    "set_power_mode": probatio.Schema({probatio.Required(ATTR_MODE): probatio.In(POWER_MODES)}),
    "set_override": probatio.Schema(
        {
            probatio.Required(ATTR_ENABLED): cv.boolean,
            probatio.Optional(ATTR_TARGET_POWER_KW): _POWER,
        }
    ),
    "rescan": probatio.Schema({}),
}


def loaded_runtime(hass: HomeAssistant) -> FleetRuntime | None:
    """The loaded fleet, if there is one."""
    entries: list[NetStabilizationConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0].runtime_data if entries else None


async def _activate(r: FleetRuntime, data: dict[str, Any]) -> CommandResult:
    kw = data[ATTR_POWER_KW]
    return await r.coordinator.async_command(lambda fleet: fleet.activate(kw, source=SOURCE))


async def _deactivate(r: FleetRuntime, data: dict[str, Any]) -> CommandResult:
    return await r.coordinator.async_command(lambda fleet: fleet.deactivate(source=SOURCE))


async def _set_power_mode(r: FleetRuntime, data: dict[str, Any]) -> CommandResult:
    mode = data[ATTR_MODE]
    return await r.coordinator.async_command(lambda fleet: fleet.set_mode(mode, source=SOURCE))


async def _set_override(r: FleetRuntime, data: dict[str, Any]) -> CommandResult:
    return await r.coordinator.async_set_override(
        data[ATTR_ENABLED], data.get(ATTR_TARGET_POWER_KW), SOURCE
    )


async def _rescan(r: FleetRuntime, data: dict[str, Any]) -> CommandResult:
    try:
        await r.async_rescan()
    except Exception as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="rescan_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    result = r.scanning.last_scan
    assert result is not None
    return CommandResult.ok(
        f"{len(result.miners)} miners found in {result.addresses_scanned} addresses"
    )


HANDLERS: dict[str, Callable[[FleetRuntime, dict[str, Any]], Awaitable[CommandResult]]] = {
    "activate": _activate,
    "deactivate": _deactivate,
    "set_power_mode": _set_power_mode,
    "set_override": _set_override,
    "rescan": _rescan,
}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once; they refuse politely while no fleet is loaded."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        runtime = loaded_runtime(hass)
        if runtime is None:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
        result = await HANDLERS[call.service](runtime, dict(call.data))
        return {"accepted": result.accepted, "message": result.message}

    for name, schema in SCHEMAS.items():
        hass.services.async_register(
            DOMAIN, name, handle, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
