"""Diagnostics download: the fleet's state with credentials, tokens, addresses and MACs removed."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import (
    CONF_EMS_NETWORKS,
    CONF_EMS_USER,
    CONF_FREQUENCY_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_HASHPRICE_ENTITY,
    CONF_HOSTS,
    CONF_LIMIT_ENTITY,
    CONF_METER_ENTITY,
    CONF_NETWORKS,
    CONF_PRICE_ENTITY,
    CONF_TEMPERATURE_ENTITY,
    CONF_TRIP_ENTITY,
)
from .local_strategy import StrategyInputs
from .openadr_options import SECRETS as OPENADR_SECRETS
from .runtime import FleetRuntime, NetStabilizationConfigEntry
from .wire import command_json, fleet_summary_json

TO_REDACT = {
    CONF_PASSWORD,
    CONF_API_KEY,
    CONF_USERNAME,
    CONF_HOSTS,
    CONF_NETWORKS,
    CONF_EMS_NETWORKS,
    # The user who may call the EMS API, and the site's own entities: their ids are the
    # installation's names (and an id is half of what an attacker needs).
    CONF_EMS_USER,
    CONF_METER_ENTITY,
    CONF_TRIP_ENTITY,
    CONF_LIMIT_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_PRICE_ENTITY,
    CONF_HASHPRICE_ENTITY,
    CONF_FREQUENCY_ENTITY,
    CONF_TEMPERATURE_ENTITY,
    "entity_id",
    "mac",
    "host",
    "hostname",
    "path",
    "auth_failed",
    "endpoint",
    "token",
    "access_token",
    *OPENADR_SECRETS,
    "callback_token",
    "callbackUrl",
    "venId",
}
REDACTED = "**REDACTED**"
# MACs and IPv4 addresses also hide inside messages and errors.
_IN_TEXT = re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b")


def redact_text(value: Any, names: frozenset[str] = frozenset()) -> Any:
    """Replace MACs, IPv4 addresses and the given `names` (the miners' host names) in every
    string (keys included) of a nested structure."""
    if isinstance(value, str):
        text = _IN_TEXT.sub(REDACTED, value)
        for name in names:
            text = text.replace(name, REDACTED)
        return text
    if isinstance(value, dict):
        # Keys too: settings map MACs to overrides and pins (numbered, so none is lost).
        redacted: dict[Any, Any] = {}
        for key, item in value.items():
            name = redact_text(key, names)
            if name in redacted:
                name = f"{name} {len(redacted) + 1}"
            redacted[name] = redact_text(item, names)
        return redacted
    if isinstance(value, list | tuple):
        return [redact_text(item, names) for item in value]
    return value


def strategy_inputs(runtime: FleetRuntime) -> dict[str, Any]:
    """What the local strategy reads now: each input's entity and its value in the rule's unit."""
    seat = runtime.controller.strategy_seat
    reader = seat.read_inputs if seat is not None else None
    if not isinstance(reader, StrategyInputs):
        return {}
    return {
        field: {"entity_id": entity_id, "value": reader.read(field)}
        for field, entity_id in reader.entities.items()
    }


def fleet_diagnostics(runtime: FleetRuntime) -> dict[str, Any]:
    """Everything worth attaching to a bug report (before redaction). Miners are numbered, not
    keyed by MAC: MACs and addresses identify a site."""
    snapshot = runtime.coordinator.snapshot
    miners = []
    for index, miner in enumerate(snapshot.miners):
        data = asdict(miner)
        data["index"] = index
        miners.append(data)
    scan = runtime.scanning.last_scan
    return {
        "options": runtime.options,
        "fleet": fleet_summary_json(snapshot),
        "miners": miners,
        "settings": runtime.controller.settings().to_dict(),
        "strategy_inputs": strategy_inputs(runtime),
        "openadr": runtime.openadr.state_json() if runtime.openadr is not None else None,
        "last_scan": None
        if scan is None
        else {
            "miners": len(scan.miners),
            "auth_failed": [str(f.endpoint) for f in scan.auth_failed],
            "unsupported": [
                {"endpoint": str(f.endpoint), "detail": f.detail} for f in scan.unsupported
            ],
            "logins": [{"endpoint": str(f.endpoint), "login": f.detail} for f in scan.logins],
            "advisories": [
                {"endpoint": str(f.endpoint), "advice": f.detail} for f in scan.advisories
            ],
            "addresses_scanned": scan.addresses_scanned,
            "duration_s": scan.duration_s,
        },
        "database": {
            "path": str(runtime.store.path),
            "problem": runtime.store.problem,
            "pending_commands": runtime.store.pending_commands,
        },
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry
) -> dict[str, Any]:
    """Configuration, fleet snapshot, miners, last scan and database health."""
    runtime = entry.runtime_data
    redacted = async_redact_data(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            **fleet_diagnostics(runtime),
            "recent_commands": [command_json(c) for c in await runtime.store.recent_commands(20)],
        },
        TO_REDACT,
    )
    names = frozenset(
        m.hostname
        for m in runtime.coordinator.snapshot.miners
        if m.hostname and len(m.hostname) > 2
    )
    result: dict[str, Any] = redact_text(redacted, names)
    return result
