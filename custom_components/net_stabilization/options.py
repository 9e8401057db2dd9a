"""The fleet's options: their defaults and how user lists (networks, hosts) are read."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_EMS_NETWORKS,
    CONF_FACTORY_PASSWORD,
    CONF_GRID_LIMIT_KW,
    CONF_HOT_RESERVE,
    CONF_HOT_STANDBY_W,
    CONF_MAX_MINERS,
    CONF_MINER_ENTITIES,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_RESCAN_INTERVAL,
    CONF_RESTORE_MAX_AGE,
    CONF_RETENTION_HOURS,
    CONF_SNAPSHOT_INTERVAL,
    CONF_STRATEGY,
    CONF_TARGET_POLICY,
    CONF_TEMP_LIMIT,
    DEFAULT_MAX_MINERS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_POWER_MODE,
    DEFAULT_RESCAN_INTERVAL,
    DEFAULT_RESTORE_MAX_AGE,
    DEFAULT_RETENTION_HOURS,
    DEFAULT_SNAPSHOT_INTERVAL,
    DEFAULT_TARGET_POLICY,
    DEFAULT_TEMP_LIMIT,
)

_SEPARATORS = re.compile(r"[\s,;]+")


def default_options() -> dict[str, Any]:
    """Options of a new fleet."""
    return {
        CONF_POWER_MODE: DEFAULT_POWER_MODE,
        CONF_POLL_INTERVAL: DEFAULT_POLL_INTERVAL,
        CONF_SNAPSHOT_INTERVAL: DEFAULT_SNAPSHOT_INTERVAL,
        CONF_RETENTION_HOURS: DEFAULT_RETENTION_HOURS,
        CONF_RESCAN_INTERVAL: DEFAULT_RESCAN_INTERVAL,
        CONF_EMS_NETWORKS: [],
        CONF_TEMP_LIMIT: DEFAULT_TEMP_LIMIT,
        CONF_TARGET_POLICY: DEFAULT_TARGET_POLICY,
        CONF_MINER_ENTITIES: True,
        CONF_RESTORE_MAX_AGE: DEFAULT_RESTORE_MAX_AGE,
        CONF_MAX_MINERS: DEFAULT_MAX_MINERS,
        CONF_GRID_LIMIT_KW: 0,
        CONF_STRATEGY: "none",
        CONF_HOT_RESERVE: 0,
        CONF_HOT_STANDBY_W: 0,
        CONF_FACTORY_PASSWORD: False,
    }


def effective_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's options over the defaults (older entries lack newer options)."""
    return {**default_options(), **options}


def split_list(text: str | list[str] | None) -> list[str]:
    """Split a user's list of networks or hosts (commas, spaces or new lines)."""
    if not text:
        return []
    if isinstance(text, list):
        text = " ".join(text)
    return [item for item in _SEPARATORS.split(text) if item]


def parse_networks(items: list[str]) -> list[str]:
    """Normalise CIDRs; raises ValueError on the first bad one."""
    return [str(ipaddress.ip_network(item, strict=False)) for item in items]
