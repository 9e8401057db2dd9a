"""Service actions of the fleet and of single miners. Every one controls the fleet, so each
needs an administrator when a user calls it (automations and scripts run without a user)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import probatio
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_register_admin_service

from .audit import context_caller
from .const import DOMAIN, POWER_MODES
from .core.fleet import CommandResult, CommandSource
from .core.miners.firmware import normalize_mac
from .runtime import FleetRuntime, NetStabilizationConfigEntry

SOURCE = CommandSource.ACTION
ATTR_POWER_KW = "power_kw"
ATTR_MODE = "mode"
ATTR_ENABLED = "enabled"
ATTR_TARGET_POWER_KW = "target_power_kw"
ATTR_DEVICE_ID = "device_id"
ATTR_MAC = "mac"
ATTR_INCLUDED = "included"
ATTR_OVERRIDE = "override"
ATTR_MHZ = "mhz"
ATTR_POWER_W = "power_target_w"
OVERRIDES = ("on", "off", "release")

_POWER = probatio.All(probatio.Coerce(float), probatio.Range(min=0, max=1e6))
_MINER = {
    probatio.Optional(ATTR_DEVICE_ID): probatio.All(cv.ensure_list, [cv.string]),
    probatio.Optional(ATTR_MAC): probatio.All(cv.ensure_list, [cv.string]),
}
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
    "reboot_miner": probatio.Schema(_MINER),
    "set_miner_dispatch": probatio.Schema({**_MINER, probatio.Required(ATTR_INCLUDED): cv.boolean}),
    "set_miner_override": probatio.Schema(
        {
            **_MINER,
            probatio.Required(ATTR_OVERRIDE): probatio.In(OVERRIDES),
            probatio.Optional(ATTR_MHZ): probatio.All(
                probatio.Coerce(float), probatio.Range(min=100, max=1000)
            ),
            probatio.Optional(ATTR_POWER_W): probatio.All(
                probatio.Coerce(float), probatio.Range(min=100, max=20000)
            ),
        }
    ),
}


def loaded_runtime(hass: HomeAssistant) -> FleetRuntime | None:
    """The loaded fleet, if there is one."""
    entries: list[NetStabilizationConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0].runtime_data if entries else None


type _Handler = Callable[[FleetRuntime, dict[str, Any], str | None], Awaitable[CommandResult]]


async def _activate(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
    kw = data[ATTR_POWER_KW]
    return await r.coordinator.async_command(
        lambda fleet: fleet.activate(kw, source=SOURCE), caller=who
    )


async def _deactivate(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
    return await r.coordinator.async_command(
        lambda fleet: fleet.deactivate(source=SOURCE), caller=who
    )


async def _set_power_mode(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
    mode = data[ATTR_MODE]
    return await r.coordinator.async_command(
        lambda fleet: fleet.set_mode(mode, source=SOURCE), caller=who
    )


async def _set_override(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
    return await r.coordinator.async_set_override(
        data[ATTR_ENABLED], data.get(ATTR_TARGET_POWER_KW), SOURCE, who
    )


async def _rescan(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
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


def _target_macs(hass: HomeAssistant, r: FleetRuntime, data: dict[str, Any]) -> list[str]:
    """The miners an action names, by device or by MAC; refuses names it does not know."""
    macs: list[str] = []
    registry = dr.async_get(hass)
    for device_id in data.get(ATTR_DEVICE_ID, []):
        device = registry.async_get(device_id)
        identifiers = (
            [i for d, i in device.identifiers if d == DOMAIN] if device is not None else []
        )
        if not identifiers or identifiers[0] not in r.coordinator.miners:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_miner_device",
                translation_placeholders={"device": (device.name if device else None) or device_id},
            )
        macs.append(identifiers[0])
    for text in data.get(ATTR_MAC, []):
        mac = normalize_mac(text)
        if mac is None or mac not in r.coordinator.miners:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_miner_mac",
                translation_placeholders={"mac": text[:40]},
            )
        macs.append(mac)
    if not macs:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_miner_named")
    return list(dict.fromkeys(macs))


def _per_miner(
    hass: HomeAssistant,
    run: Callable[[FleetRuntime, str, dict[str, Any], str | None], Awaitable[CommandResult]],
) -> _Handler:
    async def handler(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
        results = [await run(r, mac, data, who) for mac in _target_macs(hass, r, data)]
        return CommandResult.ok("; ".join(res.message for res in results))

    return handler


async def _reboot(
    r: FleetRuntime, mac: str, data: dict[str, Any], who: str | None
) -> CommandResult:
    return await r.coordinator.async_command(
        lambda fleet: fleet.reboot_miner(mac, source=SOURCE), caller=who
    )


async def _dispatch(
    r: FleetRuntime, mac: str, data: dict[str, Any], who: str | None
) -> CommandResult:
    included: bool = data[ATTR_INCLUDED]
    coordinator = r.coordinator
    miner = coordinator.miners.get(mac)
    if included and miner is not None and miner.override is not None:
        # Back to the fleet: drop a forced on/off as well as the exclusion.
        await coordinator.async_command(
            lambda fleet: fleet.set_miner_override(mac, None, source=SOURCE), caller=who
        )
    return await coordinator.async_command(
        lambda fleet: fleet.set_excluded(mac, not included, source=SOURCE), caller=who
    )


async def _override(
    r: FleetRuntime, mac: str, data: dict[str, Any], who: str | None
) -> CommandResult:
    wanted = data[ATTR_OVERRIDE]
    override = None if wanted == "release" else wanted
    mhz = data.get(ATTR_MHZ)
    power_w = data.get(ATTR_POWER_W)
    return await r.coordinator.async_command(
        lambda fleet: fleet.set_miner_override(
            mac, override, source=SOURCE, mhz=mhz, power_w=power_w
        ),
        caller=who,
    )


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once; they refuse politely while no fleet is loaded."""
    handlers: dict[str, _Handler] = {
        "activate": _activate,
        "deactivate": _deactivate,
        "set_power_mode": _set_power_mode,
        "set_override": _set_override,
        "rescan": _rescan,
        "reboot_miner": _per_miner(hass, _reboot),
        "set_miner_dispatch": _per_miner(hass, _dispatch),
        "set_miner_override": _per_miner(hass, _override),
    }

    async def handle(call: ServiceCall) -> ServiceResponse:
        runtime = loaded_runtime(hass)
        if runtime is None:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
        result = await handlers[call.service](
            runtime, dict(call.data), context_caller(call.context)
        )
        return {"accepted": result.accepted, "message": result.message}

    for name, schema in SCHEMAS.items():
        async_register_admin_service(
            hass, DOMAIN, name, handle, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
