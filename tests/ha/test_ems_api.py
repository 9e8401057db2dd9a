"""The EMS contract, row by row: paths, types, status codes and the token-less allow-list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.net_stabilization.const import CONF_EMS_NETWORKS, DOMAIN
from custom_components.net_stabilization.options import default_options
from simulator import SimulatedFleet

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

STATUS_PATHS = ["/api/status", "/api/net_stabilization/ems/status"]
ACTIVATE_PATHS = ["/api/activate", "/api/net_stabilization/ems/activate"]
DEACTIVATE_PATHS = ["/api/deactivate", "/api/net_stabilization/ems/deactivate"]


@pytest.mark.parametrize("path", STATUS_PATHS)
async def test_status_has_exactly_the_contract_keys(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory, path: str
) -> None:
    client = await hass_client()
    response = await client.get(path)
    assert response.status == 200
    body = await response.json()
    assert set(body) == {
        "isAvailableForDispatch",
        "runningStatus",
        "ratedPowerInKw",
        "activePowerInKw",
    }
    assert body["isAvailableForDispatch"] is True
    assert type(body["runningStatus"]) is int
    assert body["runningStatus"] == 1
    assert body["ratedPowerInKw"] == 2.92
    # Two sleeping S9s draw their standby power, not a made-up zero.
    assert 0.05 < body["activePowerInKw"] < 0.2


@pytest.mark.parametrize("path", ACTIVATE_PATHS)
async def test_activate_accepts_and_reports_the_plan(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    path: str,
) -> None:
    client = await hass_client()
    response = await client.post(path, json={"activationPowerInKw": 2.0})
    body = await response.json()
    assert response.status == 200, body
    assert body["accepted"] is True
    assert "miner" in body["message"]
    assert set(body) == {"accepted", "message"}
    status = await (await client.get("/api/status")).json()
    assert status["runningStatus"] == 2


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"not json", "JSON"),
        (b"[1, 2]", "object"),
        (b"{}", "missing"),
        (b'{"activationPowerInKw": "2"}', "number"),
        (b'{"activationPowerInKw": true}', "number"),
        (b'{"activationPowerInKw": null}', "number"),
        (b'{"activationPowerInKw": NaN}', "finite"),
        (b'{"activationPowerInKw": Infinity}', "finite"),
        (b'{"activationPowerInKw": -1}', "negative"),
    ],
)
async def test_activate_rejects_bad_input_with_400(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    payload: bytes,
    fragment: str,
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", data=payload)
    body = await response.json()
    assert response.status == 400
    assert body["accepted"] is False
    assert fragment in body["message"]
    status = await (await client.get("/api/status")).json()
    assert status["runningStatus"] == 1  # nothing was started


async def test_activate_above_rated_is_400(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 3.5})
    body = await response.json()
    assert response.status == 400
    assert body == {"accepted": False, "message": body["message"]}
    assert "exceeds rated power 2.92 kW" in body["message"]


async def test_activate_zero_is_deactivate(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 0})
    assert response.status == 200
    assert (await response.json())["accepted"] is True


async def test_override_gives_409_and_deactivate_409(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    await hass.services.async_call(
        DOMAIN, "set_override", {"enabled": True, "target_power_kw": 0}, blocking=True
    )
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.0})
    assert response.status == 409
    assert (await response.json())["accepted"] is False
    response = await client.post("/api/deactivate", json={})
    assert response.status == 409
    status = await (await client.get("/api/status")).json()
    assert status["isAvailableForDispatch"] is False


async def test_dispatch_disabled_gives_409(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.mining_fleet_ems_dispatch"}, blocking=True
    )
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.0})
    assert response.status == 409
    assert "disabled" in (await response.json())["message"]


@pytest.mark.parametrize("path", DEACTIVATE_PATHS)
@pytest.mark.parametrize("payload", [b"", b"{}", b"garbage"])
async def test_deactivate_is_idempotent(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    path: str,
    payload: bytes,
) -> None:
    client = await hass_client()
    for _ in range(2):
        response = await client.post(path, data=payload)
        assert response.status == 200
        assert (await response.json())["accepted"] is True


async def test_no_miner_reachable_is_503(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    sim: SimulatedFleet,
) -> None:
    await sim.stop()
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    for _ in range(4):  # offline only after repeated failed polls
        await coordinator.async_refresh()
    client = await hass_client()
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.0})
    assert response.status == 503
    assert (await response.json())["accepted"] is False


async def test_unauthenticated_is_401(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    client = await hass_client_no_auth()
    assert (await client.get("/api/status")).status == 401
    assert (await client.post("/api/activate", json={"activationPowerInKw": 1})).status == 401
    assert (await client.post("/api/deactivate")).status == 401


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({**default_options(), CONF_EMS_NETWORKS: ["127.0.0.0/8"]}, 200),
        ({**default_options(), CONF_EMS_NETWORKS: ["10.0.0.0/8"]}, 401),
        ({**default_options(), CONF_EMS_NETWORKS: []}, 401),
    ],
)
async def test_ems_networks_waive_the_token(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    expected: int,
) -> None:
    client = await hass_client_no_auth()
    assert (await client.get("/api/status")).status == expected
    assert (await client.post("/api/deactivate")).status == expected
    # A spoofed X-Forwarded-For never grants access: only the TCP peer counts (Home Assistant
    # itself refuses forwarded headers from peers it does not trust).
    spoofed = {"X-Forwarded-For": "10.1.2.3"}
    response = await client.get("/api/status", headers=spoofed)
    assert response.status in (400, 401) or expected == 200
    # The fleet API is never token-less.
    assert (await client.get("/api/net_stabilization/status")).status == 401


async def test_not_loaded_is_503(hass: HomeAssistant, hass_client: ClientFactory) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client()
    response = await client.get("/api/status")
    assert response.status == 503
    response = await client.post("/api/deactivate")
    assert response.status == 503
    assert (await response.json())["accepted"] is False


async def test_oversized_body_is_400(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post("/api/activate", data=b"{" + b" " * 20_000 + b"}")
    assert response.status == 400
    assert "larger" in (await response.json())["message"]


async def test_status_shows_a_deactivate_within_seconds(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    sim: SimulatedFleet,
) -> None:
    client = await hass_client()
    await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    runtime = loaded_entry.runtime_data
    coordinator = runtime.coordinator
    await runtime.controller.wait_idle()
    await sim.advance(400)
    await coordinator.async_refresh()
    assert (await (await client.get("/api/status")).json())["activePowerInKw"] > 1.4
    await client.post("/api/deactivate")
    await runtime.controller.wait_idle()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    status = await (await client.get("/api/status")).json()
    assert status["runningStatus"] == 1
    assert status["activePowerInKw"] < 0.2
