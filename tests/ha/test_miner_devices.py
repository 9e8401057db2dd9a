"""What a mixed fleet's devices show: a web link, honest figures for read-only miners, the
temperatures, fans and efficiency each firmware reports, messages that name the miner."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.naming import miner_name
from simulator import SimulatedFleet

MIX = ["vnish_s9", "braiins", "luxos", "vnish_rest", "cgminer"]


@pytest.fixture
def kinds() -> list[str]:
    return MIX


@pytest.fixture
def initial_state() -> str:
    return "mining"


def _mac(sim: SimulatedFleet, kind: str) -> str:
    return sim.miners[MIX.index(kind)].mac


def _entity_ids(hass: HomeAssistant, entry: MockConfigEntry, mac: str) -> set[str]:
    """The entity ids of one miner's device."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, mac), entry.entry_id)
    assert device is not None
    return {
        e.entity_id
        for e in er.async_entries_for_device(
            er.async_get(hass), device.id, include_disabled_entities=True
        )
    }


async def test_miner_devices_link_to_their_web_interface(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    registry = dr.async_get(hass)
    for miner in sim.miners:
        device = registry.async_get_device_by_identifier((DOMAIN, miner.mac), loaded_entry.entry_id)
        assert device is not None
        assert device.configuration_url == f"http://{miner.host}/"


async def test_a_read_only_miner_gets_no_switch_or_setting_and_its_power_is_explained(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    read_only = _entity_ids(hass, loaded_entry, _mac(sim, "cgminer"))
    assert not any(e.startswith(("switch.", "number.")) and "mining" in e for e in read_only)
    assert not any(e.startswith("number.") for e in read_only)
    controllable = _entity_ids(hass, loaded_entry, _mac(sim, "vnish_s9"))
    assert any(e.startswith("switch.") and e.endswith("_mining") for e in controllable)
    snapshot = loaded_entry.runtime_data.coordinator.snapshot
    monitored = snapshot.by_mac[_mac(sim, "cgminer")]
    state = hass.states.get("sensor.mining_fleet_read_only_power")
    assert state is not None
    assert float(state.state) == pytest.approx(monitored.consumption_w / 1000, abs=0.01)
    # What the fleet cannot dispatch is the gap between rated and active power.
    assert float(state.state) > 0


async def test_a_refusal_names_the_miner_not_its_mac(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    mac = _mac(sim, "cgminer")
    miner = loaded_entry.runtime_data.coordinator.miners[mac]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_miner_override", {"mac": [mac], "override": "on"}, blocking=True
        )
    assert err.value.translation_key == "command_miner_read_only"
    assert (err.value.translation_placeholders or {})["miner"] == miner_name(miner)


async def test_the_fleet_says_its_miners_run_on_their_own_before_any_command(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    state = hass.states.get("sensor.mining_fleet_fleet_state")
    assert state is not None
    assert state.state == "not_dispatched"


@pytest.mark.usefixtures("all_entities_enabled")
async def test_board_temperature_fans_and_efficiency_are_shown_chip_temperature_where_reported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    luxos = _entity_ids(hass, loaded_entry, _mac(sim, "luxos"))
    assert not any(e.endswith("_chip_temperature") for e in luxos)
    board = next(e for e in luxos if e.endswith("_board_temperature"))
    assert float(hass.states.get(board).state) > 0  # type: ignore[union-attr]
    s9 = _entity_ids(hass, loaded_entry, _mac(sim, "vnish_s9"))
    for ending in ("_chip_temperature", "_board_temperature", "_fan_speed", "_efficiency"):
        entity_id = next(e for e in s9 if e.endswith(ending))
        state = hass.states.get(entity_id)
        assert state is not None and float(state.state) > 0, entity_id
    miner = loaded_entry.runtime_data.coordinator.miners[_mac(sim, "vnish_s9")]
    efficiency = next(e for e in s9 if e.endswith("_efficiency"))
    assert miner.power_w is not None and miner.hashrate_ths
    assert float(hass.states.get(efficiency).state) == pytest.approx(  # type: ignore[union-attr]
        miner.power_w / miner.hashrate_ths, abs=0.1
    )


async def test_the_site_limit_is_unavailable_without_a_cap_in_force(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    state = hass.states.get("sensor.mining_fleet_site_limit_in_force")
    assert state is not None
    assert state.state == "unavailable"
    assert state.attributes["friendly_name"] == "Mining fleet Site limit"


async def test_the_override_setpoint_is_a_setting(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    entry = er.async_get(hass).async_get("number.mining_fleet_override_target")
    assert entry is not None
    assert entry.entity_category == er.EntityCategory.CONFIG


async def test_one_temperature_per_miner_is_enabled_by_default(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    registry = er.async_get(hass)

    def enabled(kind: str, ending: str) -> bool:
        entity_id = next(
            e for e in _entity_ids(hass, loaded_entry, _mac(sim, kind)) if e.endswith(ending)
        )
        entry = registry.async_get(entity_id)
        assert entry is not None
        return entry.disabled_by is None

    assert enabled("vnish_s9", "_chip_temperature")
    assert not enabled("vnish_s9", "_board_temperature")
    assert enabled("luxos", "_board_temperature")


@pytest.mark.usefixtures("all_entities_enabled")
async def test_a_power_set_miner_is_pinned_in_watts_from_its_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    mac = _mac(sim, "braiins")
    entity_id = next(
        e
        for e in _entity_ids(hass, loaded_entry, mac)
        if e.startswith("number.") and e.endswith("_power_target_setpoint")
    )
    # Pins are settings of frequency mode; in on/off mode the number is unavailable.
    await hass.services.async_call(DOMAIN, "set_power_mode", {"mode": "frequency"}, blocking=True)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "number", "set_value", {"entity_id": entity_id, "value": 2500}, blocking=True
    )
    runtime = loaded_entry.runtime_data
    await runtime.controller.wait_idle()
    await runtime.coordinator.async_poll_now()
    await hass.async_block_till_done()
    miner = runtime.coordinator.miners[mac]
    assert miner.target_setting == 2500.0 and miner.setting_unit == "W"
    state = hass.states.get(entity_id)
    assert state is not None and float(state.state) == 2500.0
