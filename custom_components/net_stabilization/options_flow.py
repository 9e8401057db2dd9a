"""The options flow: the fleet's behaviour in sections (control, polling and history, EMS
access, the site's meters and limits, fleet size and reserve); then, when one is chosen, the
local strategy's own page.

The sections only group the form: the options are stored flat, under the keys they always had,
so entries made before the sections keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.data_entry_flow import section
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
)

from .const import (
    CONF_EMS_NETWORKS,
    CONF_EMS_USER,
    CONF_FACTORY_PASSWORD,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_LIMIT_KW,
    CONF_HOT_RESERVE,
    CONF_HOT_STANDBY_W,
    CONF_LIMIT_ENTITY,
    CONF_MAX_MINERS,
    CONF_METER_ENTITY,
    CONF_MINER_ENTITIES,
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
    POWER_MODES,
    STRATEGIES,
    TARGET_POLICIES,
)
from .openadr_options import CONF_OPENADR, OpenAdrOptionsStep
from .options import default_options, parse_networks, split_list
from .strategy_options import check_strategy, strategy_defaults, strategy_keys, strategy_schema

# The form's sections and the options in each, in the order shown.
SECTIONS: dict[str, tuple[str, ...]] = {
    "control": (CONF_POWER_MODE, CONF_TARGET_POLICY, CONF_STRATEGY, CONF_TEMP_LIMIT),
    "polling": (
        CONF_POLL_INTERVAL,
        CONF_SNAPSHOT_INTERVAL,
        CONF_RETENTION_HOURS,
        CONF_RESCAN_INTERVAL,
    ),
    "ems": (CONF_EMS_NETWORKS, CONF_EMS_USER, CONF_RESTORE_MAX_AGE, CONF_OPENADR),
    "site": (
        CONF_METER_ENTITY,
        CONF_TRIP_ENTITY,
        CONF_LIMIT_ENTITY,
        CONF_GRID_IMPORT_ENTITY,
        CONF_GRID_LIMIT_KW,
    ),
    "fleet": (
        CONF_MINER_ENTITIES,
        CONF_MAX_MINERS,
        CONF_HOT_RESERVE,
        CONF_HOT_STANDBY_W,
        CONF_FACTORY_PASSWORD,
    ),
}
# Shown open: what is changed most; the rest opens on a click.
_OPEN = {"control"}
SECTION_OF = {key: name for name, keys in SECTIONS.items() for key in keys}

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
# Emptied fields stay empty: these are suggested, never defaults (emptying the EMS networks
# is how token-less access is revoked; emptying an entity removes it).
_SUGGESTED = {
    CONF_EMS_NETWORKS,
    CONF_METER_ENTITY,
    CONF_TRIP_ENTITY,
    CONF_LIMIT_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
}
_NO_USER = "none"
_IN_SECTION = {"out_of_range": "out_of_range_in_section"}


class NetStabilizationOptionsFlow(OpenAdrOptionsStep, OptionsFlow):
    """How the fleet behaves; then, when one is chosen, the local strategy."""

    def __init__(self) -> None:
        """Start with nothing taken."""
        self._general: dict[str, Any] = {}
        self._pending: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every general option, in sections."""
        errors: dict[str, str] = {}
        options = {**default_options(), **self.config_entry.options}
        if user_input is not None:
            given = flatten(user_input)
            for name, keys in SECTIONS.items():
                if name not in user_input:  # a section left out keeps what it holds
                    given.update({key: options[key] for key in keys if key in options})
            new, field_errors = checked_options(given)
            if not field_errors:
                self._general = new
                if new.get(CONF_STRATEGY, "none") != "none":
                    return await self.async_step_strategy()
                return await self._save_or_ask_openadr(_without_strategy(new))
            options = {**options, **given}
            errors = section_errors(field_errors)
        users = [
            user
            for user in await self.hass.auth.async_get_users()
            if user.is_active and not user.system_generated
        ]
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                options_schema(options, users), _suggestions(options)
            ),
            errors=errors,
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


def flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The form's sections as the flat options they store."""
    flat: dict[str, Any] = {}
    for name in SECTIONS:
        flat.update(user_input.get(name) or {})
    return flat


def nest(options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flat options as the form's sections hold them."""
    nested: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in options.items():
        if key in SECTION_OF:
            nested[SECTION_OF[key]][key] = value
    return nested


def section_errors(field_errors: Mapping[str, str]) -> dict[str, str]:
    """Errors shown above the section that holds the field (the form shows an error there),
    in words that say it is one of the section's fields."""
    errors: dict[str, str] = {}
    for key, error in field_errors.items():
        errors.setdefault(SECTION_OF.get(key, "base"), _IN_SECTION.get(error, error))
    return errors


def _without_strategy(options: Mapping[str, Any]) -> dict[str, Any]:
    """The general options without any strategy setting a previous choice left."""
    keys = strategy_keys()
    return {k: v for k, v in options.items() if k not in keys}


def checked_options(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
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


def _suggestions(options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The suggested values of the emptiable fields, by section."""
    shown = {k: v for k, v in options.items() if k in _SUGGESTED and v}
    if CONF_EMS_NETWORKS in shown:
        shown[CONF_EMS_NETWORKS] = ", ".join(split_list(shown[CONF_EMS_NETWORKS]))
    return {name: fields for name, fields in nest(shown).items() if fields}


def options_schema(options: Mapping[str, Any], users: list[User]) -> probatio.Schema:
    """The general options' form: one section per group of `SECTIONS`."""

    def number(key: str) -> NumberSelector:
        config = NumberSelectorConfig(mode=NumberSelectorMode.BOX)
        if key in _UNITS:
            config["unit_of_measurement"] = _UNITS[key]
        return NumberSelector(config)

    user_choices = [SelectOptionDict(value=_NO_USER, label="—")] + [
        SelectOptionDict(value=user.id, label=user.name or user.id) for user in users
    ]
    selectors: dict[str, Any] = {
        CONF_POWER_MODE: SelectSelector(
            SelectSelectorConfig(options=list(POWER_MODES), translation_key=CONF_POWER_MODE)
        ),
        CONF_TARGET_POLICY: SelectSelector(
            SelectSelectorConfig(options=list(TARGET_POLICIES), translation_key=CONF_TARGET_POLICY)
        ),
        CONF_STRATEGY: SelectSelector(
            SelectSelectorConfig(options=list(STRATEGIES), translation_key=CONF_STRATEGY)
        ),
        CONF_EMS_NETWORKS: TextSelector(TextSelectorConfig(multiline=True)),
        CONF_EMS_USER: SelectSelector(
            SelectSelectorConfig(options=user_choices, mode=SelectSelectorMode.DROPDOWN)
        ),
        CONF_METER_ENTITY: EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        CONF_TRIP_ENTITY: EntitySelector(
            EntitySelectorConfig(domain=["binary_sensor", "switch", "input_boolean"])
        ),
        CONF_LIMIT_ENTITY: EntitySelector(
            EntitySelectorConfig(domain=["sensor", "number", "input_number"])
        ),
        CONF_GRID_IMPORT_ENTITY: EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        CONF_MINER_ENTITIES: BooleanSelector(),
        CONF_FACTORY_PASSWORD: BooleanSelector(),
        CONF_OPENADR: BooleanSelector(),
        **{key: number(key) for key in _RANGES},
    }

    def field(key: str) -> Any:
        if key in _SUGGESTED:
            return probatio.Optional(key)
        if key == CONF_OPENADR:
            return probatio.Required(key, default=bool(options.get(key)))
        if key == CONF_EMS_USER:
            return probatio.Optional(key, default=options.get(key) or _NO_USER)
        return probatio.Required(key, default=options[key])

    schema: dict[Any, Any] = {}
    for name, keys in SECTIONS.items():
        inner = probatio.Schema({field(key): selectors[key] for key in keys})
        schema[probatio.Optional(name)] = section(inner, {"collapsed": name not in _OPEN})
    return probatio.Schema(schema)
