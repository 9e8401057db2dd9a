"""The setup forms as the frontend drives them: what they send to the browser, what an emptied
field means, a login some miners refuse, a flow left open, and what the scan shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import probatio
import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers import config_validation as cv
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import (
    CONF_API_PORT,
    CONF_HOSTS,
    CONF_NETWORKS,
    CONF_POWER_MODE,
    CONF_WEB_PORT,
    DOMAIN,
)
from simulator import Fault, ManualClock, SimulatedFleet

from .conftest import hosts_of
from .test_config_flow import finish_scan, form


def sent_to_browser(result: FlowResult) -> list[dict[str, Any]]:
    """The form's fields as Home Assistant serialises them for the frontend."""
    fields: list[dict[str, Any]] = probatio.to_field_list(
        result["data_schema"], custom_serializer=cv.custom_serializer
    )
    return fields


def field_named(result: FlowResult, name: str) -> dict[str, Any]:
    return next(f for f in sent_to_browser(result) if f["name"] == name)


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A submission with these fields emptied: the frontend leaves an empty optional out."""
    return {k: v for k, v in data.items() if k not in keys}


async def test_an_emptied_host_field_stays_empty(hass: HomeAssistant, sim: SimulatedFleet) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(None, **{CONF_HOSTS: "miner.local:99999"})
    )
    assert result["errors"] == {CONF_HOSTS: "invalid_host"}
    hosts = field_named(result, CONF_HOSTS)
    assert "default" not in hosts
    assert hosts["description"] == {"suggested_value": "miner.local:99999"}

    # The user empties Hosts and scans a network instead: the bad entry must not come back.
    miner = sim.miners[0]
    again = without(form(None), CONF_HOSTS) | {
        CONF_NETWORKS: "127.0.0.1/32",
        CONF_API_PORT: miner.api_port,
        CONF_WEB_PORT: miner.web_port,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], again)
    result = await finish_scan(hass, result)
    assert result["step_id"] == "scan_result"


async def test_reconfigure_can_empty_the_hosts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, sim: SimulatedFleet
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert "default" not in field_named(result, CONF_HOSTS)
    miner = sim.miners[0]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        without(form(None), CONF_HOSTS)
        | {
            CONF_NETWORKS: "127.0.0.1/32",
            CONF_API_PORT: miner.api_port,
            CONF_WEB_PORT: miner.web_port,
        },
    )
    result = await finish_scan(hass, result)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_HOSTS] == []
    assert loaded_entry.data[CONF_NETWORKS] == ["127.0.0.1/32"]


async def test_reconfigure_never_sends_the_password_and_an_empty_one_keeps_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    stored = loaded_entry.data[CONF_PASSWORD]
    result = await loaded_entry.start_reconfigure_flow(hass)
    password = field_named(result, CONF_PASSWORD)
    assert "default" not in password
    assert "suggested_value" not in (password.get("description") or {})
    # The rest of the stored connection is suggested as it was.
    assert field_named(result, CONF_HOSTS)["description"] == {
        "suggested_value": ", ".join(loaded_entry.data[CONF_HOSTS])
    }
    submitted = without(form(None), CONF_PASSWORD) | {
        CONF_HOSTS: ", ".join(loaded_entry.data[CONF_HOSTS])
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], submitted)
    result = await finish_scan(hass, result)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_PASSWORD] == stored


async def test_an_abandoned_flow_does_not_block_the_next_one(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    abandoned = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert abandoned["type"] is FlowResultType.FORM

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM, result.get("reason")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    # The old flow, continued after all, cannot make a second fleet.
    result = await hass.config_entries.flow.async_configure(abandoned["flow_id"], form(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_a_flow_at_the_last_step_cannot_make_a_second_fleet(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    first = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    first = await finish_scan(
        hass, await hass.config_entries.flow.async_configure(first["flow_id"], form(sim))
    )
    second = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    second = await finish_scan(
        hass, await hass.config_entries.flow.async_configure(second["flow_id"], form(sim))
    )
    result = await hass.config_entries.flow.async_configure(second["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(first["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize("miner_count", [6])
async def test_a_login_some_miners_refuse_is_listed_with_a_way_back(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    refusing = sim.miners[2:]
    for miner in refusing:
        miner.set_fault(Fault.WRONG_PASSWORD)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "login_rejected"
    assert result["menu_options"] == ["correct_login", "scan_result"]
    placeholders = result["description_placeholders"]
    assert (placeholders["miners"], placeholders["rejected"]) == ("2", "4")
    for miner in refusing:
        assert f"127.0.0.1:{miner.api_port}" in placeholders["addresses"]
    for miner in sim.miners[:2]:
        assert f"127.0.0.1:{miner.api_port}" not in placeholders["addresses"]

    # Back to the login: the form comes back as it was, without the password.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "correct_login"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert field_named(result, CONF_HOSTS)["description"] == {
        "suggested_value": ", ".join(hosts_of(sim))
    }
    assert "suggested_value" not in (field_named(result, CONF_PASSWORD).get("description") or {})

    # Or on, knowingly, with the two that accepted it.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], without(form(sim), CONF_PASSWORD)
    )
    result = await finish_scan(hass, result)
    assert result["step_id"] == "login_rejected"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "scan_result"}
    )
    assert result["step_id"] == "scan_result"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_MODE: "on_off"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PASSWORD] == "root"  # kept from the first attempt
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "kinds", [["vnish_s9", "vnish_s9", "braiins", "luxos", "vnish_rest", "cgminer"]]
)
async def test_miners_found_lists_each_kind_with_addresses_and_its_steps(
    hass: HomeAssistant, sim: SimulatedFleet
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    result = await finish_scan(hass, result)
    assert result["step_id"] == "scan_result"
    shown = result["description_placeholders"]
    controllable, read_only = shown["controllable"], shown["read_only"]
    # Both S9s in one line, with their addresses; every other kind on its own line.
    s9_line = next(line for line in controllable.splitlines() if "Antminer S9" in line)
    assert s9_line.startswith("- **2** Antminer S9 (")
    for miner in sim.miners[:2]:
        assert f"127.0.0.1:{miner.api_port}" in s9_line
    assert len(controllable.splitlines()) == 4
    # The stock cgminer one is monitored only, and says so.
    assert len(read_only.splitlines()) == 1
    assert f"127.0.0.1:{sim.miners[5].api_port}" in read_only
    assert f"127.0.0.1:{sim.miners[5].api_port}" not in controllable
    # Steps from what was found, per model, not an S9 assumption.
    models = {line.split("** ", 1)[1].split(" (")[0] for line in controllable.splitlines()}
    assert shown["on_off_steps"].count("kW (") == len(models) == 2
    assert "1.46 kW (Antminer S9)" in shown["on_off_steps"]
    assert shown["fine_ranges"] != "—"


async def test_a_big_fleet_is_summed_up_not_listed(hass: HomeAssistant) -> None:
    big = SimulatedFleet(
        count=40, host="127.0.0.1", clock=ManualClock(), seed=5, initial_state="sleeping"
    )
    await big.start()
    try:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form(big))
        result = await finish_scan(hass, result)
        controllable = result["description_placeholders"]["controllable"]
        assert controllable.startswith("- **40** Antminer S9 (")
        assert controllable.endswith(", …")
        assert controllable.count("127.0.0.1:") == 3
    finally:
        await big.stop()


def test_the_form_texts_assume_no_model() -> None:
    """The step sizes come from the scan; no text claims the S9's."""
    root = Path(__file__).parent.parent.parent / "custom_components" / "net_stabilization"
    for name in ("strings.json", "translations/en.json", "translations/de.json"):
        step = json.loads((root / name).read_text(encoding="utf-8"))["config"]["step"]
        text = json.dumps(step["scan_result"], ensure_ascii=False)
        assert "1.46" not in text and "1,46" not in text
        assert "{on_off_steps}" in step["scan_result"]["description"]


async def test_the_reauth_form_suggests_the_user_and_asks_for_the_password(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await loaded_entry.start_reauth_flow(hass)
    assert field_named(result, CONF_USERNAME)["description"] == {"suggested_value": "root"}
    assert "default" not in field_named(result, CONF_PASSWORD)


async def test_a_stored_network_too_large_to_scan_sends_reauth_back_to_its_form(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Entries made before the size check may hold one; the scan cannot start."""
    hass.config_entries.async_update_entry(
        loaded_entry, data={**loaded_entry.data, CONF_NETWORKS: ["10.0.0.0/8"]}
    )
    await hass.async_block_till_done()  # the reload (its scan fails: the network is too large)
    result = await loaded_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "root", CONF_PASSWORD: "root"}
    )
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_network"}
