"""What a hostile device on the miner network says about itself must not break Home Assistant:
names that are not valid Unicode or carry control and bidi characters, alongside real miners."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.json import json_bytes
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import CONF_FACTORY_PASSWORD, CONF_HOSTS, DOMAIN
from custom_components.net_stabilization.options import default_options
from custom_components.net_stabilization.repairs import ISSUE_UNTRUSTED
from simulator import SimulatedFleet
from simulator.hostile import HostileDevice, WebReply
from simulator.personality import BRAIINS, VNISH_REST

from .conftest import entry_data

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
BASE = "/api/net_stabilization"
NAMES = ("miner-\ud800-x", "\u202e\x07\x1b[31mevil\u200f")
_UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn"}


@pytest.fixture
async def hostile() -> AsyncIterator[list[HostileDevice]]:
    devices = [
        HostileDevice(
            pages={
                "/cgi-bin/get_system_info.cgi": WebReply(
                    {
                        "minertype": "Antminer S9 (vnish 3.9.0)",
                        "macaddr": f"02:00:00:00:0d:{i:02x}",
                        "hostname": name,
                    }
                )
            }
        )
        for i, name in enumerate(NAMES)
    ]
    for device in devices:
        await device.start()
    yield devices
    for device in devices:
        await device.stop()


@pytest.fixture
def config_entry(
    sim: SimulatedFleet, options: dict[str, Any], hostile: list[HostileDevice]
) -> MockConfigEntry:
    data = entry_data(sim)
    data[CONF_HOSTS] = [
        *data[CONF_HOSTS],
        *(f"{d.host}:{d.api_port}:{d.web_port}" for d in hostile),
    ]
    return MockConfigEntry(
        domain=DOMAIN, title="Mining fleet", unique_id=DOMAIN, data=data, options=options
    )


def _safe(text: str) -> bool:
    text.encode("utf-8")
    return not any(unicodedata.category(c) in _UNSAFE for c in text)


async def test_hostile_names_leave_home_assistant_working(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    sim: SimulatedFleet,
) -> None:
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    response = await client.get(f"{BASE}/miners")
    assert response.status == 200
    miners = await response.json()
    assert len(miners) == len(sim.miners) + len(NAMES)  # all joined, none lost
    assert all(_safe(m["name"] or "") and _safe(m["model"]) for m in miners)
    assert (await client.get("/api/states")).status == 200
    assert (await client.post(f"{BASE}/scan")).status == 200
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, loaded_entry.entry_id)
    assert all(_safe(d.name or "") for d in devices)
    json_bytes([d.dict_repr for d in devices])  # what saving the registry encodes
    stored = await loaded_entry.runtime_data.store.miners()
    assert len(stored) == len(sim.miners) + len(NAMES)


async def test_fakes_are_flagged_and_not_summed_into_rated_power(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    sim: SimulatedFleet,
) -> None:
    client = await hass_client()
    status = await (await client.get(f"{BASE}/status")).json()
    assert status["ratedPowerInKw"] == 2.92  # the two real S9s only
    assert status["miners"]["untrusted"] == len(NAMES)
    miners = await (await client.get(f"{BASE}/miners")).json()
    real = {m.mac for m in sim.miners}
    assert {m["id"] for m in miners if not m["trusted"]} == {
        m["id"] for m in miners if m["id"] not in real
    }
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_UNTRUSTED) is not None


@pytest.mark.parametrize("kinds", [[BRAIINS, VNISH_REST]])
async def test_the_history_records_which_hosts_received_the_login(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    assert runtime.scanning.scanner.allow_factory_password is False  # off unless allowed
    notes = [r for r in await runtime.store.recent_commands() if r.command == "logins_sent"]
    assert len(notes) == 1
    assert notes[0].parameters["count"] == 2
    assert all(m.host in str(notes[0].parameters["hosts"]) for m in sim.miners)
    await runtime.async_rescan()  # the same hosts again: not noted twice
    notes = [r for r in await runtime.store.recent_commands() if r.command == "logins_sent"]
    assert len(notes) == 1


@pytest.mark.parametrize("options", [{**default_options(), CONF_FACTORY_PASSWORD: True}])
async def test_the_factory_password_option_reaches_the_scanner(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert loaded_entry.runtime_data.scanning.scanner.allow_factory_password is True
