"""The coordinator's duties beyond polling: setup failures, meter, rescans, history, repairs."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.config_flow import default_options
from custom_components.net_stabilization.const import CONF_METER_ENTITY, DOMAIN
from custom_components.net_stabilization.core.fleet import MinerState
from simulator import Fault, SimulatedFleet


async def test_setup_retries_when_no_miner_answers(
    hass: HomeAssistant, config_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    await sim.stop()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_asks_for_login_when_all_miners_refuse(
    hass: HomeAssistant, config_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    for miner in sim.miners:
        miner.set_fault(Fault.WRONG_PASSWORD)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    "options", [{**default_options(), "rescan_interval": 0, CONF_METER_ENTITY: "sensor.site"}]
)
@pytest.mark.parametrize(
    ("state", "unit", "expected"),
    [("2500", "W", 2.5), ("3.1", "kW", 3.1), ("unavailable", "W", None), ("x", "W", None)],
)
async def test_site_meter(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    state: str,
    unit: str,
    expected: float | None,
) -> None:
    hass.states.async_set("sensor.site", state, {"unit_of_measurement": unit})
    coordinator = loaded_entry.runtime_data
    assert coordinator._read_meter() == expected
    await coordinator.async_refresh()
    status = coordinator.data.ems_status()
    if expected is not None:
        assert status["activePowerInKw"] == expected
        assert coordinator.data.power_source == "meter"
    else:
        assert coordinator.data.power_source == "miners"


async def test_stale_meter_is_ignored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = loaded_entry.runtime_data
    coordinator.options[CONF_METER_ENTITY] = "sensor.site"
    hass.states.async_set("sensor.site", "2000", {"unit_of_measurement": "W"})
    assert coordinator._read_meter() == 2.0
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    assert coordinator._read_meter() is None


async def test_periodic_rescan_and_purge(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data
    await coordinator._async_periodic_rescan()
    assert coordinator.last_scan is not None
    assert len(coordinator.last_scan.miners) == 2
    await coordinator._async_write_snapshot()
    await coordinator._async_purge()
    assert len(await coordinator.store.fleet_history(since=0)) == 1
    coordinator.options["retention_hours"] = -1  # everything is older than that
    await coordinator._async_purge()
    assert await coordinator.store.fleet_history(since=0) == []


async def test_failing_scan_does_not_stop_the_timer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = loaded_entry.runtime_data

    async def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(coordinator.scanner, "scan", broken)
    await coordinator._async_periodic_rescan()  # logged, not raised


async def test_login_change_raises_repair_and_reauth(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    issue_registry: ir.IssueRegistry,
) -> None:
    for miner in sim.miners:
        miner.set_fault(Fault.WRONG_PASSWORD)
    await loaded_entry.runtime_data.async_rescan()
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, "auth_failed")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == "2"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    for miner in sim.miners:
        miner.clear_fault(Fault.WRONG_PASSWORD)
    await loaded_entry.runtime_data.async_rescan()
    assert issue_registry.async_get_issue(DOMAIN, "auth_failed") is None


async def test_failed_miners_repair_issue(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    coordinator = loaded_entry.runtime_data
    snapshot = coordinator.data
    failed = replace(snapshot.miners[0], state=MinerState.FAILED)
    coordinator._update_failed_miners_issue(
        replace(snapshot, miners=(failed, *snapshot.miners[1:]))
    )
    issue = issue_registry.async_get_issue(DOMAIN, "failed_miners")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == "1"
    coordinator._update_failed_miners_issue(snapshot)
    assert issue_registry.async_get_issue(DOMAIN, "failed_miners") is None
