"""The options of the local strategy: one form per strategy, and what makes sense in it.

The options flow shows this form after the general one when a strategy is chosen. Powers are in
kW or W, prices in the price entity's currency per kWh, frequencies in Hz, temperatures in °C.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
)

from .const import (
    CONF_DROOP_BASE_KW,
    CONF_DROOP_DEADBAND_HZ,
    CONF_DROOP_GAIN,
    CONF_FEED_IN_LIMIT_KW,
    CONF_FREQUENCY_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_HASHPRICE,
    CONF_HASHPRICE_ENTITY,
    CONF_HEAT_BAND_K,
    CONF_HEAT_LIMIT_C,
    CONF_HEAT_SETPOINT_C,
    CONF_PEAK_LIMIT_KW,
    CONF_PRICE_ENTITY,
    CONF_PRICE_HYSTERESIS,
    CONF_PRICE_THRESHOLD,
    CONF_PV_RESERVE_W,
    CONF_STRATEGY,
    CONF_STRATEGY_BAND_W,
    CONF_STRATEGY_MIN_OFF_S,
    CONF_STRATEGY_MIN_ON_S,
    CONF_STRATEGY_POLICY,
    CONF_TEMPERATURE_ENTITY,
    CONF_TRIP_HZ,
    STRATEGY_POLICIES,
)

# Each number: (default, lowest, highest, unit); None as default: optional, empty by default.
_NUMBERS: dict[str, tuple[float | None, float, float, str]] = {
    CONF_STRATEGY_BAND_W: (500, 0, 1_000_000, "W"),
    CONF_STRATEGY_MIN_ON_S: (600, 0, 86_400, "s"),
    CONF_STRATEGY_MIN_OFF_S: (600, 0, 86_400, "s"),
    CONF_PV_RESERVE_W: (200, 0, 1_000_000, "W"),
    CONF_FEED_IN_LIMIT_KW: (0, 0, 100_000, "kW"),
    CONF_PRICE_THRESHOLD: (None, -10, 10, "/kWh"),
    CONF_HASHPRICE: (None, 0, 1000, "/TH/day"),
    CONF_PRICE_HYSTERESIS: (0, 0, 10, "/kWh"),
    CONF_PEAK_LIMIT_KW: (None, 0.1, 100_000, "kW"),
    CONF_DROOP_BASE_KW: (None, 0, 100_000, "kW"),
    CONF_DROOP_GAIN: (None, 0.001, 10_000_000, "kW/Hz"),
    CONF_DROOP_DEADBAND_HZ: (0.02, 0, 0.5, "Hz"),
    CONF_TRIP_HZ: (49.5, 45, 49.98, "Hz"),
    CONF_HEAT_SETPOINT_C: (None, -20, 95, "°C"),
    CONF_HEAT_BAND_K: (2, 0.1, 50, "K"),
    CONF_HEAT_LIMIT_C: (None, -20, 100, "°C"),
}
_ENTITIES: dict[str, EntitySelectorConfig] = {
    CONF_GRID_IMPORT_ENTITY: EntitySelectorConfig(domain="sensor", device_class="power"),
    CONF_PRICE_ENTITY: EntitySelectorConfig(domain=["sensor", "number", "input_number"]),
    CONF_HASHPRICE_ENTITY: EntitySelectorConfig(domain=["sensor", "number", "input_number"]),
    CONF_FREQUENCY_ENTITY: EntitySelectorConfig(domain=["sensor", "number", "input_number"]),
    CONF_TEMPERATURE_ENTITY: EntitySelectorConfig(domain=["sensor", "number", "input_number"]),
}
# Per strategy: its entities (required first) and numbers (required ones marked).
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # strategy: (required entities, optional entities, numbers)
    "pv_surplus": ((CONF_GRID_IMPORT_ENTITY,), (), (CONF_PV_RESERVE_W, CONF_FEED_IN_LIMIT_KW)),
    "price": (
        (CONF_PRICE_ENTITY,),
        (CONF_HASHPRICE_ENTITY,),
        (CONF_PRICE_THRESHOLD, CONF_HASHPRICE, CONF_PRICE_HYSTERESIS),
    ),
    "peak_shaving": ((CONF_GRID_IMPORT_ENTITY,), (), (CONF_PEAK_LIMIT_KW,)),
    "frequency": (
        (CONF_FREQUENCY_ENTITY,),
        (),
        (CONF_DROOP_BASE_KW, CONF_DROOP_GAIN, CONF_DROOP_DEADBAND_HZ, CONF_TRIP_HZ),
    ),
    "heat": (
        (CONF_TEMPERATURE_ENTITY,),
        (),
        (CONF_HEAT_SETPOINT_C, CONF_HEAT_BAND_K, CONF_HEAT_LIMIT_C),
    ),
}
_REQUIRED_NUMBERS = {CONF_PEAK_LIMIT_KW, CONF_DROOP_GAIN, CONF_HEAT_SETPOINT_C}
_PACING = (CONF_STRATEGY_BAND_W, CONF_STRATEGY_MIN_ON_S, CONF_STRATEGY_MIN_OFF_S)


def strategy_defaults(nominal_kw: float) -> dict[str, Any]:
    """Suggestions for a fleet of `nominal_kw`: a droop around half of it that sheds 30 % of
    that half at -200 mHz."""
    base = round(nominal_kw / 2, 1)
    return {
        CONF_STRATEGY_POLICY: STRATEGY_POLICIES[0],
        CONF_DROOP_BASE_KW: base,
        CONF_DROOP_GAIN: round(base * 0.3 / 0.18, 1) or 1.0,
        **{key: spec[0] for key, spec in _NUMBERS.items() if spec[0] is not None},
    }


def strategy_schema(strategy: str, options: Mapping[str, Any]) -> probatio.Schema:
    """The form of one strategy, filled with `options`."""
    required, optional, numbers = _FIELDS[strategy]
    schema: dict[Any, Any] = {
        probatio.Required(
            CONF_STRATEGY_POLICY, default=options.get(CONF_STRATEGY_POLICY, STRATEGY_POLICIES[0])
        ): SelectSelector(
            SelectSelectorConfig(options=list(STRATEGY_POLICIES), translation_key="strategy_policy")
        )
    }
    for key in required:
        schema[_field(key, options, required=True)] = EntitySelector(_ENTITIES[key])
    for key in optional:
        schema[_field(key, options, required=False)] = EntitySelector(_ENTITIES[key])
    for key in (*numbers, *_PACING):
        _default, low, high, unit = _NUMBERS[key]
        config = NumberSelectorConfig(
            mode=NumberSelectorMode.BOX, min=low, max=high, step="any", unit_of_measurement=unit
        )
        # A number with a default may be left empty (the default holds); the form suggests it.
        schema[_field(key, options, required=key in _REQUIRED_NUMBERS)] = NumberSelector(config)
    return probatio.Schema(schema)


def _field(key: str, options: Mapping[str, Any], *, required: bool) -> Any:
    value = options.get(key)
    suggestion = {"suggested_value": value} if value is not None and value != "" else None
    marker = probatio.Required if required else probatio.Optional
    return marker(key, description=suggestion)


def check_strategy(
    strategy: str, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The strategy's options to store, or the errors (field -> translation key)."""
    required, optional, numbers = _FIELDS[strategy]
    new: dict[str, Any] = {CONF_STRATEGY: strategy}
    errors: dict[str, str] = {}
    new[CONF_STRATEGY_POLICY] = user_input.get(CONF_STRATEGY_POLICY, STRATEGY_POLICIES[0])
    if new[CONF_STRATEGY_POLICY] not in STRATEGY_POLICIES:
        errors[CONF_STRATEGY_POLICY] = "invalid_choice"
    for key in required:
        if not user_input.get(key):
            errors[key] = "entity_required"
        else:
            new[key] = user_input[key]
    for key in optional:
        if user_input.get(key):
            new[key] = user_input[key]
    for key in (*numbers, *_PACING):
        value = user_input.get(key)
        _default, low, high, _unit = _NUMBERS[key]
        if value is None or value == "":
            if key in _REQUIRED_NUMBERS:
                errors[key] = "value_required"
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and low <= value <= high)
        ):
            errors[key] = "out_of_range"
        else:
            new[key] = float(value)
    if not errors:
        errors.update(_consistency(strategy, new))
    return new, errors


def _consistency(strategy: str, new: Mapping[str, Any]) -> dict[str, str]:
    """Settings that are each in range but make no sense together."""
    no_hashprice = not new.get(CONF_HASHPRICE_ENTITY) and new.get(CONF_HASHPRICE) is None
    if strategy == "price" and new.get(CONF_PRICE_THRESHOLD) is None and no_hashprice:
        return {CONF_PRICE_THRESHOLD: "price_needs_limit"}
    if strategy == "frequency":
        deadband = new.get(CONF_DROOP_DEADBAND_HZ, 0.02)
        if new.get(CONF_TRIP_HZ, 49.5) >= 50.0 - deadband:
            return {CONF_TRIP_HZ: "trip_inside_deadband"}
    if strategy == "heat":
        limit = new.get(CONF_HEAT_LIMIT_C)
        if limit is not None and limit <= new[CONF_HEAT_SETPOINT_C]:
            return {CONF_HEAT_LIMIT_C: "limit_below_setpoint"}
    return {}


def strategy_keys() -> set[str]:
    """Every option a strategy form may set (a new choice drops the old strategy's)."""
    keys = {CONF_STRATEGY_POLICY, *_NUMBERS}
    for required, optional, _numbers in _FIELDS.values():
        keys.update(required, optional)
    keys.discard(CONF_GRID_IMPORT_ENTITY)  # the grid-connection limit uses it too
    return keys
