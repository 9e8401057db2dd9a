"""Config, options, reconfigure and reauth flows: find the fleet by scanning its networks."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import format_mac
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo

from .builder import build_scanner
from .const import (
    CONF_API_PORT,
    CONF_HOSTS,
    CONF_MINER_ENTITIES,
    CONF_NETWORKS,
    CONF_POWER_MODE,
    CONF_WEB_PORT,
    DEFAULT_API_PORT,
    DEFAULT_POWER_MODE,
    DEFAULT_USERNAME,
    DEFAULT_WEB_PORT,
    DOMAIN,
    MINER_ENTITIES_UP_TO,
    POWER_MODES,
)
from .core.discovery import MAX_SCAN_ADDRESSES, ScanResult, parse_host
from .discovery_update import follow_discovered_miner
from .options import default_options, parse_networks, split_list
from .options_flow import NetStabilizationOptionsFlow
from .runtime import NetStabilizationConfigEntry
from .scan_summary import fine_ranges, group_miners, miner_lines, on_off_steps, rejected_lines

_PORT = NumberSelector(NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX))
_MULTILINE = TextSelector(TextSelectorConfig(multiline=True))
_SECRET = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
# Never sent back to the browser.
_SECRETS = (CONF_PASSWORD, CONF_API_KEY)
# Subnets a discovered miner suggests for the scan.
_DISCOVERY_PREFIX = 24


def connection_schema() -> probatio.Schema:
    """The form for where the miners are and how to log in.

    Nothing the user typed is a default here: the flow suggests it, so a field emptied in the
    browser stays empty. The password and the API key are never suggested (they would be sent to
    the browser): an empty one keeps the one given before.
    """
    fields: dict[Any, Any] = {
        probatio.Optional(CONF_NETWORKS): _MULTILINE,
        probatio.Optional(CONF_HOSTS): _MULTILINE,
        probatio.Required(CONF_USERNAME, default=DEFAULT_USERNAME): TextSelector(),
        probatio.Optional(CONF_PASSWORD): _SECRET,
        probatio.Optional(CONF_API_KEY): _SECRET,
        probatio.Required(CONF_API_PORT, default=DEFAULT_API_PORT): _PORT,
        probatio.Required(CONF_WEB_PORT, default=DEFAULT_WEB_PORT): _PORT,
    }
    return probatio.Schema(fields)


def shown_connection(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the connection form suggests: the values given so far, never a secret."""
    shown = {k: v for k, v in data.items() if k not in _SECRETS and v is not None}
    for key in (CONF_NETWORKS, CONF_HOSTS):
        if isinstance(shown.get(key), list):
            shown[key] = ", ".join(shown[key])
    return shown


def validate_connection(
    user_input: Mapping[str, Any], password: str = "", api_key: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the form into entry data; the errors map field -> translation key. An empty
    password keeps `password` and an empty API key `api_key` (the ones given before)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        CONF_USERNAME: user_input[CONF_USERNAME],
        CONF_PASSWORD: user_input.get(CONF_PASSWORD) or password,
        CONF_API_KEY: (user_input.get(CONF_API_KEY) or api_key).strip(),
        CONF_API_PORT: int(user_input[CONF_API_PORT]),
        CONF_WEB_PORT: int(user_input[CONF_WEB_PORT]),
        CONF_HOSTS: split_list(user_input.get(CONF_HOSTS)),
        CONF_NETWORKS: [],
    }
    try:
        data[CONF_NETWORKS] = parse_networks(split_list(user_input.get(CONF_NETWORKS)))
    except ValueError:
        errors[CONF_NETWORKS] = "invalid_network"
        return data, errors
    sizes = [ipaddress.ip_network(n).num_addresses for n in data[CONF_NETWORKS]]
    if any(size > MAX_SCAN_ADDRESSES for size in sizes):
        errors[CONF_NETWORKS] = "network_too_large"
        return data, errors
    for host in data[CONF_HOSTS]:
        try:
            parse_host(host, data[CONF_API_PORT], data[CONF_WEB_PORT])
        except ValueError:
            errors[CONF_HOSTS] = "invalid_host"
            return data, errors
    if not data[CONF_NETWORKS] and not data[CONF_HOSTS]:
        errors["base"] = "no_targets"
    elif sum(sizes) + len(data[CONF_HOSTS]) > MAX_SCAN_ADDRESSES:
        errors["base"] = "too_many_addresses"
    return data, errors


class NetStabilizationConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up the fleet: networks and credentials, then a scan that shows what it found.

    One fleet per Home Assistant: the unique ID is taken only when the fleet is created, so a
    flow left open blocks nobody.
    """

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing scanned."""
        self._data: dict[str, Any] = {}
        self._scan_task: asyncio.Task[ScanResult] | None = None
        self._scan_error: str | None = None
        self._result: ScanResult | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: NetStabilizationConfigEntry) -> OptionsFlow:
        """Behaviour settings."""
        return NetStabilizationOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask where the miners are."""
        if self._async_current_entries(include_ignore=False):
            return self.async_abort(reason="single_instance_allowed")
        return await self._connection_step("user", user_input, self._data)

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A miner asked for an address: follow a known one, or offer to set the fleet up."""
        entry = next(iter(self._async_current_entries(include_ignore=False)), None)
        if entry is not None:
            await follow_discovered_miner(
                self.hass, entry, format_mac(discovery_info.macaddress), discovery_info.ip
            )
            return self.async_abort(reason="already_configured")
        # One offer at a time, however many miners ask; the fleet's creation ends it.
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        network = ipaddress.ip_network(f"{discovery_info.ip}/{_DISCOVERY_PREFIX}", strict=False)
        self._data = {CONF_NETWORKS: [str(network)]}
        self.context["title_placeholders"] = {"network": str(network)}
        return await self.async_step_dhcp_confirm()

    async def async_step_dhcp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer to set up the fleet a discovered miner belongs to."""
        if user_input is not None:
            return await self._connection_step("user", None, self._data)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="dhcp_confirm",
            description_placeholders={"network": self._data[CONF_NETWORKS][0]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change networks, ports or credentials of the configured fleet."""
        return await self._connection_step(
            "reconfigure", user_input, self._data or self._get_reconfigure_entry().data
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The miners rejected the credentials."""
        self._data = dict(entry_data)
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the miners' username and password again."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._data.update(user_input)
            return await self._start_scan()
        if self._scan_error:
            errors["base"], self._scan_error = self._scan_error, None
        schema = probatio.Schema(
            {
                probatio.Required(CONF_USERNAME): TextSelector(),
                probatio.Required(CONF_PASSWORD): _SECRET,
            }
        )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_USERNAME: self._data.get(CONF_USERNAME, DEFAULT_USERNAME)}
            ),
            errors=errors,
        )

    async def _connection_step(
        self, step_id: str, user_input: dict[str, Any] | None, given: Mapping[str, Any]
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        shown = shown_connection(given)
        if user_input is not None:
            data, errors = validate_connection(
                user_input,
                str(given.get(CONF_PASSWORD) or ""),
                str(given.get(CONF_API_KEY) or ""),
            )
            if not errors:
                self._data = data
                return await self._start_scan()
            shown = shown_connection(user_input)
        elif self._scan_error:
            errors["base"], self._scan_error = self._scan_error, None
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(connection_schema(), shown),
            errors=errors,
        )

    async def _start_scan(self) -> ConfigFlowResult:
        self._scan_task = None
        self._result = None
        return await self.async_step_scan()

    async def async_step_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Scan the networks while the user watches a progress indicator."""
        if self._scan_task is None:
            try:
                scanner = build_scanner(async_get_clientsession(self.hass), self._data)
            except ValueError:
                self._scan_error = "invalid_network"
                return await self._back_to_form()
            self._scan_task = self.hass.async_create_task(scanner.scan(), eager_start=False)
        if not self._scan_task.done():
            return self.async_show_progress(
                step_id="scan",
                progress_action="scan",
                progress_task=self._scan_task,
                description_placeholders={"targets": str(self._target_count())},
            )
        try:
            result = self._scan_task.result()
        except Exception:
            self._scan_error = "scan_failed"
            return self.async_show_progress_done(next_step_id="scan_failed")
        self._result = result
        if not result.miners:
            self._scan_error = "invalid_auth" if result.auth_failed else "no_miners"
            return self.async_show_progress_done(next_step_id="scan_failed")
        if result.auth_failed:
            return self.async_show_progress_done(next_step_id="login_rejected")
        return self.async_show_progress_done(next_step_id="scan_result")

    async def async_step_scan_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Return to the form the scan came from, with its error."""
        return await self._back_to_form()

    async def async_step_login_rejected(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Some miners accepted the login and some refused it: say which, and let the user
        correct the login or go on with the miners that accepted it."""
        assert self._result is not None
        return self.async_show_menu(
            step_id="login_rejected",
            menu_options=["correct_login", "scan_result"],
            description_placeholders={
                "miners": str(len(self._result.miners)),
                "rejected": str(len(self._result.auth_failed)),
                "addresses": rejected_lines(self._result.auth_failed),
            },
        )

    async def async_step_correct_login(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Back to the login, to scan again with the corrected one."""
        return await self._back_to_form()

    async def _back_to_form(self) -> ConfigFlowResult:
        if self.source == SOURCE_REAUTH:
            return await self.async_step_reauth_confirm()
        if self.source == SOURCE_RECONFIGURE:
            return await self.async_step_reconfigure()
        return await self._connection_step("user", None, self._data)

    async def async_step_scan_result(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the scan found; confirming creates or updates the fleet."""
        assert self._result is not None
        if user_input is not None or self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return await self._finish(user_input or {})
        result = self._result
        groups = group_miners(result)
        return self.async_show_form(
            step_id="scan_result",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_POWER_MODE, default=DEFAULT_POWER_MODE): SelectSelector(
                        SelectSelectorConfig(
                            options=list(POWER_MODES),
                            translation_key=CONF_POWER_MODE,
                            mode=SelectSelectorMode.LIST,
                        )
                    ),
                    probatio.Required(
                        CONF_MINER_ENTITIES, default=len(result.miners) <= MINER_ENTITIES_UP_TO
                    ): BooleanSelector(),
                }
            ),
            description_placeholders={
                "miners": str(len(result.miners)),
                "auth_failed": str(len(result.auth_failed)),
                "unsupported": str(len(result.unsupported)),
                "scanned": str(result.addresses_scanned),
                "seconds": f"{result.duration_s:.1f}",
                "controllable": miner_lines(groups, read_only=False),
                "read_only": miner_lines(groups, read_only=True),
                "on_off_steps": on_off_steps(result),
                "fine_ranges": fine_ranges(result),
            },
        )

    async def _finish(self, choices: Mapping[str, Any]) -> ConfigFlowResult:
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            entry = (
                self._get_reauth_entry()
                if self.source == SOURCE_REAUTH
                else self._get_reconfigure_entry()
            )
            # Named, so that the integration's own text shows (not Home Assistant's generic one).
            reason = (
                "reauth_successful" if self.source == SOURCE_REAUTH else "reconfigure_successful"
            )
            if entry.update_listeners:
                # A loaded fleet's update listener schedules the reload itself.
                return self.async_update_and_abort(entry, data_updates=self._data, reason=reason)
            return self.async_update_reload_and_abort(entry, data_updates=self._data, reason=reason)
        # Taken now, not when the form opened: an abandoned flow must not block the next one.
        await self.async_set_unique_id(DOMAIN, raise_on_progress=False)
        if self._async_current_entries(include_ignore=False):
            # Not an ignored discovery: Home Assistant replaces that one with the new fleet.
            return self.async_abort(reason="already_configured")
        return self.async_create_entry(
            title="Mining fleet",
            data=self._data,
            options={**default_options(), **choices},
        )

    def _target_count(self) -> int:
        # Called once the scan's scanner was built, so the entries are known to be valid.
        return len(build_scanner(async_get_clientsession(self.hass), self._data).targets)
