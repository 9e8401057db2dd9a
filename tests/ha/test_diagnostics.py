"""Diagnostics: useful, and free of credentials, tokens, addresses and MACs."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet


async def test_diagnostics_are_redacted(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    hass_client,
    snapshot: SnapshotAssertion,
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    await loaded_entry.runtime_data.controller.wait_idle()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    text = json.dumps(diagnostics)
    for miner in sim.miners:
        assert miner.mac not in text
        assert str(miner.api_port) not in text
    assert "127.0.0.1" not in text
    assert '"root"' not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    commands = [c["command"] for c in diagnostics["recent_commands"]]
    assert next(c for c in commands if c != "target_source") == "activate"
    assert "target_source" in commands  # the change of source is in the history too
    assert diagnostics == snapshot(
        exclude=props(
            "updated_at",
            "timestamp",
            "duration_s",
            "runtime_s",
            "chip_temp_c",
            "board_temp_c",
            "fan_rpm",
        )
    )
