"""The demo shows the fleet in the Energy panel: the preferences it saves are ones Home
Assistant's energy component accepts, and an operator's own devices are kept."""

from __future__ import annotations

import probatio
from homeassistant.components.energy.data import DEVICE_CONSUMPTION_SCHEMA

from demo.provision import FLEET_ENERGY, energy_prefs_with_fleet

# What the energy component's save_prefs command accepts for devices.
SAVE_PREFS = probatio.Schema({probatio.Optional("device_consumption"): [DEVICE_CONSUMPTION_SCHEMA]})


def test_the_demo_adds_the_fleet_to_the_energy_panel_once() -> None:
    own = {"stat_consumption": "sensor.heat_pump_energy"}
    wanted = energy_prefs_with_fleet({"energy_sources": [], "device_consumption": [own]})
    assert wanted is not None
    saved = SAVE_PREFS(wanted)
    assert [d["stat_consumption"] for d in saved["device_consumption"]] == [
        "sensor.heat_pump_energy",
        FLEET_ENERGY,
    ]
    assert energy_prefs_with_fleet(saved) is None
    assert SAVE_PREFS(energy_prefs_with_fleet(None)) == {
        "device_consumption": [{"stat_consumption": FLEET_ENERGY}]
    }
