"""The small pieces entities and actions are built from: ids, links, names, figures, errors."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity import Entity

from custom_components.net_stabilization.actions import raise_for_result
from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    CommandResult,
    MinerSnapshot,
    MinerState,
)
from custom_components.net_stabilization.entity import platform_of, web_url
from custom_components.net_stabilization.language import async_message
from custom_components.net_stabilization.naming import miner_name


def _miner(hostname: str | None) -> MinerSnapshot:
    return MinerSnapshot(
        mac="AA:BB:CC:DD:EE:01",
        host="10.0.0.5",
        model="Antminer S9",
        firmware="Vnish 3.9",
        state=MinerState.MINING,
        hostname=hostname,
    )


def test_a_factory_host_name_gives_way_to_model_and_mac() -> None:
    assert miner_name(_miner("rack-3-s9")) == "rack-3-s9"
    assert miner_name(_miner("antMiner")) == "Antminer S9 DD:EE:01"
    assert miner_name(_miner(None)) == "Antminer S9 DD:EE:01"


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("10.0.0.5", 80, "http://10.0.0.5/"),
        ("10.0.0.5", 8080, "http://10.0.0.5:8080/"),
        ("fd00::5", 80, "http://[fd00::5]/"),
        ("", 80, None),
    ],
)
def test_the_web_link_follows_the_address_and_the_web_port(
    host: str, port: int, url: str | None
) -> None:
    assert web_url(host, {"web_port": port}) == url


def test_an_entity_of_no_platform_of_the_integration_has_no_id() -> None:
    with pytest.raises(TypeError):
        platform_of(Entity())


def test_a_fleet_fault_is_logged_as_an_error_a_users_problem_is_not() -> None:
    unreachable = CommandResult.refused(CommandReason.UNAVAILABLE, "no miner reachable", "x")
    with pytest.raises(HomeAssistantError) as err:
        raise_for_result(unreachable)
    assert not isinstance(err.value, ServiceValidationError)
    read_only = CommandResult.refused(
        CommandReason.CONFLICT, "cannot", "miner_read_only", mac="AA:BB:CC:DD:EE:01"
    )
    with pytest.raises(ServiceValidationError) as err:
        raise_for_result(read_only, "de", {"AA:BB:CC:DD:EE:01": _miner("rack-3-s9")})
    assert (err.value.translation_placeholders or {})["miner"] == "rack-3-s9"
    with pytest.raises(ServiceValidationError) as err:
        raise_for_result(read_only)  # a miner no longer in the fleet: its MAC
    assert (err.value.translation_placeholders or {})["miner"] == "AA:BB:CC:DD:EE:01"


async def test_a_message_without_its_placeholders_is_shown_as_written(
    hass: HomeAssistant,
) -> None:
    # The template needs {target}; without it the text is still shown, never an exception.
    text = await async_message(hass, "response_activate", {})
    assert "{target}" in text
    assert await async_message(hass, "no_such_message") == "no_such_message"
