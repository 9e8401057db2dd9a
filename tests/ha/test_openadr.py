"""OpenADR in Home Assistant: the options form logs in before saving, a VTN's event drives the
loaded fleet, its sensors, the performance API and diagnostics (secrets redacted), and the
fail-safe for a silent EMS falls back, notes it and raises a repair issue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.diagnostics import async_get_config_entry_diagnostics
from custom_components.net_stabilization.openadr import OpenAdrLink
from simulator.vtn import TestVtn

from .conftest import OPENADR_PROGRAM


def openadr_options(vtn: TestVtn, **extra: Any) -> dict[str, Any]:
    return {
        "openadr": True,
        "openadr_vtn_url": vtn.base_url,
        "openadr_client_id": "ven-client",
        "openadr_client_secret": "ven-secret",
        "openadr_ven_name": "site-1",
        "openadr_programs": OPENADR_PROGRAM,
        **extra,
    }


def setpoint_now(vtn: TestVtn, kw: float) -> str:
    program_id = next(iter(vtn.state.programs))
    return vtn.create_event(
        {
            "programID": program_id,
            "eventName": "evening shed",
            "intervalPeriod": {"start": "0001-01-01T00:00:00Z", "duration": "PT1H"},
            "payloadDescriptors": [
                {
                    "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                    "payloadType": "DISPATCH_SETPOINT",
                    "units": "KW",
                }
            ],
            "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT", "values": [kw]}]}],
        }
    )


async def test_the_openadr_form_logs_in_before_it_saves(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, vtn: TestVtn
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"ems": {"openadr": True}}
    )
    assert result["step_id"] == "openadr"
    form = {k: v for k, v in openadr_options(vtn).items() if k != "openadr"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "openadr_client_secret": "wrong"}
    )
    assert result["errors"] == {"openadr_client_secret": "vtn_auth_failed"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "openadr_programs": "fleet-dr, no-such"}
    )
    assert result["errors"] == {"openadr_programs": "program_not_found"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "openadr_vtn_url": "http://127.0.0.1:1"}
    )
    assert result["errors"] == {"openadr_vtn_url": "vtn_unreachable"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "openadr_simple_shares": "50, 25"}
    )
    assert result["errors"] == {"openadr_simple_shares": "invalid_shares"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "openadr_simple_shares": "60;30;0"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options["openadr_simple_shares"] == "60, 30, 0"
    await hass.async_block_till_done()
    assert loaded_entry.options["openadr_vtn_url"] == vtn.base_url
    assert loaded_entry.options["openadr"] is True
    assert vtn.violations == []


class TestLoadedVen:
    """A fleet loaded with OpenADR on."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        # The VTN on loopback cannot call Home Assistant's test server back: polling only.
        return {**options, **openadr_options(vtn), "openadr_webhook": False}

    async def test_an_event_drives_the_fleet_and_shows_everywhere(
        self,
        hass: HomeAssistant,
        loaded_entry: MockConfigEntry,
        vtn: TestVtn,
        hass_client: ClientSessionGenerator,
    ) -> None:
        runtime = loaded_entry.runtime_data
        link = runtime.openadr
        assert link is not None and link.ven is not None
        setpoint_now(vtn, 1.46)
        await link._tick()
        await hass.async_block_till_done()
        snapshot = runtime.controller.snapshot
        assert snapshot.target_source == "openadr"
        assert snapshot.target_kw == pytest.approx(1.46)
        assert hass.states.get("sensor.mining_fleet_openadr_connection").state == "connected"
        assert hass.states.get("sensor.mining_fleet_openadr_event").state == "evening shed"
        assert hass.states.get("sensor.mining_fleet_target_source").state == "openadr"
        client = await hass_client()
        response = await client.get("/api/net_stabilization/performance")
        assert response.status == 200
        body = await response.json()
        assert body["openadr"]["connection"] == "connected"
        assert body["openadr"]["dispatch"]["targetKw"] == pytest.approx(1.46)
        diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
        text = str(diagnostics)
        assert "ven-secret" not in text and "ven-client" not in text
        assert diagnostics["openadr"]["openadr"]["connection"] == "connected"
        assert vtn.violations == []


class TestSwitchedOff:
    """OpenADR switched off in the options: the VEN's subscription goes from the VTN."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {**options, **openadr_options(vtn), "openadr_webhook": False}

    async def test_the_subscription_is_deleted_when_openadr_is_switched_off(
        self, hass: HomeAssistant, loaded_entry: MockConfigEntry, vtn: TestVtn
    ) -> None:
        from simulator.vtn import StoredObject  # noqa: PLC0415

        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None
        await link._tick()  # enrolled
        # As if it had subscribed with a webhook the VTN could reach.
        vtn.state.subscriptions["subscription-9"] = StoredObject(
            {
                "id": "subscription-9",
                "clientName": "site-1",
                "clientID": "ven-client",
                "programID": next(iter(vtn.state.programs)),
                "objectOperations": [
                    {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": "https://x/h"}
                ],
            },
            "ven-client",
        )
        link.ven.subscription_ids = ["subscription-9"]
        hass.config_entries.async_update_entry(
            loaded_entry, options={**loaded_entry.options, "openadr": False}
        )
        await hass.async_block_till_done()
        assert vtn.state.subscriptions == {}
        assert loaded_entry.runtime_data.openadr is not None
        assert loaded_entry.runtime_data.openadr.ven is None
        assert vtn.violations == []


async def activate_then_fall_silent(
    hass: HomeAssistant,
    link: OpenAdrLink,
    client: TestClient[web.Request, web.Application],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The EMS asks for 1 kW, which is taken, then says nothing for a minute and a second."""
    response = await client.post("/api/activate", json={"activationPowerInKw": 1.0})
    assert response.status == 200
    await link._tick()
    assert link._controller.settings().ems_target_kw == pytest.approx(1.0)
    freezer.tick(timedelta(seconds=61))
    await link._tick()
    await hass.async_block_till_done()


class TestSilentEms:
    """The fail-safe for a silent EMS, set to stand the fleet by after a minute."""

    @pytest.fixture
    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "ems_silence_min": 1, "ems_silence_action": "standby"}

    async def test_a_silent_ems_is_stood_down_noted_and_raised(
        self,
        hass: HomeAssistant,
        loaded_entry: MockConfigEntry,
        hass_client: ClientSessionGenerator,
        freezer: FrozenDateTimeFactory,
    ) -> None:
        runtime = loaded_entry.runtime_data
        link = runtime.openadr
        assert link is not None and link.ven is None  # no VEN: the fail-safe works alone
        client = await hass_client()
        await activate_then_fall_silent(hass, link, client, freezer)
        assert runtime.controller.settings().ems_target_kw is None
        assert ir.async_get(hass).async_get_issue(DOMAIN, "ems_silent") is not None
        commands = [c.command for c in await runtime.controller.recent_commands(10)]
        assert "ems_silent" in commands
        await client.get("/api/status")  # the EMS is back
        assert ir.async_get(hass).async_get_issue(DOMAIN, "ems_silent") is None


class TestWebhook:
    """The VTN's notifications through Home Assistant's webhook."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {**options, **openadr_options(vtn)}

    async def test_the_webhook_answers_the_echo_and_takes_notifications_with_the_token(
        self,
        hass: HomeAssistant,
        loaded_entry: MockConfigEntry,
        vtn: TestVtn,
        hass_client_no_auth: ClientSessionGenerator,
    ) -> None:
        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None
        assert link.webhook_id is not None
        ven = link.ven
        ven.programs = {p: _program(vtn, p) for p in vtn.state.programs}
        client = await hass_client_no_auth()
        url = f"/api/webhook/{link.webhook_id}"
        response = await client.get(url, params={"echo": "c4ll3nge"})
        assert response.status == 200
        assert await response.text() == "c4ll3nge"
        event_id = setpoint_now(vtn, 1.46)
        note = {
            "objectType": "EVENT",
            "operation": "CREATE",
            "object": vtn.state.events[event_id].body,
        }
        # The webhook component answers 200 whatever the handler says; the token decides.
        await client.post(url, json=note, headers={"Authorization": "Bearer wrong"})
        assert event_id not in ven.events
        token = ven.config.callback_token
        await client.post(url, json=note, headers={"Authorization": f"Bearer {token}"})
        assert event_id in ven.events


def _program(vtn: TestVtn, program_id: str) -> Any:
    from custom_components.net_stabilization.core.openadr.model import (  # noqa: PLC0415
        parse_program,
    )

    return parse_program(vtn.state.programs[program_id].body)


class TestGridPrice:
    """A PRICE event stands in for the price strategy's entity; the entity is still watched."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {
            **options,
            **openadr_options(vtn),
            "openadr_webhook": False,
            "strategy": "price",
            "price_entity": "sensor.day_ahead_price",
            "price_threshold": 0.1,
        }

    async def test_an_event_price_is_read_before_the_entity(
        self, hass: HomeAssistant, loaded_entry: MockConfigEntry
    ) -> None:
        hass.states.async_set("sensor.day_ahead_price", "0.30", {"unit_of_measurement": "€/kWh"})
        runtime = loaded_entry.runtime_data
        link = runtime.openadr
        seat = runtime.controller.strategy_seat
        assert link is not None and seat is not None
        reader: Any = seat.read_inputs
        assert reader.entities == {"price_per_kwh": "sensor.day_ahead_price"}
        assert reader().price_per_kwh == pytest.approx(0.30)
        link.price.per_kwh = 0.02
        assert reader().price_per_kwh == pytest.approx(0.02)
        link.price.per_kwh = None
        assert reader().price_per_kwh == pytest.approx(0.30)
