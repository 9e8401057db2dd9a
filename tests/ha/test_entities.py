"""Entities: values, controls, availability, devices that come and go."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization import async_remove_config_entry_device
from custom_components.net_stabilization.builder import build_scanner
from custom_components.net_stabilization.const import CONF_HOSTS, DOMAIN
from custom_components.net_stabilization.options import default_options
from simulator import Fault, ManualClock, SimulatedFleet

from .conftest import hosts_of


def find_device(
    registry: dr.DeviceRegistry, entry: MockConfigEntry, identifier: str
) -> dr.DeviceEntry:
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if (DOMAIN, identifier) in device.identifiers:
            return device
    raise AssertionError(f"no device {identifier}")


@pytest.mark.usefixtures("all_entities_enabled")
async def test_miner_values(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert hass.states.get("sensor.s9_0001_state").state == "sleeping"
    assert hass.states.get("sensor.s9_0001_power").state == "50"
    assert hass.states.get("sensor.s9_0001_hashrate").state == "0.0"
    assert hass.states.get("binary_sensor.s9_0001_online").state == "on"
    assert hass.states.get("sensor.mining_fleet_miners_online").state == "2"


@pytest.mark.usefixtures("all_entities_enabled")
async def test_mining_switch_wakes_the_miner(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.s9_0001_mining"}, blocking=True
    )
    await loaded_entry.runtime_data.controller.wait_idle()
    miner = next(m for m in sim.miners if m.hostname == "s9-0001")
    assert miner.state == "booting"  # a Vnish wake is a reboot
    assert hass.states.get("switch.s9_0001_mining").state == "on"
    # Forced on by the operator: no longer the fleet's to dispatch.
    assert hass.states.get("switch.s9_0001_include_in_dispatch").state == "off"
    assert hass.states.get("sensor.mining_fleet_rated_power").state == "1.46"

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.s9_0001_include_in_dispatch"}, blocking=True
    )
    assert hass.states.get("switch.s9_0001_include_in_dispatch").state == "on"


@pytest.mark.usefixtures("all_entities_enabled")
async def test_exclusion_lowers_rated_power(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.s9_0002_include_in_dispatch"}, blocking=True
    )
    assert hass.states.get("sensor.mining_fleet_rated_power").state == "1.46"


async def test_target_number_activates(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.mining_fleet_target_power_setpoint", "value": 1.46},
        blocking=True,
    )
    assert hass.states.get("number.mining_fleet_target_power_setpoint").state == "1.46"
    assert hass.states.get("sensor.mining_fleet_last_command").state != "unknown"


@pytest.mark.usefixtures("all_entities_enabled")
async def test_unavailable_only_after_repeated_failures(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    miner = next(m for m in sim.miners if m.hostname == "s9-0002")
    miner.set_fault(Fault.OFFLINE)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.s9_0002_power").state != STATE_UNAVAILABLE
    for _ in range(3):
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.s9_0002_power").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.s9_0002_online").state == "off"
    assert hass.states.get("sensor.s9_0002_state").state == "offline"
    assert hass.states.get("sensor.s9_0001_power").state == "50"


async def test_new_miner_appears_and_gone_one_can_be_removed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    device_registry: dr.DeviceRegistry,
) -> None:
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    extra = SimulatedFleet(
        count=1, host="127.0.0.1", clock=ManualClock(), seed=99, initial_state="sleeping"
    )
    await extra.start()
    try:
        runtime.scanning.scanner = build_scanner(
            async_get_clientsession(hass),
            {**loaded_entry.data, CONF_HOSTS: hosts_of(sim) + hosts_of(extra)},
        )
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.mining_fleet_rescan_networks"}, blocking=True
        )
        await hass.async_block_till_done()
        new_mac = extra.miners[0].mac
        device = find_device(device_registry, loaded_entry, new_mac)
        assert hass.states.get("sensor.mining_fleet_rated_power").state == "4.38"

        # A live miner cannot be removed; an offline one can.
        assert not await async_remove_config_entry_device(hass, loaded_entry, device)
        extra.miners[0].set_fault(Fault.OFFLINE)
        for _ in range(3):
            await coordinator.async_refresh()
        assert await async_remove_config_entry_device(hass, loaded_entry, device)
        assert new_mac not in runtime.controller.macs
        fleet_device = find_device(device_registry, loaded_entry, loaded_entry.entry_id)
        assert not await async_remove_config_entry_device(hass, loaded_entry, fleet_device)
    finally:
        await extra.stop()


async def test_energy_integrates_active_power(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    state = hass.states.get("sensor.mining_fleet_energy")
    assert state is not None
    assert float(state.state) >= 0.0
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"


async def test_override_target_and_switch(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.mining_fleet_override_target", "value": 1.46},
        blocking=True,
    )
    assert hass.states.get("number.mining_fleet_override_target").state == "1.46"
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.mining_fleet_manual_override"}, blocking=True
    )
    assert hass.states.get("sensor.mining_fleet_target_power").state == "1.46"
    # While the override is on, both numbers move the override's target.
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.mining_fleet_target_power_setpoint", "value": 0.0},
        blocking=True,
    )
    assert hass.states.get("number.mining_fleet_override_target").state == "0.0"
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.mining_fleet_override_target", "value": 1.0},
        blocking=True,
    )
    assert hass.states.get("sensor.mining_fleet_target_power").state == "1.0"
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.mining_fleet_manual_override"}, blocking=True
    )
    assert hass.states.get("switch.mining_fleet_manual_override").state == "off"


async def test_power_mode_select(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.mining_fleet_power_mode", "option": "frequency"},
        blocking=True,
    )
    assert hass.states.get("select.mining_fleet_power_mode").state == "frequency"
    assert hass.states.get("sensor.mining_fleet_rated_power").state == "2.92"


@pytest.mark.usefixtures("all_entities_enabled")
async def test_reboot_button(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.s9_0001_reboot"}, blocking=True
    )
    await loaded_entry.runtime_data.controller.wait_idle()
    miner = next(m for m in sim.miners if m.hostname == "s9-0001")
    assert miner.state == "booting"
    await sim.advance(400)  # boots into mining, as a Vnish S9 does
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    await coordinator.async_refresh()  # seen hashing: the fleet keeps it asleep
    await runtime.controller.wait_idle()
    assert miner.state == "sleeping"
    history = await runtime.store.recent_commands()
    assert history[0].command == "reboot_miner"


async def test_frequency_setpoint_pins_a_miner(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    sim: SimulatedFleet,
    entity_registry: er.EntityRegistry,
) -> None:
    entity_id = "number.s9_0001_frequency_setpoint"
    entity_registry.async_update_entity(entity_id, disabled_by=None)  # disabled by default
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # on/off mode
    await hass.services.async_call(DOMAIN, "set_power_mode", {"mode": "frequency"}, blocking=True)
    assert hass.states.get(entity_id).state != STATE_UNAVAILABLE
    await hass.services.async_call(
        "number", "set_value", {"entity_id": entity_id, "value": 500}, blocking=True
    )
    await loaded_entry.runtime_data.controller.wait_idle()
    assert hass.states.get(entity_id).state == "500.0"
    assert hass.states.get("switch.s9_0001_mining").state == "on"
    miner = next(m for m in sim.miners if m.hostname == "s9-0001")
    assert miner.state == "booting"
    assert '"bitmain-freq" : "500"' in miner.config_text


async def test_only_the_essentials_are_enabled_per_miner(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """At a thousand miners every enabled entity costs memory and recorder rows."""
    entries = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    miner = [e for e in entries if e.entity_id.split(".")[1].startswith("s9_0001_")]
    enabled = sorted(e.entity_id for e in miner if e.disabled_by is None)
    assert enabled == [
        "sensor.s9_0001_chip_temperature",
        "sensor.s9_0001_hashrate",
        "sensor.s9_0001_power",
        "sensor.s9_0001_state",
        "switch.s9_0001_mining",
    ]
    disabled = {e.entity_id for e in miner if e.disabled_by is er.RegistryEntryDisabler.INTEGRATION}
    assert {
        "binary_sensor.s9_0001_online",
        "button.s9_0001_reboot",
        "sensor.s9_0001_frequency",
        "switch.s9_0001_include_in_dispatch",
    } <= disabled


async def test_miner_figures_are_reported_by_exception(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A figure inside its deadband leaves the shown one standing, until it is ten minutes old."""
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    entity_id = "sensor.s9_0001_power"
    assert hass.states.get(entity_id).state == "50"
    writes: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            writes.append(event.data["new_state"].state)
            if event.data["entity_id"] == entity_id
            else None
        ),
    )

    def push(watts: float) -> None:
        snapshot = runtime.controller.snapshot
        miners = tuple(
            replace(m, consumption_w=watts) if m.hostname == "s9-0001" else m
            for m in snapshot.miners
        )
        fresh = replace(snapshot, miners=miners)
        coordinator.async_set_updated_data(fresh)

    push(60.0)  # within 25 W of what is shown
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "50"
    push(80.0)  # outside: written at once
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "80"
    push(90.0)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "80"
    freezer.tick(timedelta(minutes=11))
    push(90.0)  # inside the band, but what is shown is old
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "90"
    assert writes == ["80", "90"]


@pytest.mark.parametrize("options", [{**default_options(), "miner_entities": False}])
async def test_fleet_without_miner_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A large fleet can run from the fleet device alone: no device or entity per miner."""
    devices = dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
    assert [d.identifiers for d in devices] == [{(DOMAIN, loaded_entry.entry_id)}]
    entries = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    assert entries
    assert not [e for e in entries if e.entity_id.split(".")[1].startswith("s9_")]
    assert hass.states.get("sensor.mining_fleet_miners_online").state == "2"
    await hass.services.async_call(DOMAIN, "activate", {"power_kw": 1.46}, blocking=True)
    assert hass.states.get("number.mining_fleet_target_power_setpoint").state == "1.46"


async def test_turning_miner_entities_off_removes_them(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    assert entity_registry.async_get("sensor.s9_0001_power") is not None
    assert len(dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)) == 3
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "miner_entities": False}
    )
    await hass.async_block_till_done()  # the change reloads the entry
    assert entity_registry.async_get("sensor.s9_0001_power") is None
    assert len(dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)) == 1
    assert hass.states.get("sensor.s9_0001_power") is None
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "miner_entities": True}
    )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.s9_0001_power") is not None  # back with the option
