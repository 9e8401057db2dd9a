"""The fleet's parts, built from the config entry: controller settings, scanner, drivers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME

from .const import (
    CONF_API_PORT,
    CONF_HOSTS,
    CONF_HOT_RESERVE,
    CONF_HOT_STANDBY_W,
    CONF_NETWORKS,
    CONF_TARGET_POLICY,
    CONF_TEMP_LIMIT,
    CONF_WEB_PORT,
)
from .core.discovery import Scanner
from .core.fleet import ControlConfig, PlanLimits, TargetPolicy
from .core.miners.base import MinerDriver, MinerIdentity
from .core.miners.drivers import build_driver
from .core.miners.endpoint import Credentials, MinerEndpoint
from .core.miners.firmware import FirmwareKind
from .core.store import MinerRecord

# Reads and miner orders in flight at once. Each step of a miner exchange is a millisecond or two
# of CPU in the event loop, and asyncio runs everything that became ready in one iteration: a
# hundred orders plus fifty reads completing together held the loop for ~250 ms at 1,000
# miners. With these, an iteration stays around 100 ms at worst while a poll of 1,000 miners
# takes about half a second.
MAX_CONCURRENT_READS = 32
MAX_CONCURRENT_COMMANDS = 64
# An order that reached nobody (a miner rebooting) is tried again this often, in seconds: a
# sleep ordered during a wake's reboot lands as soon as the miner's web answers again.
ORDER_RETRY_S = 1.0


def credentials(data: Mapping[str, Any]) -> Credentials:
    """The miners' web login, and the API key some Vnish REST builds want for their writes
    (entries from before the key have none)."""
    return Credentials(
        data[CONF_USERNAME], data[CONF_PASSWORD], api_key=data.get(CONF_API_KEY) or None
    )


def build_scanner(
    session: aiohttp.ClientSession, data: Mapping[str, Any], *, factory_password: bool = False
) -> Scanner:
    """A scanner over the configured networks and hosts (raises ValueError if they are bad);
    `factory_password`: the operator allows a firmware's factory password to be tried."""
    return Scanner(
        session,
        networks=data[CONF_NETWORKS],
        hosts=data[CONF_HOSTS],
        api_port=data[CONF_API_PORT],
        web_port=data[CONF_WEB_PORT],
        credentials=credentials(data),
        allow_factory_password=factory_password,
    )


def control_config(options: Mapping[str, Any]) -> ControlConfig:
    """The controller's limits from the options."""
    return ControlConfig(
        planner=PlanLimits(policy=TargetPolicy(options[CONF_TARGET_POLICY])),
        temp_limit_c=float(options[CONF_TEMP_LIMIT]),
        hot_reserve=int(options.get(CONF_HOT_RESERVE, 0)),
        hot_standby_w=float(options[CONF_HOT_STANDBY_W])
        if options.get(CONF_HOT_STANDBY_W)
        else None,
        max_concurrent_reads=MAX_CONCURRENT_READS,
        max_concurrent_commands=MAX_CONCURRENT_COMMANDS,
        order_retry_s=ORDER_RETRY_S,
    )


def known_driver(
    record: MinerRecord, session: aiohttp.ClientSession, data: Mapping[str, Any]
) -> MinerDriver | None:
    """A driver for a miner from the fleet database, at its last address (a scan follows it
    if it moved); None for a record without one."""
    if not record.host:
        return None
    identity = MinerIdentity(
        mac=record.mac,
        host=record.host,
        model=record.model or "Antminer S9",
        firmware=record.firmware or "Vnish",
        firmware_version="",
        hostname=record.hostname,
    )
    return build_driver(
        _record_kind(record),
        MinerEndpoint(
            record.host,
            record.api_port or int(data[CONF_API_PORT]),
            record.web_port or int(data[CONF_WEB_PORT]),
        ),
        session,
        credentials=credentials(data),
        identity=identity,
    )


def _record_kind(record: MinerRecord) -> FirmwareKind:
    """The driver a stored miner needs; records from before kinds were stored are S9s."""
    try:
        kind = FirmwareKind(record.driver or "")
    except ValueError:
        kind = FirmwareKind.UNSUPPORTED
    if kind is not FirmwareKind.UNSUPPORTED:
        return kind
    if (record.firmware or "").lower().startswith(("bitmain", "stock")):
        return FirmwareKind.STOCK_S9
    return FirmwareKind.VNISH_S9
