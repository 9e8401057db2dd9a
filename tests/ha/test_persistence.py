"""The fleet database in Home Assistant: history, restart resume, and a broken database."""

from __future__ import annotations

import asyncio
import time

import pytest
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet
from tests.store_faults import DatabaseFaults, Fault


@pytest.mark.usefixtures("all_entities_enabled")
async def test_restart_resumes_without_needless_transitions(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.s9_0002_include_in_dispatch"}, blocking=True
    )
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    await runtime.controller.wait_idle()
    await sim.advance(400)  # the woken miner boots and ramps to full power
    await coordinator.async_refresh()
    running = [m for m in sim.miners if m.state == "mining"]
    assert len(running) == 1
    uptime_before = running[0].uptime_s

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    await runtime.controller.wait_idle()

    settings = runtime.controller.settings()
    assert settings.ems_target_kw == 1.46
    assert len(settings.excluded) == 1
    assert hass.states.get("switch.s9_0002_include_in_dispatch").state == "off"
    # The running miner was neither rebooted nor put to sleep, the other one stayed asleep.
    assert [m.state for m in sim.miners].count("mining") == 1
    assert running[0].state == "mining"
    assert running[0].uptime_s >= uptime_before
    history = await runtime.store.recent_commands()
    assert [c.command for c in history if not c.is_note][:2] == ["set_excluded", "activate"]


async def test_history_api_and_snapshots(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.0}, blocking=True)
    runtime = loaded_entry.runtime_data
    await runtime.async_write_snapshot()
    client = await hass_client()
    body = await (await client.get("/api/net_stabilization/history?limit=5")).json()
    # The change of source the activation made is noted after it.
    assert body[0]["command"] == "target_source"
    assert body[0]["parameters"] == {"from": "none", "to": "ems"}
    assert body[1]["command"] == "activate"
    assert body[1]["parameters"] == {"activationPowerInKw": 1.0}
    assert (await client.get("/api/net_stabilization/history?limit=x")).status == 400
    history = await runtime.store.fleet_history(since=0)
    assert len(history) == 1
    assert history[0][1].target_kw == 1.0


async def test_database_closed_on_stop(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    runtime = loaded_entry.runtime_data
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert runtime.store._db is None


@pytest.mark.parametrize(("language", "shown"), [("en", "read-only"), ("de", "schreibgeschützt")])
async def test_broken_database_raises_repair_and_control_goes_on(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    language: str,
    shown: str,
) -> None:
    hass.config.language = language
    runtime = loaded_entry.runtime_data
    store = runtime.store
    faults = DatabaseFaults(store.path)
    store._connector = faults.connect
    await faults.start(Fault.READ_ONLY, store)  # every write now fails: read-only
    response = await hass.services.async_call(
        DOMAIN, "activate", {"power_kw": 1.0}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["accepted"] is True
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, "database_problem")
    assert issue is not None
    # The problem is named in the user's language, not as its code.
    assert issue.translation_placeholders == {"problem": shown, "path": str(store.path)}
    await faults.clear(Fault.READ_ONLY)
    await hass.services.async_call(DOMAIN, "deactivate", {}, blocking=True)
    async with asyncio.timeout(10):
        await store.wait_written()
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "database_problem") is None
    commands = [c.command for c in await store.recent_commands() if not c.is_note]
    assert commands[:2] == ["deactivate", "activate"]


async def test_learnt_power_survives_a_restart(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    await runtime.controller.wait_idle()
    await sim.advance(400)  # boots and ramps to full power
    for _ in range(3):  # steady readings in a row
        await coordinator.async_refresh()
    learnt = runtime.controller.calibration()
    assert len(learnt) == 1
    assert next(iter(learnt.values())) != 1.0  # the simulated unit draws off the curve

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    restored = loaded_entry.runtime_data.controller
    assert restored.calibration() == learnt


async def test_a_target_older_than_the_downtime_limit_is_not_resumed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    runtime = loaded_entry.runtime_data
    await runtime.controller.wait_idle()
    await sim.advance(400)
    await runtime.coordinator.async_refresh()
    assert [m.state for m in sim.miners].count("mining") == 1
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    # Home Assistant was down for 20 minutes (the default limit is 15).
    later = time.time() + 20 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    runtime = loaded_entry.runtime_data
    await runtime.controller.wait_idle()
    assert runtime.controller.target_w is None
    assert all(m.state == "sleeping" for m in sim.miners)  # what it ran went to sleep
    last = (await runtime.store.recent_commands(1))[0]
    assert (last.command, last.source) == ("deactivate", "setup")
    assert "20 min ago" in last.message
    # The last command shows after the restart, not Unknown.
    assert hass.states.get("sensor.mining_fleet_last_command").state not in ("unknown", "")


async def test_a_short_downtime_resumes_and_the_last_command_shows(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    shown = hass.states.get("sensor.mining_fleet_last_command").state
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.controller.target_w == 1460.0
    assert hass.states.get("sensor.mining_fleet_last_command").state == shown


async def test_miners_that_join_are_in_the_history(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    history = await loaded_entry.runtime_data.store.recent_commands(50)
    joined = [c for c in history if c.command == "miners_joined"]
    assert len(joined) == 1
    assert joined[0].source == "scan" and joined[0].parameters == {"count": 2}
    assert "2 miners joined the fleet" in joined[0].message
