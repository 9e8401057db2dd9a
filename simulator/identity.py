"""Stable per-miner identity: MAC, hostname and serial-like fields."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# A locally administered prefix (bit 1 of the first octet set) so simulated MACs can never
# collide with real hardware on a network the simulator is pointed at.
MAC_PREFIX = (0x02, 0x53, 0x39)

MINER_TYPE = "Antminer S9 (vnish 3.9.0)"
CGMINER_VERSION = "4.11.1"
API_VERSION = "3.7"
MINER_VERSION = "26.0.1.3"
BUILD_VERSION = "3.9.0"
COMPILE_TIME = "Mon Apr 12 10:21:43 CST 2021"
KERNEL_VERSION = "Linux 3.14.0-xilinx-ge8a2f71-dirty #82 SMP PREEMPT Tue May 16 19:49:53 CST 2017"
FILESYSTEM_VERSION = "Mon Apr 12 10:21:43 CST 2021"


def _digest(seed: int, index: int, purpose: str) -> bytes:
    """Deterministic bytes for one miner and one purpose."""
    return hashlib.sha256(f"{seed}:{index}:{purpose}".encode()).digest()


@dataclass(frozen=True, slots=True)
class MinerIdentity:
    """What a miner reports about itself."""

    index: int
    mac: str
    hostname: str
    serial: str
    miner_id: str
    chain_id: str

    @classmethod
    def create(cls, seed: int, index: int) -> MinerIdentity:
        """Derive the identity from the fleet seed and the miner index."""
        base = int.from_bytes(_digest(seed, 0, "mac")[:3])
        # Offsetting one seeded base by the index keeps MACs unique across the fleet.
        low = (base + index) & 0xFFFFFF
        octets = (*MAC_PREFIX, low >> 16, (low >> 8) & 0xFF, low & 0xFF)
        mac = ":".join(f"{o:02X}" for o in octets)
        raw = _digest(seed, index, "serial")
        serial = "SMTT" + raw[:6].hex().upper()
        return cls(
            index=index,
            mac=mac,
            hostname=f"s9-{index + 1:04d}",
            serial=serial,
            miner_id=raw[6:14].hex(),
            chain_id=raw[14:16].hex().upper(),
        )
