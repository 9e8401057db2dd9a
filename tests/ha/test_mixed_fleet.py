"""A mixed fleet in Home Assistant: every firmware found and shown, pins in each miner's own
unit, the driver kind kept across a restart."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.base import MinerIdentity
from simulator import SimulatedFleet

MIX = ["vnish_s9", "braiins", "luxos", "vnish_rest", "cgminer"]


@pytest.fixture
def kinds() -> list[str]:
    return MIX


def _mac_of(sim: SimulatedFleet, kind: str) -> str:
    return sim.miners[MIX.index(kind)].mac


async def test_every_firmware_is_a_device_and_only_controllable_ones_are_rated(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    snapshot = loaded_entry.runtime_data.controller.snapshot
    assert {m.driver for m in snapshot.miners} == {
        "vnish_s9",
        "braiins",
        "luxos",
        "vnish_rest",
        "monitor",
    }
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
    macs = {mac for d in devices for (domain, mac) in d.identifiers if domain == DOMAIN}
    assert {m.mac for m in sim.miners} <= macs
    monitored = snapshot.miner(_mac_of(sim, "cgminer"))
    assert monitored is not None and not monitored.dispatchable
    rated_w = sum(m.nominal_w for m in snapshot.miners if m.dispatchable)
    assert snapshot.rated_power_kw == pytest.approx(rated_w / 1000.0, abs=0.01)
    assert snapshot.miners_dispatchable == 4


async def test_pins_are_given_in_each_miners_own_unit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    braiins = _mac_of(sim, "braiins")
    await hass.services.async_call(
        DOMAIN,
        "set_miner_override",
        {"mac": [braiins], "override": "on", "power_target_w": 2500},
        blocking=True,
    )
    await runtime.controller.wait_idle()
    miner = runtime.controller.snapshot.miner(braiins)
    assert miner is not None and miner.target_setting == 2500.0 and miner.setting_unit == "W"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_miner_override",
            {"mac": [braiins], "override": "on", "mhz": 500},
            blocking=True,
        )
    assert err.value.translation_key == "command_pin_wrong_unit"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "set_miner_override",
            {"mac": [_mac_of(sim, "vnish_s9")], "override": "on", "power_target_w": 2500},
            blocking=True,
        )
    registry = er.async_get(hass)
    unique = f"{braiins.replace(':', '').lower()}_power_target_setpoint"
    assert registry.async_get_entity_id("number", DOMAIN, unique) is not None


async def test_a_restart_rebuilds_each_miner_with_its_own_driver(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    runtime = loaded_entry.runtime_data
    records = {r.mac: r.driver for r in await runtime.store.miners()}
    assert records[_mac_of(sim, "luxos")] == "luxos"
    assert records[_mac_of(sim, "vnish_rest")] == "vnish_rest"
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    controller = loaded_entry.runtime_data.controller
    for kind, driver in (("braiins", "braiins"), ("luxos", "luxos"), ("cgminer", "monitor")):
        found = controller.driver(_mac_of(sim, kind))
        assert found is not None and found.kind == driver, kind
    # What each can do came back from its identification, not a default.
    luxos = controller.driver(_mac_of(sim, "luxos"))
    assert luxos is not None and len(luxos.capabilities.points.levels) > 1


async def test_a_miner_whose_address_another_miner_took_leaves_the_fleet(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    """A miner known at an address now held by another (DHCP handed it on) is not read or
    driven there: the next scan takes it out and says so in the history."""
    runtime = loaded_entry.runtime_data
    taken = sim.miners[MIX.index("luxos")]
    ghost = AntminerS9Driver(
        taken.host,
        async_get_clientsession(hass),
        api_port=taken.api_port,
        web_port=taken.web_port,
        identity=MinerIdentity(
            mac="02:00:00:00:00:01",
            host=taken.host,
            model="Antminer S9",
            firmware="Vnish 3.9.0",
            firmware_version="3.9.0",
        ),
    )
    runtime.controller.add_miner(ghost)
    assert "02:00:00:00:00:01" in runtime.controller.macs
    await runtime.scanning.async_scan()
    assert "02:00:00:00:00:01" not in runtime.controller.macs
    assert taken.mac in runtime.controller.macs
    history = await runtime.store.recent_commands(5)
    assert any(c.command == "miner_displaced" for c in history)
