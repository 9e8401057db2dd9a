"""Config, options, reconfigure and reauth flows: find the fleet by scanning its networks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, override

import probatio
from homeassistant.auth.models import User
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
    SelectOptionDict,
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
    CONF_EMS_USER,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_LIMIT_KW,
    CONF_HOSTS,
    CONF_HOT_RESERVE,
    CONF_HOT_STANDBY_W,
    CONF_LIMIT_ENTITY,
    CONF_MAX_MINERS,
    CONF_METER_ENTITY,
    CONF_MINER_ENTITIES,
    CONF_NETWORKS,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_RESCAN_INTERVAL,
    CONF_RESTORE_MAX_AGE,
    CONF_RETENTION_HOURS,
    CONF_SNAPSHOT_INTERVAL,
    CONF_STRATEGY,
    CONF_TARGET_POLICY,
    CONF_TEMP_LIMIT,
    CONF_TRIP_ENTITY,
    CONF_WEB_PORT,
    DEFAULT_API_PORT,
    DEFAULT_POWER_MODE,
    DEFAULT_USERNAME,
    DEFAULT_WEB_PORT,
    DOMAIN,
    MINER_ENTITIES_UP_TO,
    POWER_MODES,
    STRATEGIES,
    TARGET_POLICIES,
)
from .core.discovery import ScanResult, parse_host
from .openadr_options import CONF_OPENADR, OpenAdrOptionsStep
from .options import default_options, parse_networks, split_list
from .strategy_options import check_strategy, strategy_defaults, strategy_keys, strategy_schema

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
            },
        )

    def _finish(self, choices: Mapping[str, Any]) -> ConfigFlowResult:
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
        return self.async_create_entry(
            title="Mining fleet",
            data=self._data,
            options={**default_options(), **choices},
        )

    def _target_count(self) -> int:
        # Called once the scan's scanner was built, so the entries are known to be valid.
        return len(build_scanner(async_get_clientsession(self.hass), self._data).targets)


# Option ranges, checked here (not by the form's selectors) so that a value outside gets this
# integration's own translated error; the help texts give the ranges.
_RANGES: dict[str, tuple[float, float]] = {
    CONF_POLL_INTERVAL: (2, 300),
    CONF_SNAPSHOT_INTERVAL: (10, 3600),
    CONF_RETENTION_HOURS: (1, 24 * 90),
    CONF_RESCAN_INTERVAL: (0, 24 * 60),
    CONF_TEMP_LIMIT: (60, 110),
    CONF_MAX_MINERS: (1, 5000),
    CONF_RESTORE_MAX_AGE: (0, 24 * 60),
    CONF_HOT_RESERVE: (0, 1000),
    CONF_GRID_LIMIT_KW: (0, 100_000),
    CONF_HOT_STANDBY_W: (0, 1000),
}
_UNITS = {
    CONF_POLL_INTERVAL: "s",
    CONF_SNAPSHOT_INTERVAL: "s",
    CONF_RETENTION_HOURS: "h",
    CONF_RESCAN_INTERVAL: "min",
    CONF_TEMP_LIMIT: "°C",
    CONF_RESTORE_MAX_AGE: "min",
    CONF_HOT_STANDBY_W: "W",
    CONF_GRID_LIMIT_KW: "kW",
}
_NO_USER = "none"


class NetStabilizationOptionsFlow(OpenAdrOptionsStep, OptionsFlow):
    """How the fleet behaves: timing, retention, mode, EMS access, meter and safety; then, when
    one is chosen, the local strategy."""

    def __init__(self) -> None:
        """Start with nothing taken."""
        self._general: dict[str, Any] = {}
        self._pending: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every general option."""
        errors: dict[str, str] = {}
        options = {**default_options(), **self.config_entry.options}
        if user_input is not None:
            new, errors = _checked_options(user_input)
            if not errors:
                self._general = new
                if new.get(CONF_STRATEGY, "none") != "none":
                    return await self.async_step_strategy()
                return await self._save_or_ask_openadr(_without_strategy(new))
            options = {**options, **user_input}
        users = [
            user
            for user in await self.hass.auth.async_get_users()
            if user.is_active and not user.system_generated
        ]
        return self.async_show_form(
            step_id="init", data_schema=_options_schema(options, users), errors=errors
        )

    async def async_step_strategy(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The chosen strategy's entities, numbers and pacing."""
        strategy = str(self._general[CONF_STRATEGY])
        errors: dict[str, str] = {}
        shown: dict[str, Any] = {
            **strategy_defaults(self._nominal_kw()),
            **self.config_entry.options,
            **self._general,
        }
        if user_input is not None:
            new, errors = check_strategy(strategy, user_input)
            if not errors:
                data = {**_without_strategy(self._general), **new}
                return await self._save_or_ask_openadr(data)
            shown = {**shown, **user_input}
        return self.async_show_form(
            step_id="strategy",
            data_schema=strategy_schema(strategy, shown),
            errors=errors,
            description_placeholders={"strategy": strategy},
        )

    def _nominal_kw(self) -> float:
        runtime = getattr(self.config_entry, "runtime_data", None)
        return float(runtime.controller.nominal_rated_kw) if runtime is not None else 0.0


def _without_strategy(options: Mapping[str, Any]) -> dict[str, Any]:
    """The general options without any strategy setting a previous choice left."""
    keys = strategy_keys()
    return {k: v for k, v in options.items() if k not in keys}


def _checked_options(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The options to store, or the errors (field -> translation key)."""
    errors: dict[str, str] = {}
    new: dict[str, Any] = dict(user_input)
    try:
        new[CONF_EMS_NETWORKS] = parse_networks(split_list(user_input.get(CONF_EMS_NETWORKS)))
    except ValueError:
        errors[CONF_EMS_NETWORKS] = "invalid_network"
    for key, (low, high) in _RANGES.items():
        value = new.get(key)
        if not isinstance(value, int | float) or not low <= value <= high:
            errors[key] = "out_of_range"
        elif key != CONF_TEMP_LIMIT:
            new[key] = int(value)
        else:
            new[key] = float(value)
    if new.get(CONF_HOT_RESERVE) and not new.get(CONF_HOT_STANDBY_W) and not errors:
        # A reserve draws what a stopped S9 draws: without a measured figure it is not held.
        errors[CONF_HOT_STANDBY_W] = "hot_standby_unknown"
    for key in (CONF_METER_ENTITY, CONF_TRIP_ENTITY, CONF_LIMIT_ENTITY, CONF_GRID_IMPORT_ENTITY):
        if not new.get(key):
            new.pop(key, None)
    if new.get(CONF_EMS_USER) in (None, "", _NO_USER):
        new.pop(CONF_EMS_USER, None)
    return new, errors


def _options_schema(options: Mapping[str, Any], users: list[User]) -> probatio.Schema:
    meter = options.get(CONF_METER_ENTITY)
    networks = ", ".join(split_list(options[CONF_EMS_NETWORKS]))

    def number(key: str) -> NumberSelector:
        config = NumberSelectorConfig(mode=NumberSelectorMode.BOX)
        if key in _UNITS:
            config["unit_of_measurement"] = _UNITS[key]
        return NumberSelector(config)

    user_choices = [SelectOptionDict(value=_NO_USER, label="—")] + [
        SelectOptionDict(value=user.id, label=user.name or user.id) for user in users
    ]
    schema: dict[Any, Any] = {
        probatio.Required(CONF_POWER_MODE, default=options[CONF_POWER_MODE]): SelectSelector(
            SelectSelectorConfig(options=list(POWER_MODES), translation_key=CONF_POWER_MODE)
        ),
        probatio.Required(CONF_TARGET_POLICY, default=options[CONF_TARGET_POLICY]): SelectSelector(
            SelectSelectorConfig(options=list(TARGET_POLICIES), translation_key=CONF_TARGET_POLICY)
        ),
        probatio.Required(CONF_STRATEGY, default=options[CONF_STRATEGY]): SelectSelector(
            SelectSelectorConfig(options=list(STRATEGIES), translation_key=CONF_STRATEGY)
        ),
    }
    for key in (
        CONF_POLL_INTERVAL,
        CONF_SNAPSHOT_INTERVAL,
        CONF_RETENTION_HOURS,
        CONF_RESCAN_INTERVAL,
        CONF_TEMP_LIMIT,
    ):
        schema[probatio.Required(key, default=options[key])] = number(key)
    # Suggested, not defaults: an emptied field must stay empty (that is how access is revoked).
    schema[
        probatio.Optional(
            CONF_EMS_NETWORKS, description={"suggested_value": networks} if networks else None
        )
    ] = _MULTILINE
    schema[probatio.Optional(CONF_EMS_USER, default=options.get(CONF_EMS_USER) or _NO_USER)] = (
        SelectSelector(SelectSelectorConfig(options=user_choices, mode=SelectSelectorMode.DROPDOWN))
    )
    schema[
        probatio.Optional(
            CONF_METER_ENTITY, description={"suggested_value": meter} if meter else None
        )
    ] = EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power"))
    trip = options.get(CONF_TRIP_ENTITY)
    schema[
        probatio.Optional(CONF_TRIP_ENTITY, description={"suggested_value": trip} if trip else None)
    ] = EntitySelector(EntitySelectorConfig(domain=["binary_sensor", "switch", "input_boolean"]))
    limit = options.get(CONF_LIMIT_ENTITY)
    schema[
        probatio.Optional(
            CONF_LIMIT_ENTITY, description={"suggested_value": limit} if limit else None
        )
    ] = EntitySelector(EntitySelectorConfig(domain=["sensor", "number", "input_number"]))
    grid = options.get(CONF_GRID_IMPORT_ENTITY)
    schema[
        probatio.Optional(
            CONF_GRID_IMPORT_ENTITY, description={"suggested_value": grid} if grid else None
        )
    ] = EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power"))
    schema[probatio.Required(CONF_GRID_LIMIT_KW, default=options[CONF_GRID_LIMIT_KW])] = number(
        CONF_GRID_LIMIT_KW
    )
    schema[probatio.Required(CONF_MINER_ENTITIES, default=options[CONF_MINER_ENTITIES])] = (
        BooleanSelector()
    )
    schema[probatio.Required(CONF_OPENADR, default=bool(options.get(CONF_OPENADR)))] = (
        BooleanSelector()
    )
    for key in (CONF_MAX_MINERS, CONF_RESTORE_MAX_AGE, CONF_HOT_RESERVE, CONF_HOT_STANDBY_W):
        schema[probatio.Required(key, default=options[key])] = number(key)
    return probatio.Schema(schema)
