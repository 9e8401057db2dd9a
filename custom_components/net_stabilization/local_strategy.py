"""The local strategy from the options: which rule, its inputs from entities, and its pacing.

Inputs are read from the state machine when the strategy decides (every poll) and, when one of
them changes, at once: a frequency excursion or a tank at its temperature limit is answered
within moments, not at the next poll. An input that is unavailable, unknown, in a unit this does
not know or (grid power, frequency) not refreshed for two minutes counts as missing: the rule
then wakes nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from .const import (
    CONF_DROOP_BASE_KW,
    CONF_DROOP_DEADBAND_HZ,
    CONF_DROOP_GAIN,
    CONF_EMS_NETWORKS,
    CONF_EMS_USER,
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
    LOGGER,
)
from .coordinator import FleetCoordinator
from .core.fleet import FleetController, StrategyPolicy, StrategySeat
from .core.strategies import (
    FrequencyDroop,
    FrequencySettings,
    HeatDemand,
    HeatSettings,
    LocalStrategy,
    Pacing,
    PeakSettings,
    PeakShaving,
    PriceFollower,
    PriceSettings,
    SiteInputs,
    StrategyRule,
    SurplusFollower,
    SurplusSettings,
    units,
)

# Grid power and frequency are fast signals: one not refreshed for this long is not trusted.
# Prices and temperatures change slowly and are often only written when they change.
FAST_INPUT_MAX_AGE_S = 120.0

type Converter = Callable[[str, str | None], float | None]

# input → (option holding its entity, converter, whether it must be fresh)
_INPUTS: dict[str, tuple[str, Converter, bool]] = {
    "grid_w": (CONF_GRID_IMPORT_ENTITY, units.power_w, True),
    "price_per_kwh": (CONF_PRICE_ENTITY, units.price_per_kwh, False),
    "hashprice_per_th_day": (CONF_HASHPRICE_ENTITY, units.hashprice_per_th_day, False),
    "frequency_hz": (CONF_FREQUENCY_ENTITY, units.frequency_hz, True),
    "temperature_c": (CONF_TEMPERATURE_ENTITY, units.temperature_c, False),
}
# What each strategy reads.
NEEDS: dict[str, tuple[str, ...]] = {
    "pv_surplus": ("grid_w",),
    "peak_shaving": ("grid_w",),
    "price": ("price_per_kwh", "hashprice_per_th_day"),
    "frequency": ("frequency_hz",),
    "heat": ("temperature_c",),
}


def _number(options: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    value = options.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def build_rule(options: Mapping[str, Any]) -> StrategyRule | None:
    """The configured rule; None when none is configured. Raises ValueError on settings that
    make no sense (the options flow refuses them first)."""
    name = options.get(CONF_STRATEGY)

    def n(key: str, default: float = 0.0) -> float:
        return _number(options, key, default) or 0.0

    if name == "pv_surplus":
        feed_in = n(CONF_FEED_IN_LIMIT_KW)
        return SurplusFollower(
            SurplusSettings(
                reserve_w=n(CONF_PV_RESERVE_W, 200.0),
                feed_in_limit_w=feed_in * 1000.0 if feed_in > 0 else None,
            )
        )
    if name == "price":
        return PriceFollower(
            PriceSettings(
                threshold_per_kwh=_number(options, CONF_PRICE_THRESHOLD),
                hashprice_per_th_day=_number(options, CONF_HASHPRICE),
                hysteresis_per_kwh=n(CONF_PRICE_HYSTERESIS),
            )
        )
    if name == "peak_shaving":
        return PeakShaving(PeakSettings(import_limit_w=n(CONF_PEAK_LIMIT_KW) * 1000.0))
    if name == "frequency":
        base_kw = _number(options, CONF_DROOP_BASE_KW)
        return FrequencyDroop(
            FrequencySettings(
                base_w=None if base_kw is None else base_kw * 1000.0,
                gain_w_per_hz=n(CONF_DROOP_GAIN) * 1000.0,
                deadband_hz=n(CONF_DROOP_DEADBAND_HZ, 0.02),
                trip_hz=n(CONF_TRIP_HZ, 49.5),
            )
        )
    if name == "heat":
        limit = n(CONF_HEAT_LIMIT_C)
        return HeatDemand(
            HeatSettings(
                setpoint_c=n(CONF_HEAT_SETPOINT_C, 21.0),
                band_k=n(CONF_HEAT_BAND_K, 2.0),
                limit_c=limit or None,
            )
        )
    return None


def ems_configured(options: Mapping[str, Any]) -> bool:
    """Whether an EMS has been given access (networks or a user)."""
    return bool(options.get(CONF_EMS_NETWORKS)) or bool(options.get(CONF_EMS_USER))


class StrategyInputs:
    """Reads the strategy's inputs from the state machine, in the rules' units."""

    def __init__(self, hass: HomeAssistant, options: Mapping[str, Any]) -> None:
        """Read the entities the options name for the configured strategy."""
        self._hass = hass
        needed = NEEDS.get(str(options.get(CONF_STRATEGY)), ())
        self.entities: dict[str, str] = {
            field: str(options[_INPUTS[field][0]])
            for field in needed
            if options.get(_INPUTS[field][0])
        }
        # A price that stands in for the price entity while it has one (an OpenADR PRICE event).
        self.grid_price: Callable[[], float | None] | None = None

    def read(self, field: str) -> float | None:
        """One input now; None when its entity gives nothing usable."""
        if field == "price_per_kwh" and self.grid_price is not None:
            price = self.grid_price()
            if price is not None:
                return price
        entity_id = self.entities.get(field)
        if entity_id is None:
            return None
        _option, convert, fresh = _INPUTS[field]
        state = self._hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        if fresh and time.time() - state.last_reported.timestamp() > FAST_INPUT_MAX_AGE_S:
            return None
        unit = state.attributes.get("unit_of_measurement")
        return convert(state.state, unit if isinstance(unit, str) else None)

    def __call__(self) -> SiteInputs:
        """Every input now."""
        return SiteInputs(**{field: self.read(field) for field in self.entities})


def build_seat(hass: HomeAssistant, options: Mapping[str, Any]) -> StrategySeat | None:
    """The strategy the options configure, seated for the controller; None without one."""
    try:
        rule = build_rule(options)
    except ValueError as err:
        LOGGER.error("The local strategy's settings make no sense (%s): it stays off", err)
        return None
    if rule is None:
        return None
    pacing = Pacing(
        band_w=_number(options, CONF_STRATEGY_BAND_W, 500.0) or 0.0,
        min_on_s=_number(options, CONF_STRATEGY_MIN_ON_S, 600.0) or 0.0,
        min_off_s=_number(options, CONF_STRATEGY_MIN_OFF_S, 600.0) or 0.0,
    )
    try:
        policy = StrategyPolicy(options.get(CONF_STRATEGY_POLICY, StrategyPolicy.WHILE_EMS_IDLE))
    except ValueError:
        policy = StrategyPolicy.WHILE_EMS_IDLE
    return StrategySeat(
        LocalStrategy(rule, pacing),
        StrategyInputs(hass, options),
        policy=policy,
        ems_configured=ems_configured(options),
        started=False,  # once the commanded state is restored
    )


def watch_inputs(
    hass: HomeAssistant, controller: FleetController, coordinator: FleetCoordinator
) -> Callable[[], None]:
    """Decide at once when an input changes (one decision at a time; changes meanwhile are
    taken by the next). Returns what stops watching."""
    seat = controller.strategy_seat
    reader = seat.read_inputs if seat is not None else None
    entities = list(reader.entities.values()) if isinstance(reader, StrategyInputs) else []
    if not entities:
        return lambda: None
    busy = False
    again = False

    async def decide() -> None:
        nonlocal busy, again
        try:
            while True:
                again = False
                await controller.follow_strategy_now()
                coordinator.publish()
                if not again:
                    return
        finally:
            busy = False

    @callback
    def changed(_event: Event[EventStateChangedData]) -> None:
        nonlocal busy, again
        if busy:
            again = True
            return
        busy = True
        hass.async_create_task(decide(), "local strategy input")

    return async_track_state_change_event(hass, entities, changed)
