"""Fixtures shared by the core tests: the injected HTTP session and simulated fleets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from simulator import ManualClock, SimulatedFleet

type FleetFactory = Callable[..., Awaitable[SimulatedFleet]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The injected HTTP session (in Home Assistant this would be HA's shared one)."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def start_fleet() -> AsyncIterator[FleetFactory]:
    """Start simulated fleets on a manual clock; all are stopped after the test."""
    fleets: list[SimulatedFleet] = []

    async def start(count: int = 1, **options: Any) -> SimulatedFleet:
        options.setdefault("clock", ManualClock())
        options.setdefault("seed", 1)
        fleet = SimulatedFleet(count=count, **options)
        fleets.append(fleet)
        await fleet.start()
        return fleet

    yield start
    for fleet in fleets:
        await fleet.stop()
