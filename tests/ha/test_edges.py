"""Edges of the Home Assistant layer: failing scans, odd callers, odd bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.audit import context_caller, user_caller
from custom_components.net_stabilization.builder import known_driver
from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.store import MinerRecord
from custom_components.net_stabilization.options import default_options

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def test_callers_as_the_history_names_them() -> None:
    assert context_caller(None) is None
    assert context_caller(Context()) is None
    assert context_caller(Context(user_id="abc")) == "user abc"

    class Nameless:
        name = None
        id = "u1"

    assert user_caller(Nameless()) == "user u1"  # type: ignore[arg-type]


async def test_a_record_without_an_address_gives_no_driver(hass: HomeAssistant) -> None:
    session = async_get_clientsession(hass)
    data = {"api_port": 4028, "web_port": 80, "username": "root", "password": "root"}
    assert known_driver(MinerRecord(mac="AA:BB:CC:DD:EE:FF", host=""), session, data) is None
    stock = known_driver(
        MinerRecord(mac="AA:BB:CC:DD:EE:FF", host="10.0.0.9", firmware="Bitmain stock"),
        session,
        data,
    )
    assert stock is not None and not stock.capabilities.can_sleep


async def test_a_scan_that_breaks_at_setup_retries_and_on_the_button_is_an_error(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: Scanner) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Scanner, "scan", broken)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.mining_fleet_rescan_networks"}, blocking=True
        )
    assert err.value.translation_key == "rescan_failed"
    assert await hass.config_entries.async_reload(loaded_entry.entry_id) is False
    assert loaded_entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize(
    "options", [{**default_options(), "rescan_interval": 0, "power_mode": "frequency"}]
)
async def test_a_fleet_without_stored_settings_starts_in_the_options_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert loaded_entry.runtime_data.controller.mode.value == "frequency"


async def test_bodies_streamed_past_the_limit_or_with_long_numbers_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()

    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 1024  # no length announced: counted as it arrives

    response = await client.post("/api/activate", data=chunks())
    assert response.status == 400 and "larger" in (await response.json())["message"]
    response = await client.post(
        "/api/activate", data=b'{"activationPowerInKw": 1.' + b"1" * 60 + b"}"
    )
    assert response.status == 400 and "too large" in (await response.json())["message"]
    assert DOMAIN in hass.config.components
