"""Fixtures for tests that run inside Home Assistant, against simulated miners on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import (
    CONF_API_PORT,
    CONF_HOSTS,
    CONF_NETWORKS,
    CONF_WEB_PORT,
    DOMAIN,
)
from custom_components.net_stabilization.options import default_options
from simulator import ManualClock, SimulatedFleet
from simulator.vtn import TestVtn

OPENADR_PROGRAM = "fleet-dr"  # the program the test VTN offers


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Let Home Assistant load the integration from custom_components/."""
    yield


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Simulated miners are real sockets on 127.0.0.1."""


@pytest.fixture
def all_entities_enabled() -> Generator[None]:
    """Create every entity enabled, also those a fleet has disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def sim_clock() -> ManualClock:
    """Simulated miners' time: moves only when a test says so."""
    return ManualClock()


@pytest.fixture
def miner_count() -> int:
    """How many simulated miners a test gets."""
    return 2


@pytest.fixture
def initial_state() -> str:
    """What the simulated miners are doing when the test starts."""
    return "sleeping"


@pytest.fixture
def kinds() -> list[str] | None:
    """The simulated miners' firmware personalities; None: all S9 on Vnish 3.9."""
    return None


@pytest.fixture
async def sim(
    sim_clock: ManualClock, miner_count: int, initial_state: str, kinds: list[str] | None
) -> AsyncIterator[SimulatedFleet]:
    """Simulated miners on 127.0.0.1, each with its own ports."""
    fleet = SimulatedFleet(
        count=len(kinds) if kinds is not None else miner_count,
        host="127.0.0.1",
        clock=sim_clock,
        seed=7,
        jitter=0.0,
        initial_state=initial_state,
        kinds=kinds,
    )
    await fleet.start()
    yield fleet
    await fleet.stop()


def hosts_of(sim: SimulatedFleet) -> list[str]:
    """Host entries for the config flow: host:api_port:web_port per miner."""
    return [f"{m.host}:{m.api_port}:{m.web_port}" for m in sim.miners]


def entry_data(sim: SimulatedFleet, password: str = "root") -> dict[str, Any]:
    """Config entry data pointing at the simulated miners."""
    return {
        CONF_NETWORKS: [],
        CONF_HOSTS: hosts_of(sim),
        CONF_USERNAME: "root",
        CONF_PASSWORD: password,
        CONF_API_PORT: 4028,
        CONF_WEB_PORT: 80,
    }


@pytest.fixture
def options() -> dict[str, Any]:
    """Entry options; tests override single ones."""
    return {**default_options(), "rescan_interval": 0}


@pytest.fixture
def config_entry(sim: SimulatedFleet, options: dict[str, Any]) -> MockConfigEntry:
    """The fleet's config entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Mining fleet",
        unique_id=DOMAIN,
        data=entry_data(sim),
        options=options,
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The fleet set up in Home Assistant."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
async def vtn() -> AsyncIterator[TestVtn]:
    """A VTN on loopback with one program."""
    server = TestVtn(ManualClock())
    await server.start()
    server.create_program(OPENADR_PROGRAM)
    yield server
    await server.close()
