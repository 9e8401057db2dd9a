"""Bytes that must never reach the fleet database or an event as they came: lone surrogates,
invalid UTF-8, garbage under a content encoding, and a token that does not check out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import CONF_EMS_NETWORKS, EVENT_COMMAND
from custom_components.net_stabilization.options import default_options

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

TOKEN_LESS = {**default_options(), "rescan_interval": 0, CONF_EMS_NETWORKS: ["127.0.0.0/8"]}
LONE_SURROGATE = b'"\\ud800"'
INVALID_UTF8 = b'"\xed\xa0\x80\xff"'


@pytest.mark.parametrize("value", [LONE_SURROGATE, INVALID_UTF8], ids=["surrogate", "bytes"])
@pytest.mark.parametrize(
    "request_form",
    [
        ("/api/activate", b'{"activationPowerInKw": %s}'),
        ("/api/net_stabilization/override", b'{"enabled": true, "target_power_kw": %s}'),
        ("/api/net_stabilization/power-mode", b'{"mode": %s}'),
    ],
    ids=["activate", "override", "power-mode"],
)
async def test_text_that_utf8_cannot_carry_is_refused_and_the_history_stays_readable(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    request_form: tuple[str, bytes],
    value: bytes,
) -> None:
    path, body = request_form
    events: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_COMMAND, lambda event: events.append(dict(event.data)))
    client = await hass_client()
    response = await client.post(path, data=body % value)
    assert response.status == 400, await response.text()
    await hass.async_block_till_done()
    history = await client.get("/api/net_stabilization/history")
    assert history.status == 200, await history.text()
    status = await client.get("/api/net_stabilization/status")
    assert status.status == 200, await status.text()
    for event in events:  # what the recorder stores must encode
        str(event).encode("utf-8")

    # And after a restart, from the rows on disk.
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert (await client.get("/api/net_stabilization/history")).status == 200
    assert (await client.get("/api/net_stabilization/status")).status == 200


async def test_garbage_under_a_content_encoding_is_400(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post(
        "/api/activate",
        data=b"\x00not deflate at all\xff" * 10,
        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
    )
    assert response.status == 400, await response.text()
    assert "body" in (await response.json())["message"]


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_a_token_that_does_not_check_out_is_refused_even_from_the_ems_network(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    client = await hass_client_no_auth()
    headers = {"Authorization": "Bearer not-a-valid-token", "Host": "127.0.0.1"}
    response = await client.post("/api/activate", json={"activationPowerInKw": 1}, headers=headers)
    assert response.status == 401
    assert (await client.get("/api/status", headers=headers)).status == 401
    # Without any token the EMS network is still let in.
    plain = await client.post(
        "/api/activate", json={"activationPowerInKw": 1}, headers={"Host": "127.0.0.1"}
    )
    assert plain.status == 200, await plain.text()
