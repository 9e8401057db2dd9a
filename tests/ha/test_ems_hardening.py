"""The EMS endpoints as real clients, browsers and strangers reach them: bodies in pieces,
absurd numbers, ambiguous JSON, cross-site requests, users without the right, and what the
command history keeps of it all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import (
    CONF_EMS_NETWORKS,
    CONF_EMS_USER,
    EVENT_COMMAND,
)
from custom_components.net_stabilization.options import default_options

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

TOKEN_LESS = {**default_options(), "rescan_interval": 0, CONF_EMS_NETWORKS: ["127.0.0.0/8"]}


async def _raw_request(client: TestClient[Any, Any], parts: list[bytes]) -> tuple[int, Any]:
    """Send an HTTP request in the given TCP segments, each written and drained on its own
    (the server sees them arrive one by one); returns status and JSON body."""
    assert client.server.host is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    for part in parts:
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.05)  # a slow client on a real network: not a clock to control
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():
        size = int((await reader.readline()).strip(), 16)
        body = await reader.readexactly(size)
    else:
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
    writer.close()
    return status, json.loads(body)


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_a_body_in_two_tcp_segments_is_read_whole(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    client = await hass_client_no_auth()
    body = b'{"activationPowerInKw": 1.46}'
    head = (
        b"POST /api/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    status, reply = await _raw_request(client, [head + body[:12], body[12:]])
    assert (status, reply["accepted"]) == (200, True), reply


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_a_chunked_body_is_read_whole(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    client = await hass_client_no_auth()
    head = (
        b"POST /api/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    first, second = b'{"activationPow', b'erInKw": 1.46}'
    chunks = [
        head + f"{len(first):x}\r\n".encode() + first + b"\r\n",
        f"{len(second):x}\r\n".encode() + second + b"\r\n0\r\n\r\n",
    ]
    status, reply = await _raw_request(client, chunks)
    assert (status, reply["accepted"]) == (200, True), reply


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"activationPowerInKw": 1' + b"0" * 400 + b"}", "too large"),
        (b'{"activationPowerInKw": 1e400}', "finite"),
        (b'{"activationPowerInKw": 1.0, "activationPowerInKw": 2.0}', "duplicate key"),
        (b'{"activationPowerInKw": NaN}', "finite"),
        (b"[" * 100_00 + b"]" * 100_00, "larger"),
        (b"[" * 8000 + b"]" * 8000, "JSON"),
    ],
    ids=["huge-int", "huge-float", "duplicate-key", "nan", "oversized", "deep-nesting"],
)
async def test_absurd_or_ambiguous_bodies_are_400_not_500(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    payload: bytes,
    fragment: str,
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", data=payload)
    body = await response.json()
    assert response.status == 400, body
    assert fragment in body["message"]


async def test_a_huge_number_is_recorded_bounded_and_the_history_stays_readable(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    events: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_COMMAND, lambda event: events.append(dict(event.data)))
    client = await hass_client()
    response = await client.post(
        "/api/activate", data=b'{"activationPowerInKw": 18446744073709551616}'
    )
    assert response.status == 400
    history = await client.get("/api/net_stabilization/history")
    assert history.status == 200
    newest = (await history.json())[0]
    assert newest["parameters"] == {"activationPowerInKw": 1.8446744073709552e19}
    await hass.async_block_till_done()
    assert isinstance(events[-1]["parameters"]["activationPowerInKw"], float)
    assert events[-1]["target_kw"] == pytest.approx(1.8446744073709552e19)


async def test_the_settings_are_committed_before_the_answer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    assert response.status == 200
    stored = await loaded_entry.runtime_data.store.load_settings()
    assert stored["fleet"]["ems_target_kw"] == 1.46
    history = await loaded_entry.runtime_data.store.recent_commands(2)
    assert [c.command for c in history if not c.is_note] == ["activate"]


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_token_less_clients_must_not_be_browsers_or_rebound_names(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    client = await hass_client_no_auth()
    # A web page can POST text/plain cross-site without a preflight: refused.
    response = await client.post(
        "/api/activate",
        data=b'{"activationPowerInKw": 1.46}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status == 400
    assert "application/json" in (await response.json())["message"]
    # A browser always says where the page came from.
    for path in ("/api/activate", "/api/deactivate"):
        response = await client.post(
            path, json={"activationPowerInKw": 1.46}, headers={"Origin": "https://evil.example"}
        )
        assert response.status == 403
    # DNS rebinding: Home Assistant addressed under a foreign name.
    response = await client.get("/api/status", headers={"Host": "evil.example:8123"})
    assert response.status == 403
    # The EMS as it should call: JSON, by IP, no Origin.
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    assert response.status == 200
    history = await loaded_entry.runtime_data.store.recent_commands(1)
    assert history[0].caller == "127.0.0.1 without token"


@pytest.fixture
async def non_admin(hass: HomeAssistant, hass_read_only_user: User) -> AsyncIterator[User]:
    yield hass_read_only_user


async def test_non_admin_users_read_the_status_but_do_not_control(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    hass_read_only_access_token: str,
    non_admin: User,
) -> None:
    client = await hass_client(hass_read_only_access_token)
    assert (await client.get("/api/status")).status == 200
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    assert response.status == 403
    assert (await client.post("/api/deactivate")).status == 403
    assert (
        await client.post("/api/net_stabilization/override", json={"enabled": True})
    ).status == 403
    # Named as the EMS user in the options, the same user may control the fleet.
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_EMS_USER: non_admin.id}
    )
    await hass.async_block_till_done()
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    assert response.status == 200, await response.text()
    history = await loaded_entry.runtime_data.store.recent_commands(1)
    assert history[0].caller is not None and non_admin.id in history[0].caller


async def test_failed_authentication_is_seen_by_home_assistants_login_accounting(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await hass_client_no_auth()
    assert (await client.post("/api/activate", json={"activationPowerInKw": 1})).status == 401
    # Home Assistant's IP-ban middleware logged it as a failed login (and counts it towards a
    # ban where a threshold is configured).
    assert "invalid authentication from" in caplog.text


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_home_assistant_may_be_addressed_by_its_own_url_or_localhost(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    await hass.config.async_update(internal_url="http://hass.lan:8123")
    client = await hass_client_no_auth()
    for host in ("hass.lan:8123", "localhost:8123", "[::1]:8123", "127.0.0.1"):
        assert (await client.get("/api/status", headers={"Host": host})).status == 200, host
    assert (await client.get("/api/status", headers={"Host": "other.lan"})).status == 403


@pytest.mark.parametrize("options", [TOKEN_LESS])
async def test_a_client_that_never_sends_its_body_is_refused_in_time(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custom_components.net_stabilization import request_body  # noqa: PLC0415

    monkeypatch.setattr(request_body, "BODY_TIMEOUT_S", 0.2)
    client = await hass_client_no_auth()
    head = (
        b"POST /api/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: 100\r\n\r\n"
    )
    status, reply = await _raw_request(client, [head + b'{"activationPowerInKw": 1'])
    assert status == 400 and "not received within" in reply["message"]


async def test_announced_oversized_bodies_are_refused_before_reading(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post(
        "/api/net_stabilization/override",
        data=b"x" * 20_000,
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400 and "larger" in (await response.json())["message"]
