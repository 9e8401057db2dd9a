"""Diagnostics download: the fleet's state with credentials, tokens, addresses and MACs removed."""

from __future__ import annotations

import re
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_EMS_NETWORKS, CONF_HOSTS, CONF_METER_ENTITY, CONF_NETWORKS
from .coordinator import NetStabilizationConfigEntry

TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_HOSTS,
    CONF_NETWORKS,
    CONF_EMS_NETWORKS,
    CONF_METER_ENTITY,
    "mac",
    "host",
    "hostname",
    "path",
    "auth_failed",
    "endpoint",
    "token",
    "access_token",
}
REDACTED = "**REDACTED**"
# MACs and IPv4 addresses also hide inside messages and errors.
_IN_TEXT = re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b")


def redact_text(value: Any) -> Any:
    """Replace MACs and IPv4 addresses in every string of a nested structure."""
    if isinstance(value, str):
        return _IN_TEXT.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: redact_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_text(item) for item in value]
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry
) -> dict[str, Any]:
    """Configuration, fleet snapshot, miners, last scan and database health."""
    coordinator = entry.runtime_data
    diagnostics = coordinator.diagnostics()
    # Number miners instead of naming them: MACs and addresses identify a site.
    for index, miner in enumerate(diagnostics["miners"]):
        miner["index"] = index
    redacted = async_redact_data(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            **diagnostics,
            "recent_commands": [
                {
                    "timestamp": c.timestamp.isoformat(),
                    "source": c.source,
                    "command": c.command,
                    "parameters": dict(c.parameters),
                    "accepted": c.accepted,
                    "reason": c.reason,
                    "message": c.message,
                }
                for c in await coordinator.store.recent_commands(20)
            ],
        },
        TO_REDACT,
    )
    result: dict[str, Any] = redact_text(redacted)
    return result
