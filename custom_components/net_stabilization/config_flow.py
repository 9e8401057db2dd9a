"""Config, options, reconfigure and reauth flows: find the fleet by scanning its networks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
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

from .builder import build_scanner
from .const import (
    CONF_API_PORT,
    CONF_EMS_NETWORKS,
    CONF_HOSTS,
    CONF_METER_ENTITY,
    CONF_MINER_ENTITIES,
    CONF_NETWORKS,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_RESCAN_INTERVAL,
    CONF_RETENTION_HOURS,
    CONF_SNAPSHOT_INTERVAL,
    CONF_TARGET_POLICY,
    CONF_TEMP_LIMIT,
    CONF_WEB_PORT,
    DEFAULT_API_PORT,
    DEFAULT_POWER_MODE,
    DEFAULT_USERNAME,
    DEFAULT_WEB_PORT,
    DOMAIN,
    POWER_MODES,
    TARGET_POLICIES,
)
from .core.discovery import ScanResult, parse_host
from .options import default_options, parse_networks, split_list

_PORT = NumberSelector(NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX))
_MULTILINE = TextSelector(TextSelectorConfig(multiline=True))


def connection_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    """The form for where the miners are and how to log in."""
    return probatio.Schema(
        {
            probatio.Optional(
                CONF_NETWORKS, default=", ".join(defaults.get(CONF_NETWORKS, []))
            ): _MULTILINE,
            probatio.Optional(
                CONF_HOSTS, default=", ".join(defaults.get(CONF_HOSTS, []))
            ): _MULTILINE,
            probatio.Required(
                CONF_USERNAME, default=defaults.get(CONF_USERNAME, DEFAULT_USERNAME)
            ): TextSelector(),
            probatio.Required(CONF_PASSWORD, default=defaults.get(CONF_PASSWORD, "")): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            probatio.Required(
                CONF_API_PORT, default=defaults.get(CONF_API_PORT, DEFAULT_API_PORT)
            ): _PORT,
            probatio.Required(
                CONF_WEB_PORT, default=defaults.get(CONF_WEB_PORT, DEFAULT_WEB_PORT)
            ): _PORT,
        }
    )


def validate_connection(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the form into entry data; the errors map field -> translation key."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        CONF_USERNAME: user_input[CONF_USERNAME],
        CONF_PASSWORD: user_input[CONF_PASSWORD],
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
    for host in data[CONF_HOSTS]:
        try:
            parse_host(host, data[CONF_API_PORT], data[CONF_WEB_PORT])
        except ValueError:
            errors[CONF_HOSTS] = "invalid_host"
            return data, errors
    if not data[CONF_NETWORKS] and not data[CONF_HOSTS]:
        errors["base"] = "no_targets"
    return data, errors


class NetStabilizationConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up the fleet: networks and credentials, then a scan that shows what it found."""

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
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Behaviour settings."""
        return NetStabilizationOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask where the miners are."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        return await self._connection_step("user", user_input, self._data)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change networks, ports or credentials of the configured fleet."""
        return await self._connection_step(
            "reconfigure", user_input, self._get_reconfigure_entry().data
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
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Required(
                        CONF_USERNAME, default=self._data.get(CONF_USERNAME, DEFAULT_USERNAME)
                    ): TextSelector(),
                    probatio.Required(CONF_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    ),
                }
            ),
            errors=errors,
        )

    async def _connection_step(
        self, step_id: str, user_input: dict[str, Any] | None, defaults: Mapping[str, Any]
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = validate_connection(user_input)
            if not errors:
                self._data = data
                return await self._start_scan()
            defaults = {**data, CONF_NETWORKS: split_list(user_input.get(CONF_NETWORKS))}
        elif self._scan_error:
            errors["base"], self._scan_error = self._scan_error, None
        return self.async_show_form(
            step_id=step_id,
            data_schema=connection_schema(defaults),
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
        return self.async_show_progress_done(next_step_id="scan_result")

    async def async_step_scan_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Return to the form the scan came from, with its error."""
        return await self._back_to_form()

    async def _back_to_form(self) -> ConfigFlowResult:
        if self.source == SOURCE_REAUTH:
            return await self.async_step_reauth_confirm()
        if self.source == SOURCE_RECONFIGURE:
            return await self.async_step_reconfigure()
        return await self.async_step_user()

    async def async_step_scan_result(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what the scan found; confirming creates or updates the fleet."""
        assert self._result is not None
        if user_input is not None or self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return self._finish(user_input or {})
        result = self._result
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
                    probatio.Required(CONF_MINER_ENTITIES, default=True): BooleanSelector(),
                }
            ),
            description_placeholders={
                "miners": str(len(result.miners)),
                "auth_failed": str(len(result.auth_failed)),
                "unsupported": str(len(result.unsupported)),
                "scanned": str(result.addresses_scanned),
                "seconds": f"{result.duration_s:.1f}",
            },
        )

    def _finish(self, choices: Mapping[str, Any]) -> ConfigFlowResult:
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            entry = (
                self._get_reauth_entry()
                if self.source == SOURCE_REAUTH
                else self._get_reconfigure_entry()
            )
            if entry.update_listeners:
                # A loaded fleet's update listener schedules the reload itself.
                return self.async_update_and_abort(entry, data_updates=self._data)
            return self.async_update_reload_and_abort(entry, data_updates=self._data)
        return self.async_create_entry(
            title="Mining fleet",
            data=self._data,
            options={**default_options(), **choices},
        )

    def _target_count(self) -> int:
        try:
            return len(build_scanner(async_get_clientsession(self.hass), self._data).targets)
        except ValueError:
            return 0


class NetStabilizationOptionsFlow(OptionsFlow):
    """How the fleet behaves: timing, retention, mode, EMS access, meter and safety."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        errors: dict[str, str] = {}
        options = {**default_options(), **self.config_entry.options}
        if user_input is not None:
            try:
                ems_networks = parse_networks(split_list(user_input.get(CONF_EMS_NETWORKS)))
            except ValueError:
                errors[CONF_EMS_NETWORKS] = "invalid_network"
            else:
                new = {**user_input, CONF_EMS_NETWORKS: ems_networks}
                for key in (
                    CONF_POLL_INTERVAL,
                    CONF_SNAPSHOT_INTERVAL,
                    CONF_RETENTION_HOURS,
                    CONF_RESCAN_INTERVAL,
                ):
                    new[key] = int(new[key])
                new[CONF_TEMP_LIMIT] = float(new[CONF_TEMP_LIMIT])
                if not new.get(CONF_METER_ENTITY):
                    new.pop(CONF_METER_ENTITY, None)
                return self.async_create_entry(data=new)
            options = {**options, **user_input}
        meter = options.get(CONF_METER_ENTITY)
        schema: dict[Any, Any] = {
            probatio.Required(CONF_POWER_MODE, default=options[CONF_POWER_MODE]): SelectSelector(
                SelectSelectorConfig(options=list(POWER_MODES), translation_key=CONF_POWER_MODE)
            ),
            probatio.Required(
                CONF_TARGET_POLICY, default=options[CONF_TARGET_POLICY]
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(TARGET_POLICIES), translation_key=CONF_TARGET_POLICY
                )
            ),
            probatio.Required(CONF_POLL_INTERVAL, default=options[CONF_POLL_INTERVAL]): _seconds(
                2, 300
            ),
            probatio.Required(
                CONF_SNAPSHOT_INTERVAL, default=options[CONF_SNAPSHOT_INTERVAL]
            ): _seconds(10, 3600),
            probatio.Required(
                CONF_RETENTION_HOURS, default=options[CONF_RETENTION_HOURS]
            ): NumberSelector(
                NumberSelectorConfig(
                    min=1, max=24 * 90, mode=NumberSelectorMode.BOX, unit_of_measurement="h"
                )
            ),
            probatio.Required(
                CONF_RESCAN_INTERVAL, default=options[CONF_RESCAN_INTERVAL]
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=24 * 60, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
                )
            ),
            probatio.Required(CONF_TEMP_LIMIT, default=options[CONF_TEMP_LIMIT]): NumberSelector(
                NumberSelectorConfig(
                    min=60, max=110, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="°C"
                )
            ),
            probatio.Optional(
                CONF_EMS_NETWORKS, default=", ".join(split_list(options[CONF_EMS_NETWORKS]))
            ): _MULTILINE,
            probatio.Optional(
                CONF_METER_ENTITY, description={"suggested_value": meter} if meter else None
            ): EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power")),
            probatio.Required(
                CONF_MINER_ENTITIES, default=options[CONF_MINER_ENTITIES]
            ): BooleanSelector(),
        }
        return self.async_show_form(
            step_id="init", data_schema=probatio.Schema(schema), errors=errors
        )


def _seconds(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, mode=NumberSelectorMode.BOX, unit_of_measurement="s"
        )
    )
