"""Config, options, reconfigure and reauth flows, scanning simulated miners."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.net_stabilization import builder
from custom_components.net_stabilization.builder import control_config
from custom_components.net_stabilization.const import (
    CONF_API_PORT,
    CONF_EMS_NETWORKS,
    CONF_HOSTS,
    CONF_METER_ENTITY,
    CONF_NETWORKS,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_WEB_PORT,
    DOMAIN,
)
from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.miners.endpoint import Timeouts
from custom_components.net_stabilization.options_flow import nest
from simulator import Fault, ManualClock, SimulatedFleet

from .conftest import hosts_of


def sections(flat: dict[str, Any]) -> dict[str, Any]:
    """Options as the sectioned form sends them."""
    return {name: fields for name, fields in nest(flat).items() if fields}


def option_field(result: FlowResult, key: str) -> Any:
    """A field of the sectioned options form."""
    for container in result["data_schema"].schema.values():
        for field in container.schema.schema:
            if field == key:
                return field
    raise KeyError(key)


def form(sim: SimulatedFleet | None = None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        CONF_NETWORKS: "",
        CONF_HOSTS: ", ".join(hosts_of(sim)) if sim else "",
        CONF_USERNAME: "root",
        CONF_PASSWORD: "root",
        CONF_API_PORT: 4028,
        CONF_WEB_PORT: 80,
    }
    data.update(changes)
    return data


async def finish_scan(hass: HomeAssistant, result: FlowResult) -> FlowResult:
    """Wait for the scan behind a progress step and move on."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "scan"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def test_user_flow_scans_and_creates_the_fleet(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "scan_result"
    assert result["description_placeholders"]["miners"] == "2"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_MODE: "frequency"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_HOSTS] == hosts_of(sim)
    assert result["data"][CONF_PASSWORD] == "root"
    assert result["options"][CONF_POLL_INTERVAL] == 5
    assert result["options"]["miner_entities"] is True  # the default
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.options[CONF_POWER_MODE] == "frequency"
    assert entry.runtime_data.controller.mode.value == "frequency"
    assert len(entry.runtime_data.controller.macs) == 2


async def test_a_large_fleet_can_start_without_miner_entities(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_MODE: "on_off", "miner_entities": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"]["miner_entities"] is False
    await hass.async_block_till_done()
    assert hass.states.get("sensor.mining_fleet_miners_online").state == "2"
    assert not [s for s in hass.states.async_entity_ids() if ".s9_" in s]


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({CONF_NETWORKS: "10.0.0.0/33"}, CONF_NETWORKS, "invalid_network"),
        ({CONF_NETWORKS: "not-a-network"}, CONF_NETWORKS, "invalid_network"),
        ({CONF_HOSTS: ""}, "base", "no_targets"),
    ],
)
async def test_user_flow_form_errors(
    hass: HomeAssistant, sim: SimulatedFleet, changes: dict[str, Any], field: str, error: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}


async def test_no_miners_found(hass: HomeAssistant, sim: SimulatedFleet) -> None:
    port = sim.miners[0].api_port
    await sim.stop()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_HOSTS: f"127.0.0.1:{port}:{port + 1}"})
    )
    result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "no_miners"}


async def test_wrong_password(hass: HomeAssistant, sim: SimulatedFleet) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, **{CONF_PASSWORD: "wrong"})
    )
    result = await finish_scan(hass, result)
    assert result["errors"] == {"base": "invalid_auth"}
    # The user corrects the password and gets on.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    assert result["step_id"] == "scan_result"


async def test_only_one_fleet(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] in ("single_instance_allowed", "already_configured")


async def test_options_flow(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    base = {
        CONF_POWER_MODE: "on_off",
        "target_policy": "never_above",
        CONF_POLL_INTERVAL: 10,
        "snapshot_interval": 120,
        "retention_hours": 48,
        "rescan_interval": 0,
        "temperature_limit": 85,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], sections({**base, CONF_EMS_NETWORKS: "bogus"})
    )
    assert result["errors"] == {"ems": "invalid_network"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], sections({**base, CONF_EMS_NETWORKS: "10.1.0.0/16, 192.168.5.7"})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_EMS_NETWORKS] == ["10.1.0.0/16", "192.168.5.7/32"]
    assert CONF_METER_ENTITY not in loaded_entry.options
    # Options other than the mode reload the fleet with the new settings.
    assert loaded_entry.runtime_data.options[CONF_POLL_INTERVAL] == 10


async def test_mode_option_applies_without_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    runtime = loaded_entry.runtime_data
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_POWER_MODE: "frequency"}
    )
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data is runtime  # not reloaded
    assert runtime.controller.mode.value == "frequency"


async def test_reconfigure(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    one = hosts_of(sim)[:1]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_HOSTS: one[0]})
    )
    result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_HOSTS] == one


async def test_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    for miner in sim.miners:
        miner.set_fault(Fault.WRONG_PASSWORD)
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "root", CONF_PASSWORD: "still-wrong"}
    )
    result = await finish_scan(hass, result)
    assert result["errors"] == {"base": "invalid_auth"}
    new_password = sim.miners[0].effective_password
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "root", CONF_PASSWORD: new_password}
    )
    result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_PASSWORD] == new_password


async def test_bad_host_entry(hass: HomeAssistant, sim: SimulatedFleet) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_HOSTS: "127.0.0.1:99999"})
    )
    assert result["errors"] == {CONF_HOSTS: "invalid_host"}


async def test_scan_crash_is_shown_not_raised(
    hass: HomeAssistant, sim: SimulatedFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("custom_components.net_stabilization.core.discovery.Scanner.scan", broken)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "scan_failed"}


async def test_reconfigure_to_nothing_shows_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_HOSTS: "127.0.0.1:1:2"})
    )
    result = await finish_scan(hass, result)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "no_miners"}
    assert loaded_entry.data[CONF_HOSTS] == hosts_of(sim)


async def test_reauth_of_a_fleet_that_failed_to_load(
    hass: HomeAssistant, config_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    for miner in sim.miners:
        miner.set_fault(Fault.WRONG_PASSWORD)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {CONF_USERNAME: "root", CONF_PASSWORD: sim.miners[0].effective_password},
    )
    result = await finish_scan(hass, result)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert config_entry.runtime_data.controller.macs


async def test_token_less_access_can_be_revoked_and_ranges_are_explained(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_EMS_NETWORKS: ["10.0.0.5/32"]}
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    field = option_field(result, CONF_EMS_NETWORKS)
    # Suggested, not a default: emptying the field must not bring the old value back.
    assert field.description == {"suggested_value": "10.0.0.5/32"}
    base = {
        CONF_POWER_MODE: "on_off",
        "target_policy": "nearest",
        CONF_POLL_INTERVAL: 5,
        "snapshot_interval": 60,
        "retention_hours": 24,
        "rescan_interval": 0,
        "temperature_limit": 90,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], sections({**base, CONF_POLL_INTERVAL: 1, "temperature_limit": 200})
    )
    # Shown above the sections that hold the fields.
    assert result["errors"] == {
        "polling": "out_of_range_in_section",
        "control": "out_of_range_in_section",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**sections(base), "ems": {}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_EMS_NETWORKS] == []


async def test_a_fleet_of_more_than_a_hundred_starts_without_miner_entities_by_default(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 101 simulated miners answer from the test's own event loop, all probed at once: on a
    # slow machine (or under coverage) replies take longer than a scan waits for a LAN miner,
    # and a miner that is missed would leave the fleet at 100. Patient limits keep the count.
    patient = Timeouts(connect_s=60.0, api_read_s=60.0, web_s=60.0)
    monkeypatch.setattr(builder, "Scanner", partial(Scanner, probe_timeouts=patient))
    big = SimulatedFleet(
        count=101, host="127.0.0.1", clock=ManualClock(), seed=5, initial_state="sleeping"
    )
    await big.start()
    try:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form(big))
        result = await finish_scan(hass, result)
        assert result["step_id"] == "scan_result", result
        field = next(k for k in result["data_schema"].schema if k == "miner_entities")
        assert field.default() is False
    finally:
        await big.stop()


async def test_a_network_too_large_to_scan_says_so(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_NETWORKS: "10.0.0.0/8"})
    )
    assert result["type"] is FlowResultType.FORM
    # Not "invalid": it is a valid network, only larger than a scan takes.
    assert result["errors"] == {CONF_NETWORKS: "network_too_large"}
    # Several /16s together are too many as well.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_NETWORKS: "10.1.0.0/16, 10.2.0.0/16"})
    )
    assert result["errors"] == {"base": "too_many_addresses"}


async def test_options_keep_a_meter_and_an_ems_user(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_read_only_user: MockUser
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    user_field = option_field(result, "ems_user")
    assert user_field.default() == "none"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        sections(
            {
                CONF_POWER_MODE: "on_off",
                "target_policy": "nearest",
                CONF_POLL_INTERVAL: 5,
                "snapshot_interval": 60,
                "retention_hours": 24,
                "rescan_interval": 0,
                "temperature_limit": 90,
                CONF_METER_ENTITY: "sensor.site_power",
                "ems_user": hass_read_only_user.id,
            }
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the reload with the new options
    assert loaded_entry.options[CONF_METER_ENTITY] == "sensor.site_power"
    assert loaded_entry.options["ems_user"] == hass_read_only_user.id


async def test_a_hot_reserve_needs_the_measured_draw_of_a_stopped_s9(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], sections({"hot_reserve": 4, "hot_standby_w": 0})
    )
    assert result["errors"] == {"fleet": "hot_standby_unknown"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], sections({"hot_reserve": 4, "hot_standby_w": 130})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    config = control_config(loaded_entry.options)
    assert (config.hot_reserve, config.hot_standby_w) == (4, 130.0)
    assert control_config({**loaded_entry.options, "hot_standby_w": 0}).hot_standby_w is None
