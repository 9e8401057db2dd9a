"""OpenADR in Home Assistant at its edges: the options check names each thing wrong with the
VTN settings, a fleet without OpenADR saves at once, an unknown fail-safe action falls back to
standby, a hold keeps the EMS's target, refused credentials and an event ending while the VTN is
away raise repair issues, and a webhook body that is not JSON changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.core.fleet.failsafe import Fallback
from custom_components.net_stabilization.openadr_options import check_openadr, simple_shares
from simulator.vtn import TestVtn

from .test_openadr import activate_then_fall_silent, openadr_options, setpoint_now


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


# ----------------------------------------------------------------------------- the check


def test_shares_that_are_not_numbers_are_no_shares() -> None:
    assert simple_shares("half, a quarter, none") is None
    assert simple_shares("50, 25, 0") == (0.5, 0.25, 0.0)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"openadr_vtn_url": "ftp://vtn.example"}, {"openadr_vtn_url": "invalid_url"}),
        ({"openadr_programs": " , "}, {"openadr_programs": "no_programs"}),
    ],
)
async def test_settings_that_cannot_work_are_named_before_any_request(
    vtn: TestVtn, session: aiohttp.ClientSession, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    _, found = await check_openadr(session, {**openadr_options(vtn), **changes})
    assert found == errors
    assert vtn.requests == []


async def test_a_given_token_endpoint_is_used_as_it_is(
    vtn: TestVtn, session: aiohttp.ClientSession
) -> None:
    new, errors = await check_openadr(
        session, {**openadr_options(vtn), "openadr_token_url": vtn.token_url}
    )
    assert errors == {}
    assert new["openadr_token_url"] == vtn.token_url
    assert ("GET", "/auth/server") not in vtn.requests


async def test_a_vtn_that_names_no_token_endpoint_is_named(
    vtn: TestVtn, session: aiohttp.ClientSession
) -> None:
    vtn.fail_next(1, status=200)  # an answer without a tokenURL
    _, errors = await check_openadr(session, openadr_options(vtn))
    assert errors == {"openadr_token_url": "no_token_url"}


async def test_a_vtn_that_refuses_the_check_is_named(
    vtn: TestVtn, session: aiohttp.ClientSession
) -> None:
    vtn.fail_next(1, status=404)
    _, errors = await check_openadr(session, openadr_options(vtn))
    assert errors == {"openadr_vtn_url": "vtn_refused"}


async def test_options_without_openadr_are_saved_at_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"ems": {"openadr": False}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not loaded_entry.options.get("openadr")


# ----------------------------------------------------------------------------- fail-safe


class TestUnknownSilenceAction:
    """Options that name a fail-safe action this version does not know."""

    @pytest.fixture
    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "ems_silence_min": 1, "ems_silence_action": "shrug"}

    async def test_an_unknown_action_falls_back_to_standby(
        self, loaded_entry: MockConfigEntry
    ) -> None:
        link = loaded_entry.runtime_data.openadr
        assert link is not None
        assert link.silence.fallback is Fallback.STANDBY
        assert link.ven is None
        assert link.event_performance() is None


class TestSilentEmsHeld:
    """The fail-safe for a silent EMS, set to hold its target."""

    @pytest.fixture
    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "ems_silence_min": 1, "ems_silence_action": "hold"}

    @pytest.mark.parametrize(("language", "shown"), [("en", "Hold"), ("de", "Halten")])
    async def test_a_silent_ems_is_raised_but_its_target_held(
        self,
        hass: HomeAssistant,
        loaded_entry: MockConfigEntry,
        hass_client: ClientSessionGenerator,
        *,
        freezer: FrozenDateTimeFactory,
        language: str,
        shown: str,
    ) -> None:
        hass.config.language = language
        runtime = loaded_entry.runtime_data
        link = runtime.openadr
        assert link is not None
        await activate_then_fall_silent(hass, link, await hass_client(), freezer)
        issue = ir.async_get(hass).async_get_issue(DOMAIN, "ems_silent")
        assert issue is not None
        # The action is named in the user's language, not as its option value.
        assert issue.translation_placeholders == {"minutes": "1", "fallback": shown}
        assert runtime.controller.settings().ems_target_kw == pytest.approx(1.0)


# ----------------------------------------------------------------------------- the VTN


class TestRefusedCredentials:
    """A VEN whose client secret the VTN no longer takes."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {**options, **openadr_options(vtn), "openadr_webhook": False}

    async def test_refused_credentials_raise_an_issue_until_they_are_taken(
        self, hass: HomeAssistant, loaded_entry: MockConfigEntry, vtn: TestVtn
    ) -> None:
        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None
        vtn.clients["ven-client"] = "rotated"
        await link._tick()
        issue = ir.async_get(hass).async_get_issue(DOMAIN, "openadr_auth_failed")
        assert issue is not None
        assert issue.translation_placeholders == {"url": vtn.base_url}
        vtn.clients["ven-client"] = "ven-secret"
        link.ven.poll_soon()
        await link._tick()
        assert ir.async_get(hass).async_get_issue(DOMAIN, "openadr_auth_failed") is None
        await link._tick()  # nothing new: nothing raised again
        assert ir.async_get(hass).async_get_issue(DOMAIN, "openadr_auth_failed") is None


class TestVtnLostHolding:
    """A VEN set to hold an event's target when the event ends while the VTN is away."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {
            **options,
            **openadr_options(vtn),
            "openadr_webhook": False,
            "openadr_vtn_lost": "hold",
        }

    @pytest.mark.parametrize(("language", "shown"), [("en", "Hold"), ("de", "Halten")])
    async def test_an_event_ending_unheard_raises_an_issue_until_the_vtn_is_back(
        self,
        hass: HomeAssistant,
        loaded_entry: MockConfigEntry,
        vtn: TestVtn,
        *,
        freezer: FrozenDateTimeFactory,
        language: str,
        shown: str,
    ) -> None:
        hass.config.language = language
        runtime = loaded_entry.runtime_data
        link = runtime.openadr
        assert link is not None and link.ven is not None
        event_id = setpoint_now(vtn, 1.46)
        await link._tick()
        assert event_id in link.ven.events
        await vtn.stop()
        freezer.tick(timedelta(minutes=61))  # the event's hour is over, the VTN gone
        link.ven.poll_soon()
        await link._tick()
        await hass.async_block_till_done()
        issue = ir.async_get(hass).async_get_issue(DOMAIN, "openadr_vtn_lost")
        assert issue is not None
        assert issue.translation_placeholders == {"fallback": shown}
        commands = [c.command for c in await runtime.controller.recent_commands(10)]
        assert "openadr_fallback" in commands
        assert runtime.controller.snapshot.target_kw == pytest.approx(1.46)
        await vtn.start()
        link.ven.poll_soon()
        await link._tick()
        assert ir.async_get(hass).async_get_issue(DOMAIN, "openadr_vtn_lost") is None


class TestWebhookBodies:
    """Bodies the webhook cannot use."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {**options, **openadr_options(vtn)}

    async def test_a_notification_that_is_not_json_changes_nothing(
        self,
        loaded_entry: MockConfigEntry,
        vtn: TestVtn,
        hass_client_no_auth: ClientSessionGenerator,
    ) -> None:
        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None and link.webhook_id is not None
        token = link.ven.config.callback_token
        client = await hass_client_no_auth()
        await client.post(
            f"/api/webhook/{link.webhook_id}",
            data=b"{not json",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert link.ven.events == {}

    async def test_a_reload_keeps_the_webhook_and_its_token(
        self, hass: HomeAssistant, loaded_entry: MockConfigEntry
    ) -> None:
        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None
        webhook_id, token = link.webhook_id, link.ven.config.callback_token
        assert await hass.config_entries.async_reload(loaded_entry.entry_id)
        await hass.async_block_till_done()
        again = loaded_entry.runtime_data.openadr
        assert again is not None and again.ven is not None
        assert again.webhook_id == webhook_id  # the VTN's subscription still reaches it
        assert again.ven.config.callback_token == token


class TestWebhookWithoutUrl:
    """A VEN asked to take notifications where Home Assistant knows no URL of its own."""

    @pytest.fixture
    def options(self, options: dict[str, Any], vtn: TestVtn) -> dict[str, Any]:
        return {**options, **openadr_options(vtn)}

    async def test_without_a_url_the_ven_polls_only(
        self, hass: HomeAssistant, loaded_entry: MockConfigEntry, vtn: TestVtn
    ) -> None:
        # No http integration serving, no URL configured: Home Assistant has no URL to give.
        hass.config.api = None
        assert await hass.config_entries.async_reload(loaded_entry.entry_id)
        await hass.async_block_till_done()
        link = loaded_entry.runtime_data.openadr
        assert link is not None and link.ven is not None
        assert link.webhook_id is None
        assert link.ven.config.callback_url == ""
        event_id = setpoint_now(vtn, 1.46)
        await link._tick()
        assert event_id in link.ven.events  # polling finds it
        assert vtn.state.subscriptions == {}
