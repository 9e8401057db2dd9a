"""Firmware personalities: which state model and which wire formats one simulated miner has.

The S9 on Vnish 3.9 (`vnish_s9`) is built into the fleet; the others live in their own modules
and are loaded when a fleet asks for them. A personality module exposes `PERSONALITY`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from .clock import Clock
from .runtime import Runtime

VNISH_S9 = "vnish_s9"
BRAIINS = "braiins"
LUXOS = "luxos"
VNISH_REST = "vnish_rest"
CGMINER = "cgminer"  # read-only: a stock or unknown firmware that speaks only the cgminer API
WHATSMINER_V3 = "whatsminer_v3"  # btminer from late 2024 on: Whatsminer API v3 on 4433 only
KINDS = (VNISH_S9, BRAIINS, LUXOS, VNISH_REST, CGMINER, WHATSMINER_V3)

_MODULES = {
    BRAIINS: ".braiins_rest",
    LUXOS: ".luxos_api",
    VNISH_REST: ".vnish_rest",
    CGMINER: ".cgminer_generic",
    WHATSMINER_V3: ".whatsminer_v3",
}

ApiHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class SimMiner(Protocol):
    """What the fleet needs of any simulated miner."""

    index: int
    host: str
    api_port: int
    web_port: int
    mac: str
    on_change: Callable[[], None] | None

    @property
    def state(self) -> str: ...

    @property
    def power_w(self) -> float: ...

    @property
    def hashrate_ths(self) -> float: ...

    @property
    def next_deadline(self) -> float | None: ...

    def wanted_listeners(self) -> tuple[bool, bool]: ...

    def advance_to(self, now: float) -> None: ...

    def set_fault(self, fault: Any, **params: Any) -> None: ...

    def clear_fault(self, fault: Any) -> None: ...


Resolver = Callable[[str, int], Any]


class MinerFactory(Protocol):
    """Builds one simulated miner of a personality."""

    def __call__(
        self,
        index: int,
        host: str,
        api_port: int,
        web_port: int,
        clock: Clock,
        *,
        seed: int,
        password: str,
        jitter: float,
        initial_state: str,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class Personality:
    """One firmware on one kind of hardware, as the simulator presents it."""

    kind: str
    create: MinerFactory
    # The web application of every miner of this kind (it finds its miner by host and port).
    web_app: Callable[[Resolver, Runtime], web.Application] | None
    # The handler of one miner's port 4028, if the firmware serves it.
    api_handler: Callable[[Any, Runtime], ApiHandler] | None
    initial_states: tuple[str, ...] = ("mining", "paused", "booting")
    # The firmware's own API port, used instead of the fleet's on a network of miners.
    api_port: int | None = None


def personality(kind: str) -> Personality:
    """The personality of `kind` (not `vnish_s9`, which the fleet builds itself)."""
    try:
        module = _MODULES[kind]
    except KeyError:
        raise ValueError(f"unknown miner kind {kind!r}; choose from {', '.join(KINDS)}") from None
    loaded: Personality = importlib.import_module(module, __package__).PERSONALITY
    return loaded


def initial_state_for(kind: str, wanted: str) -> str:
    """Map the S9 fleet's initial states onto a personality's ("sleeping" is "paused")."""
    if kind == VNISH_S9:
        return wanted
    return {"sleeping": "paused", "stopped": "paused"}.get(wanted, wanted)


def mix_kinds(count: int, spec: str) -> list[str]:
    """The kind of each of `count` miners from a spec such as "braiins=0.3,luxos=0.2" (the
    rest are S9 on Vnish 3.9), interleaved so every address range is mixed."""
    quotas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, share = part.partition("=")
        if kind not in KINDS:
            raise ValueError(f"unknown miner kind {kind!r}; choose from {', '.join(KINDS)}")
        fraction = float(share) if share else 1.0
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"share of {kind} must be within 0..1, got {fraction}")
        quotas[kind] = round(count * fraction)
    quotas[VNISH_S9] = quotas.get(VNISH_S9, 0) + count - sum(quotas.values())
    if quotas[VNISH_S9] < 0:
        raise ValueError("the shares add up to more than the whole fleet")
    kinds: list[str] = []
    while len(kinds) < count:
        for kind in list(quotas):
            if quotas[kind] > 0:
                kinds.append(kind)
                quotas[kind] -= 1
    return kinds
