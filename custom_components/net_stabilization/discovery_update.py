"""A miner announced an address over DHCP: look there, so that a known miner is followed to its
new address at once (not at the next rescan) and a new one in the fleet's networks joins.

Only what answers at the address with the announced MAC counts: a DHCP packet names a MAC and
an address, and anybody on the network can send one.
"""

from __future__ import annotations

import ipaddress

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .builder import build_scanner
from .const import CONF_API_PORT, CONF_HOSTS, CONF_NETWORKS, CONF_WEB_PORT, LOGGER
from .runtime import NetStabilizationConfigEntry


async def follow_discovered_miner(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry, mac: str, ip: str
) -> bool:
    """Probe `ip` for the miner `mac` (any notation) when it is one of the fleet's, or when the
    address lies in the fleet's networks; returns whether the fleet changed."""
    if entry.state is not ConfigEntryState.LOADED:
        return False
    runtime = entry.runtime_data
    mac = mac.replace("-", ":").upper()
    if mac in runtime.controller.macs:
        api_port, web_port = runtime.scanning.ports_of(mac)
    elif _in_networks(ip, entry.data.get(CONF_NETWORKS, [])):
        api_port, web_port = None, None
    else:
        return False  # not ours, and a rescan would not look there either
    api_port = api_port or int(entry.data[CONF_API_PORT])
    web_port = web_port or int(entry.data[CONF_WEB_PORT])
    data = {**entry.data, CONF_NETWORKS: [], CONF_HOSTS: [f"{ip}:{api_port}:{web_port}"]}
    try:
        scanner = build_scanner(async_get_clientsession(hass), data)
        changed = await runtime.scanning.async_look_at(scanner, mac)
    except Exception:  # a discovery must never break the flow that reported it
        LOGGER.exception("Looking for miner %s at %s failed", mac, ip)
        return False
    if changed and runtime.coordinator.data is not None:
        await runtime.coordinator.async_poll_now()  # its entities start with real values
    else:
        runtime.coordinator.publish()
    return changed


def _in_networks(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
