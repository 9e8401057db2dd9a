"""The Vnish API key in the setup forms: taken where the login is entered, kept by an empty
field, never sent back to the browser, and carried by the fleet's writes to the miners."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.net_stabilization.const import CONF_HOSTS, DOMAIN
from simulator import SimulatedFleet
from simulator.vnish_rest_miner import VnishRestMiner

from .test_config_flow import finish_scan, form
from .test_config_flow_forms import field_named, without

KEY = "k3y-of-the-fleet"


@pytest.fixture
def kinds() -> list[str]:
    return ["vnish_rest"]


def _guarded(sim: SimulatedFleet) -> VnishRestMiner:
    """The simulated miner, made to refuse sensitive writes without the key."""
    miner = sim.miners[0]
    assert isinstance(miner, VnishRestMiner)
    miner.api_key = KEY
    return miner


async def test_the_api_key_reaches_the_miners_and_never_the_browser(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    miner = _guarded(sim)
    result: Any = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "default" not in field_named(result, CONF_API_KEY)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, **{CONF_API_KEY: KEY})
    )
    result = await finish_scan(hass, result)
    assert result["step_id"] == "scan_result"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] == KEY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]

    # A setting change is a write the key guards: the fleet's driver gets through.
    driver = entry.runtime_data.controller.driver(miner.mac)
    assert driver is not None
    levels = driver.capabilities.points.levels
    await driver.apply_setting(levels[0])
    assert miner.settings_writes == 1

    # Reconfiguring shows no key, and an empty field keeps the stored one.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    api_key = field_named(result, CONF_API_KEY)
    assert "default" not in api_key
    assert "suggested_value" not in (api_key.get("description") or {})
    assert KEY not in str(result["data_schema"].schema)
    submitted = without(form(sim), CONF_API_KEY) | {CONF_HOSTS: ", ".join(entry.data[CONF_HOSTS])}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], submitted)
    result = await finish_scan(hass, result)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_API_KEY] == KEY


async def test_without_the_key_the_guarded_write_is_refused(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    """The counter-check: the same fleet set up without the key cannot change a setting."""
    miner = _guarded(sim)
    result: Any = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not result["data"][CONF_API_KEY]
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    driver = entry.runtime_data.controller.driver(miner.mac)
    assert driver is not None
    with pytest.raises(Exception, match="API key"):
        await driver.apply_setting(driver.capabilities.points.levels[0])
