"""The coordinator's duties beyond polling: setup failures, meter, rescans, history, repairs."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization import repairs
from custom_components.net_stabilization.const import CONF_METER_ENTITY, DOMAIN
from custom_components.net_stabilization.core.fleet import MinerState
from custom_components.net_stabilization.options import default_options
from custom_components.net_stabilization.site_meter import SiteMeter
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
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    assert SiteMeter(hass, "sensor.site")() == expected
    await coordinator.async_refresh()
    status = coordinator.snapshot.ems_status()
    if expected is not None:
        assert status["activePowerInKw"] == expected
        assert coordinator.snapshot.power_source == "meter"
    else:
        assert coordinator.snapshot.power_source == "miners"


async def test_stale_meter_is_ignored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = SiteMeter(hass, "sensor.site")
    hass.states.async_set("sensor.site", "2000", {"unit_of_measurement": "W"})
    assert meter() == 2.0
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    assert meter() is None


async def test_periodic_rescan_and_purge(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    runtime = loaded_entry.runtime_data
    await runtime.async_periodic_rescan()
    assert runtime.scanning.last_scan is not None
    assert len(runtime.scanning.last_scan.miners) == 2
    await runtime.async_write_snapshot()
    await runtime.async_purge()
    assert len(await runtime.store.fleet_history(since=0)) == 1
    runtime.options["retention_hours"] = -1  # everything is older than that
    await runtime.async_purge()
    assert await runtime.store.fleet_history(since=0) == []


async def test_failing_scan_does_not_stop_the_timer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = loaded_entry.runtime_data

    async def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.scanning.scanner, "scan", broken)
    await runtime.async_periodic_rescan()  # logged, not raised


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
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    snapshot = coordinator.data
    failed = replace(snapshot.miners[0], state=MinerState.FAILED)
    repairs.update_failed_miners(hass, replace(snapshot, miners=(failed, *snapshot.miners[1:])))
    issue = issue_registry.async_get_issue(DOMAIN, "failed_miners")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == "1"
    repairs.update_failed_miners(hass, snapshot)
    assert issue_registry.async_get_issue(DOMAIN, "failed_miners") is None


@pytest.mark.parametrize("options", [{**default_options(), "rescan_interval": 0, "max_miners": 1}])
async def test_the_fleet_takes_no_more_miners_than_its_limit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    assert len(loaded_entry.runtime_data.controller.macs) == 1
    issue = issue_registry.async_get_issue(DOMAIN, "fleet_size_exceeded")
    assert issue is not None
    assert issue.translation_placeholders == {"count": "1", "limit": "1"}


async def test_diagnostics_never_name_a_miner_in_a_key(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    runtime = loaded_entry.runtime_data
    mac = sorted(runtime.controller.macs)[0]
    await runtime.controller.set_miner_override(mac, "off")
    from custom_components.net_stabilization.diagnostics import (  # noqa: PLC0415
        async_get_config_entry_diagnostics,
    )

    text = repr(await async_get_config_entry_diagnostics(hass, loaded_entry))
    assert mac not in text and mac.lower() not in text


async def test_a_poll_that_breaks_is_reported_not_raised(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = loaded_entry.runtime_data

    async def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.controller, "poll", broken)
    await runtime.coordinator.async_refresh()
    assert not runtime.coordinator.last_update_success


async def test_a_large_command_tells_the_entities_once_its_orders_are_out(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.net_stabilization import coordinator as module  # noqa: PLC0415

    # Every command counts as large here, also one whose orders went out before it returned.
    monkeypatch.setattr(module, "ORDERS_FIRST_ABOVE", -1)
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 2.92}, blocking=True)
    await loaded_entry.runtime_data.controller.wait_orders_sent()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.mining_fleet_target_power").state == "2.92"


async def test_a_miner_that_comes_back_is_logged_once(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    sim.miners[0].set_fault(Fault.OFFLINE, powered=True)
    for _ in range(3):
        await coordinator.async_refresh()
    assert caplog.text.count("is unavailable") == 1
    sim.miners[0].clear_fault(Fault.OFFLINE)
    await sim.sync()  # its ports open again
    await coordinator.async_refresh()
    await coordinator.async_refresh()
    assert caplog.text.count("is back") == 1


async def test_entities_are_told_in_slices_when_there_are_many(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.net_stabilization import coordinator as module  # noqa: PLC0415

    monkeypatch.setattr(module, "LISTENER_SLICE_S", 0.0)  # every listener its own slice
    coordinator = loaded_entry.runtime_data.coordinator
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    coordinator.publish()  # arrives while the slices run: everybody is told once more
    await hass.async_block_till_done()
    assert hass.states.get("sensor.mining_fleet_target_power").state == "1.46"


async def test_a_listener_that_breaks_or_goes_away_does_not_stop_the_others(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from custom_components.net_stabilization import coordinator as module  # noqa: PLC0415

    monkeypatch.setattr(module, "LISTENER_SLICE_S", 0.0)  # every listener its own slice
    coordinator = loaded_entry.runtime_data.coordinator
    calls: list[str] = []

    def breaks() -> None:
        calls.append("breaks")
        raise RuntimeError("listener broke")

    def removes_the_next() -> None:
        calls.append("removes")
        remove_late()

    def late() -> None:
        calls.append("late")

    def last() -> None:
        calls.append("last")

    coordinator.async_add_listener(breaks)
    coordinator.async_add_listener(removes_the_next)
    remove_late = coordinator.async_add_listener(late)
    coordinator.async_add_listener(last)
    coordinator.publish()
    await hass.async_block_till_done()
    assert calls == ["breaks", "removes", "last"]
    assert "Unexpected error updating listener" in caplog.text
