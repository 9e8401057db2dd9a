"""The fleet JSON API under /api/net_stabilization/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.net_stabilization.const import DOMAIN
from simulator import SimulatedFleet

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]
BASE = "/api/net_stabilization"


async def test_status(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    await client.post("/api/activate", json={"activationPowerInKw": 1.46})
    body = await (await client.get(f"{BASE}/status")).json()
    assert body["state"] in ("activating", "active")
    assert body["ratedPowerInKw"] == 2.92
    assert body["targetPowerInKw"] == 1.46
    assert body["miners"]["total"] == 2
    assert body["miners"]["byState"]["waking"] + body["miners"]["byState"]["sleeping"] == 2
    assert body["mode"] == "on_off"
    assert body["override"] == {"enabled": False, "targetPowerInKw": None}
    assert body["lastEmsCommand"]["command"] == "activate"
    assert body["lastEmsCommand"]["source"] == "ems"
    assert body["errors"] == []


async def test_miners(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    sim: SimulatedFleet,
) -> None:
    client = await hass_client()
    miners = await (await client.get(f"{BASE}/miners")).json()
    assert sorted(m["id"] for m in miners) == sorted(m.mac for m in sim.miners)
    first = miners[0]
    assert first["state"] == "sleeping"
    assert first["online"] is True
    assert first["mining"] is False
    assert first["powerW"] == 50.0
    assert first["dispatchable"] is True
    assert first["firmwareSettling"] is None  # Vnish 3.9 on an S9 says nothing of a ramp
    mac = first["id"]
    one = await (await client.get(f"{BASE}/miners/{mac.replace(':', '').lower()}")).json()
    assert one == first
    response = await client.get(f"{BASE}/miners/00:00:00:00:00:00")
    assert response.status == 404


async def test_override_and_power_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    response = await client.post(f"{BASE}/override", json={"enabled": True, "target_power_kw": 0})
    assert response.status == 200
    status = await (await client.get(f"{BASE}/status")).json()
    assert status["override"] == {"enabled": True, "targetPowerInKw": 0.0}
    assert (await client.post(f"{BASE}/override", json={})).status == 400
    assert (await client.post(f"{BASE}/override", data=b"nope")).status == 400
    response = await client.post(f"{BASE}/override", json={"enabled": "yes"})
    assert response.status == 400
    response = await client.post(f"{BASE}/override", json={"enabled": False})
    assert response.status == 200

    assert (await (await client.get(f"{BASE}/power-mode")).json()) == {"mode": "on_off"}
    response = await client.post(f"{BASE}/power-mode", json={"mode": "frequency"})
    assert response.status == 200
    assert (await (await client.get(f"{BASE}/power-mode")).json()) == {"mode": "frequency"}
    response = await client.post(f"{BASE}/power-mode", json={"mode": "turbo"})
    assert response.status == 400
    assert (await client.post(f"{BASE}/power-mode", data=b"[]")).status == 400


async def test_scan(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    body = await (await client.post(f"{BASE}/scan")).json()
    assert body["miners"] == 2
    assert body["addresses_scanned"] == 2
    assert body["auth_failed"] == []


async def test_control_needs_admin(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    hass_admin_user: MockUser,
) -> None:
    hass_admin_user.groups = []
    client = await hass_client()
    assert (await client.get(f"{BASE}/status")).status == 200
    # Logged in, not allowed: 403 (a 401 would count as a failed login against the user).
    assert (await client.post(f"{BASE}/override", json={"enabled": True})).status == 403
    assert (await client.post(f"{BASE}/power-mode", json={"mode": "on_off"})).status == 403
    assert (await client.post(f"{BASE}/scan")).status == 403


async def test_not_loaded(hass: HomeAssistant, hass_client: ClientFactory) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client()
    for path in ("status", "miners", "miners/x", "power-mode", "history"):
        assert (await client.get(f"{BASE}/{path}")).status == 503
    for path in ("override", "power-mode", "scan"):
        assert (await client.post(f"{BASE}/{path}", json={})).status == 503


async def test_per_miner_commands_over_the_fleet_api(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    mac = sorted(loaded_entry.runtime_data.controller.macs)[0]
    plain = mac.replace(":", "").lower()
    response = await client.post(f"{BASE}/miners/{plain}/dispatch", json={"included": False})
    assert response.status == 200, await response.text()
    assert loaded_entry.runtime_data.controller.snapshot.miner(mac).excluded  # type: ignore[union-attr]
    response = await client.post(f"{BASE}/miners/{mac}/override", json={"override": "off"})
    assert response.status == 200
    response = await client.post(f"{BASE}/miners/{mac}/dispatch", json={"included": True})
    assert response.status == 200
    snapshot = loaded_entry.runtime_data.controller.snapshot.miner(mac)
    assert snapshot is not None and not snapshot.excluded and snapshot.override is None
    assert (await client.post(f"{BASE}/miners/{mac}/reboot", json={})).status == 200
    assert (await client.post(f"{BASE}/miners/{mac}/dispatch", json={"included": 1})).status == 400
    assert (await client.post(f"{BASE}/miners/{mac}/dance", json={})).status == 404
    assert (await client.post(f"{BASE}/miners/00-11-22-33-44-55/reboot", json={})).status == 404
    bad = await client.post(f"{BASE}/miners/{mac}/override", json={"override": "on", "mhz": 900})
    assert bad.status == 400


async def test_history_counts_a_repeated_refusal_in_one_row(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The same refusal for the same caller within a minute is one row that says how often."""
    client = await hass_client()
    for _ in range(3):
        response = await client.post(f"{BASE}/power-mode", json={"mode": "turbo"})
        assert response.status == 400
    assert (await client.post(f"{BASE}/power-mode", json={"mode": "on_off"})).status == 200
    await loaded_entry.runtime_data.store.wait_written()
    rows = await (await client.get(f"{BASE}/history?limit=5")).json()
    assert [(r["command"], r["accepted"], r.get("repeats")) for r in rows[:2]] == [
        ("set_mode", True, None),
        ("set_mode", False, 3),
    ]
