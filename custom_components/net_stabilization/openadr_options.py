"""The OpenADR options: the VTN, the VEN's credentials and programs, and the fail-safes.

A form of its own in the options flow, shown after the general one when "OpenADR" is switched on.
Before it is saved, the VEN logs in (client credentials) and looks for its programs: a wrong URL,
a refused secret or a program the VTN does not have is said on the form, not found out later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import probatio
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import LOGGER
from .core.fleet import ManualClock
from .core.openadr import AuthFailed, TokenSource, VtnClient, VtnError, VtnRefused
from .options import split_list

CONF_OPENADR: Final = "openadr"  # the VEN is on
CONF_VTN_URL: Final = "openadr_vtn_url"
CONF_TOKEN_URL: Final = "openadr_token_url"  # empty: asked of the VTN
CONF_CLIENT_ID: Final = "openadr_client_id"
CONF_CLIENT_SECRET: Final = "openadr_client_secret"
CONF_VEN_NAME: Final = "openadr_ven_name"
CONF_PROGRAMS: Final = "openadr_programs"
CONF_VEN_POLL_S: Final = "openadr_poll_interval"
CONF_WEBHOOK: Final = "openadr_webhook"  # ask the VTN to notify through a webhook
CONF_VTN_LOST: Final = "openadr_vtn_lost"  # what an event ending while the VTN is away leaves
CONF_SIMPLE_SHARES: Final = "openadr_simple_shares"  # SIMPLE levels 1-3 in % of rated power
CONF_EMS_SILENCE_MIN: Final = "ems_silence_min"  # 0: no fail-safe for a silent EMS
CONF_EMS_SILENCE_ACTION: Final = "ems_silence_action"

FALLBACKS: Final = ("hold", "standby", "strategy")
SECRETS: Final = frozenset({CONF_CLIENT_SECRET, CONF_CLIENT_ID})
DEFAULT_VEN_POLL_S: Final = 30


def openadr_defaults() -> dict[str, Any]:
    """The OpenADR options of a fleet that has none yet."""
    return {
        CONF_OPENADR: False,
        CONF_VEN_POLL_S: DEFAULT_VEN_POLL_S,
        CONF_WEBHOOK: True,
        CONF_VTN_LOST: "strategy",
        CONF_SIMPLE_SHARES: "50, 25, 0",
        CONF_EMS_SILENCE_MIN: 0,
        CONF_EMS_SILENCE_ACTION: "standby",
    }


def openadr_keys() -> frozenset[str]:
    """Every option this form owns."""
    return frozenset(
        {
            CONF_VTN_URL,
            CONF_TOKEN_URL,
            CONF_CLIENT_ID,
            CONF_CLIENT_SECRET,
            CONF_VEN_NAME,
            CONF_PROGRAMS,
            CONF_VEN_POLL_S,
            CONF_WEBHOOK,
            CONF_VTN_LOST,
            CONF_SIMPLE_SHARES,
            CONF_EMS_SILENCE_MIN,
            CONF_EMS_SILENCE_ACTION,
        }
    )


def openadr_schema(shown: Mapping[str, Any]) -> probatio.Schema:
    """The form, filled with what is configured."""

    def text(kind: TextSelectorType = TextSelectorType.TEXT) -> TextSelector:
        return TextSelector(TextSelectorConfig(type=kind))

    def number(low: float, high: float, unit: str) -> NumberSelector:
        return NumberSelector(
            NumberSelectorConfig(
                min=low, max=high, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
            )
        )

    def fallback(key: str) -> SelectSelector:
        return SelectSelector(SelectSelectorConfig(options=list(FALLBACKS), translation_key=key))

    def suggested(key: str) -> dict[str, Any] | None:
        value = shown.get(key)
        return {"suggested_value": value} if value not in (None, "") else None

    return probatio.Schema(
        {
            probatio.Required(CONF_VTN_URL, description=suggested(CONF_VTN_URL)): text(
                TextSelectorType.URL
            ),
            probatio.Optional(CONF_TOKEN_URL, description=suggested(CONF_TOKEN_URL)): text(
                TextSelectorType.URL
            ),
            probatio.Optional(CONF_CLIENT_ID, description=suggested(CONF_CLIENT_ID)): text(),
            probatio.Optional(CONF_CLIENT_SECRET, description=suggested(CONF_CLIENT_SECRET)): text(
                TextSelectorType.PASSWORD
            ),
            probatio.Required(CONF_VEN_NAME, description=suggested(CONF_VEN_NAME)): text(),
            probatio.Required(CONF_PROGRAMS, description=suggested(CONF_PROGRAMS)): text(),
            probatio.Required(CONF_VEN_POLL_S, default=shown[CONF_VEN_POLL_S]): number(
                5, 3600, "s"
            ),
            probatio.Required(CONF_WEBHOOK, default=shown[CONF_WEBHOOK]): BooleanSelector(),
            probatio.Required(CONF_VTN_LOST, default=shown[CONF_VTN_LOST]): fallback(CONF_VTN_LOST),
            probatio.Required(CONF_SIMPLE_SHARES, default=shown[CONF_SIMPLE_SHARES]): text(),
            probatio.Required(CONF_EMS_SILENCE_MIN, default=shown[CONF_EMS_SILENCE_MIN]): number(
                0, 1440, "min"
            ),
            probatio.Required(
                CONF_EMS_SILENCE_ACTION, default=shown[CONF_EMS_SILENCE_ACTION]
            ): fallback(CONF_EMS_SILENCE_ACTION),
        }
    )


def simple_shares(text: str) -> tuple[float, float, float] | None:
    """SIMPLE levels 1, 2 and 3 as shares of rated power, from "50, 25, 0" (%); None when the
    text is not three percentages."""
    try:
        values = [float(item) for item in split_list(text)]
    except ValueError:
        return None
    if len(values) != 3 or not all(0 <= v <= 100 for v in values):
        return None
    return (values[0] / 100.0, values[1] / 100.0, values[2] / 100.0)


async def check_openadr(
    session: aiohttp.ClientSession, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The options to store, or the errors (field → translation key), after logging in to the
    VTN and finding the programs."""
    new = {k: v for k, v in user_input.items() if k in openadr_keys() and v not in (None, "")}
    errors: dict[str, str] = {}
    url = str(new.get(CONF_VTN_URL, "")).strip()
    if not url.startswith(("https://", "http://")):
        return new, {CONF_VTN_URL: "invalid_url"}
    programs = split_list(str(new.get(CONF_PROGRAMS, "")))
    if not programs:
        return new, {CONF_PROGRAMS: "no_programs"}
    new[CONF_PROGRAMS] = ", ".join(programs)
    shares = simple_shares(str(new.get(CONF_SIMPLE_SHARES, "50, 25, 0")))
    if shares is None:
        return new, {CONF_SIMPLE_SHARES: "invalid_shares"}
    new[CONF_SIMPLE_SHARES] = ", ".join(f"{share * 100:g}" for share in shares)
    new[CONF_VEN_POLL_S] = int(new.get(CONF_VEN_POLL_S, DEFAULT_VEN_POLL_S))
    new[CONF_EMS_SILENCE_MIN] = float(new.get(CONF_EMS_SILENCE_MIN, 0))
    clock = ManualClock()
    tokens = TokenSource(
        session,
        str(new.get(CONF_TOKEN_URL, "")),
        str(new.get(CONF_CLIENT_ID, "")),
        str(new.get(CONF_CLIENT_SECRET, "")),
        clock.monotonic,
    )
    client = VtnClient(session, url, tokens, timeout_s=10.0)
    try:
        if not tokens.token_url and not tokens.anonymous:
            info = await client.request("GET", "/auth/server", auth=False)
            token_url = info.get("tokenURL") if isinstance(info, dict) else None
            if not isinstance(token_url, str) or not token_url:
                return new, {CONF_TOKEN_URL: "no_token_url"}
            tokens.token_url = token_url
        found = await client.get_all("/programs")
    except AuthFailed:
        errors[CONF_CLIENT_SECRET] = "vtn_auth_failed"
    except VtnRefused as err:
        LOGGER.debug("The VTN refused the check: %s", err)
        errors[CONF_VTN_URL] = "vtn_refused"
    except VtnError as err:
        LOGGER.debug("The VTN cannot be reached: %s", err)
        errors[CONF_VTN_URL] = "vtn_unreachable"
    else:
        names = {p.get("programName") for p in found if isinstance(p, dict)}
        if any(p not in names for p in programs):
            errors[CONF_PROGRAMS] = "program_not_found"
    return new, errors


class OpenAdrOptionsStep:
    """The options flow's OpenADR form (mixed into the options flow, which keeps the general
    options it took in `_pending` meanwhile)."""

    _pending: dict[str, Any]

    async def async_step_openadr(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The VTN, the credentials, the programs and the fail-safes; checked by logging in."""
        flow: Any = self
        errors: dict[str, str] = {}
        shown: dict[str, Any] = {**openadr_defaults(), **flow.config_entry.options}
        if user_input is not None:
            new, errors = await check_openadr(async_get_clientsession(flow.hass), user_input)
            if not errors:
                saved: ConfigFlowResult = flow.async_create_entry(data={**self._pending, **new})
                return saved
            shown = {**shown, **user_input}
        form: ConfigFlowResult = flow.async_show_form(
            step_id="openadr", data_schema=openadr_schema(shown), errors=errors
        )
        return form

    async def _save_or_ask_openadr(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Save the options, or first ask for the OpenADR settings when OpenADR is on."""
        flow: Any = self
        kept = {k: v for k, v in data.items() if k not in openadr_keys()}
        if data.get(CONF_OPENADR):
            self._pending = kept
            return await self.async_step_openadr()
        done: ConfigFlowResult = flow.async_create_entry(data=kept)
        return done
