"""Service actions of the fleet and of single miners. Every one controls the fleet, so each
needs an administrator when a user calls it (automations and scripts run without a user)."""

from __future__ import annotations

import contextlib
import math
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
from .language import async_message
from .naming import miner_name
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

# Powers are checked by `_power` (translated messages), not by the schema, whose messages are
# Home Assistant's and always English.
_POWER = cv.match_all
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


def _power(data: dict[str, Any], name: str) -> float | None:
    """The power `name` as a finite, non-negative number (a decimal comma is accepted), or a
    translated validation error naming the field."""
    value = data.get(name)
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip().replace(",", "."))
    if number is None:
        problem: str | None = "not_a_number"
    elif not math.isfinite(number):
        problem = "not_finite"
    else:
        problem = "negative" if number < 0 else None
    if problem is not None or number is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"command_power_{problem}",
            translation_placeholders={"name": name},
        )
    return number


def loaded_runtime(hass: HomeAssistant) -> FleetRuntime | None:
    """The loaded fleet, if there is one."""
    entries: list[NetStabilizationConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0].runtime_data if entries else None


type _Handler = Callable[[FleetRuntime, dict[str, Any], str | None], Awaitable[CommandResult]]


async def _activate(r: FleetRuntime, data: dict[str, Any], who: str | None) -> CommandResult:
    kw = _power(data, ATTR_POWER_KW)
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
        data[ATTR_ENABLED], _power(data, ATTR_TARGET_POWER_KW), SOURCE, who
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


def _kw(value: float | None) -> str:
    return f"{value or 0.0:.2f}"


def _response(
    hass: HomeAssistant, r: FleetRuntime, service: str, data: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """The translation key and placeholders of an accepted action's message: what the fleet
    does now, in the user's language."""
    snapshot = r.coordinator.snapshot
    if service == "activate":
        if not _power(data, ATTR_POWER_KW):
            return "response_deactivate", {}
        return "response_activate", {"target": _kw(snapshot.target_kw)}
    if service == "set_override":
        if not data[ATTR_ENABLED]:
            return "response_override_off", {}
        return "response_override_on", {"target": _kw(snapshot.override_target_kw)}
    if service == "set_power_mode":
        return f"response_mode_{snapshot.mode.value}", {}
    if service == "rescan":
        scan = r.scanning.last_scan
        assert scan is not None
        found = {"miners": str(len(scan.miners)), "addresses": str(scan.addresses_scanned)}
        return "response_rescan", found
    if service == "deactivate":
        return "response_deactivate", {}
    names = ", ".join(miner_name(r.coordinator.miners[mac]) for mac in _target_macs(hass, r, data))
    if service == "reboot_miner":
        return "response_reboot", {"miners": names}
    if service == "set_miner_dispatch":
        included = "included" if data[ATTR_INCLUDED] else "excluded"
        return f"response_dispatch_{included}", {"miners": names}
    return f"response_miner_{data[ATTR_OVERRIDE]}", {"miners": names}


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
        data = dict(call.data)
        result = await handlers[call.service](runtime, data, context_caller(call.context))
        key, placeholders = _response(hass, runtime, call.service, data)
        return {
            "accepted": result.accepted,
            "message": await async_message(hass, key, placeholders),
        }

    for name, schema in SCHEMAS.items():
        async_register_admin_service(
            hass, DOMAIN, name, handle, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
