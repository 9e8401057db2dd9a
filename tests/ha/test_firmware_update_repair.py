"""A Braiins OS release without the REST API is monitored read-only and a repair issue asks
for an update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import CONF_HOSTS, DOMAIN
from custom_components.net_stabilization.repairs import ISSUE_FIRMWARE_UPDATE
from simulator import SimulatedFleet
from simulator.hostile import HostileDevice, grpc_era_braiins

from .conftest import entry_data


@pytest.fixture
async def old_braiins() -> AsyncIterator[HostileDevice]:
    async with grpc_era_braiins() as device:
        yield device


@pytest.fixture
def config_entry(
    sim: SimulatedFleet, options: dict[str, Any], old_braiins: HostileDevice
) -> MockConfigEntry:
    data = entry_data(sim)
    device = old_braiins
    data[CONF_HOSTS] = [*data[CONF_HOSTS], f"{device.host}:{device.api_port}:{device.web_port}"]
    return MockConfigEntry(
        domain=DOMAIN, title="Mining fleet", unique_id=DOMAIN, data=data, options=options
    )


async def test_a_grpc_only_braiins_miner_raises_the_update_issue(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, old_braiins: HostileDevice
) -> None:
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_FIRMWARE_UPDATE)
    assert issue is not None
    assert issue.translation_placeholders == {"count": "1", "hosts": old_braiins.host}
    kinds = {m.driver for m in loaded_entry.runtime_data.controller.snapshot.miners}
    assert "monitor" in kinds and "braiins" not in kinds
    assert old_braiins.secrets_received == []
