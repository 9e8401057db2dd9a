"""Fault kinds a simulated miner can exhibit, and fleet-wide fault assignment."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from random import Random


class Fault(StrEnum):
    """Misbehaviour seen on real S9 fleets."""

    OFFLINE = "offline"  # nothing answers (refused, or accepted and never answered)
    SLOW = "slow"  # every reply is delayed by `delay_s` real seconds
    TRUNCATED = "truncated"  # replies are cut in half and the socket is closed
    GARBAGE = "garbage"  # replies are random bytes
    WRONG_PASSWORD = "wrong_password"  # the web password differs from the expected one
    NEVER_STARTS = "never_starts"  # after a wake/restart bmminer never comes up
    DEAD_BOARD = "dead_board"  # one hash board reports no chips and draws no power
    OVERHEAT = "overheat"  # poor cooling: chip temperatures above ~95 °C when mining


@dataclass(slots=True)
class FaultOptions:
    """Parameters of the active faults of one miner."""

    active: set[Fault] = field(default_factory=set)
    delay_s: float = 2.0  # SLOW, in real seconds: client timeouts are real
    powered: bool = False  # OFFLINE: keep running (network loss) instead of power loss
    hang: bool = False  # OFFLINE: accept connections and never answer
    dead_chain: int = 8  # DEAD_BOARD: which chain (6, 7 or 8)
    wrong_password: str = "not-the-password"

    def __contains__(self, fault: object) -> bool:
        return fault in self.active


def parse_fault_spec(spec: str) -> tuple[Fault, float]:
    """Parse a CLI fault option such as `offline=0.05` (fraction of the fleet)."""
    name, sep, frac = spec.partition("=")
    try:
        fault = Fault(name.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in Fault)
        raise ValueError(f"unknown fault {name!r}; choose from {choices}") from None
    fraction = float(frac) if sep else 1.0
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fault fraction must be within 0..1, got {fraction}")
    return fault, fraction


def pick_miners(count: int, fraction: float, rng: Random) -> list[int]:
    """Choose which miner indices get a fault; rounds to the nearest whole miner."""
    n = min(count, math.floor(count * fraction + 0.5))
    return sorted(rng.sample(range(count), n))
