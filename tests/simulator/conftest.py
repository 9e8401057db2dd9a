"""Fixtures for the simulator tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
import pytest_socket

from simulator import ManualClock, SimulatedFleet


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Every simulator test needs real loopback sockets."""


@pytest.fixture
def allow_loopback_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let tests connect to 127.0.1.x (the HA plugin only allows 127.0.0.1)."""
    monkeypatch.setattr(socket.socket, "connect", pytest_socket._true_connect)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at t=0."""
    return ManualClock()


@pytest.fixture
async def fleet(clock: ManualClock) -> AsyncIterator[SimulatedFleet]:
    """Three mining miners on 127.0.0.1 with ephemeral ports and no timing jitter."""
    sim = SimulatedFleet(count=3, clock=clock, seed=1, jitter=0.0)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def web_session() -> AsyncIterator[Callable[..., aiohttp.ClientSession]]:
    """Factory for Digest-authenticating sessions; all are closed after the test."""
    sessions: list[aiohttp.ClientSession] = []

    def make(password: str | None = "root", user: str = "root") -> aiohttp.ClientSession:
        middlewares = () if password is None else (aiohttp.DigestAuthMiddleware(user, password),)
        session = aiohttp.ClientSession(
            middlewares=middlewares, timeout=aiohttp.ClientTimeout(total=5)
        )
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
