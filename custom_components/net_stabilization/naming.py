"""How a miner is called in Home Assistant: its device name, also in messages about it."""

from __future__ import annotations

from .core.fleet import MinerSnapshot

# Host names the firmware ships with; useless to tell miners apart.
_DEFAULT_HOSTNAMES = frozenset({"antminer", "antminer_s9", "bitmain", ""})


def miner_name(miner: MinerSnapshot) -> str:
    """A name that tells miners apart: the host name unless it is the factory default."""
    hostname = (miner.hostname or "").strip()
    if hostname.lower() not in _DEFAULT_HOSTNAMES:
        return hostname
    return f"{miner.model} {miner.mac[-8:]}"
