"""Sensors: fleet power, energy, hashrate and counts; per-miner power, hashrate and temperatures."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    REVOLUTIONS_PER_MINUTE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import FleetCoordinator
from .core.fleet import (
    FleetSnapshot,
    FleetState,
    MinerSnapshot,
    MinerState,
    StrategyStatus,
    TargetSource,
)
from .entity import FleetEntity, MinerEntity
from .openadr_sensor import link_sensors
from .platform import async_add_miner_entities
from .runtime import NetStabilizationConfigEntry

PARALLEL_UPDATES = 0

UNIT_TERAHASH = "TH/s"
UNIT_JOULE_PER_TERAHASH = "J/TH"
REFRESH = timedelta(minutes=10)  # a figure inside its deadband is written at least this often


@dataclass(frozen=True, kw_only=True)
class FleetSensorDescription(SensorEntityDescription):
    """A fleet sensor and how to read it from a snapshot."""

    value_fn: Callable[[FleetSnapshot], float | int | str | datetime | None]
    exists_fn: Callable[[FleetSnapshot], bool] = lambda _s: True  # e.g. only with a strategy


@dataclass(frozen=True, kw_only=True)
class MinerSensorDescription(SensorEntityDescription):
    """A miner sensor and how to read it."""

    value_fn: Callable[[MinerSnapshot], float | int | str | None]
    exists_fn: Callable[[MinerSnapshot], bool] = lambda _m: True
    # Enabled by default for this miner (None: as `entity_registry_enabled_default` says).
    enabled_fn: Callable[[MinerSnapshot], bool] | None = None
    available_when_offline: bool = False
    # Report by exception: a new figure is written once it has moved this far from the one
    # shown, or once the shown one is older than `REFRESH`. A mining fleet's figures wobble
    # on every poll; without this, a thousand miners cost thousands of recorder rows per poll.
    deadband: float | None = None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# Shown while no target is in force yet miners mine on their own (e.g. right after setup,
# before the first command): "standby" would hide that the fleet draws power.
NOT_DISPATCHED = "not_dispatched"


def fleet_state_shown(snapshot: FleetSnapshot) -> str:
    """The fleet's state as the entity says it: the core's, except that an idle fleet whose
    miners mine without an order from it is "not dispatched", not "standby"."""
    if snapshot.state is FleetState.STANDBY and any(
        m.state is MinerState.MINING and not m.dispatched for m in snapshot.miners
    ):
        return NOT_DISPATCHED
    return snapshot.state.value


def read_only_power_kw(snapshot: FleetSnapshot) -> float:
    """What the miners whose firmware can only be read draw: counted in the active power, but
    not in the rated power (the fleet cannot dispatch them)."""
    return round(sum(m.consumption_w for m in snapshot.miners if not m.controllable) / 1000, 3)


def efficiency_j_per_th(miner: MinerSnapshot) -> float | None:
    """Joules per terahash (watts per TH/s) while the miner hashes; None otherwise."""
    if miner.stale or miner.power_w is None or not miner.hashrate_ths:
        return None
    if miner.state is not MinerState.MINING or miner.hashrate_ths <= 0:
        return None
    return round(miner.power_w / miner.hashrate_ths, 1)


def _reports_chip_temperature(miner: MinerSnapshot) -> bool:
    # LuxOS reports its boards' sensors, not the chips': a chip sensor would stay unknown.
    return miner.driver != "luxos" or miner.chip_temp_c is not None


def slowest_fan_rpm(miner: MinerSnapshot) -> int | None:
    """The slowest fan: a stopped or failing fan shows here first."""
    return min(miner.fan_rpm) if miner.fan_rpm else None


def _last_command_time(snapshot: FleetSnapshot) -> datetime | None:
    return snapshot.last_command.timestamp if snapshot.last_command else None


def _fleet_kw(
    key: str,
    value_fn: Callable[[FleetSnapshot], float | None],
    *,
    measured: bool = False,
    exists_fn: Callable[[FleetSnapshot], bool] = lambda _s: True,
) -> FleetSensorDescription:
    """A fleet power in kW to two decimals; a `measured` one keeps long-term statistics."""
    return FleetSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT if measured else None,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=value_fn,
        exists_fn=exists_fn,
    )


FLEET_SENSORS: tuple[FleetSensorDescription, ...] = (
    _fleet_kw("active_power", lambda s: s.active_power_kw, measured=True),
    _fleet_kw("rated_power", lambda s: s.rated_power_kw),
    _fleet_kw(
        "read_only_power",
        read_only_power_kw,
        measured=True,
        # Only a fleet with such miners has a gap between rated and active power to explain.
        exists_fn=lambda s: any(not m.controllable for m in s.miners),
    ),
    # No target in force is a target of nothing: standby.
    _fleet_kw("target_power", lambda s: s.target_kw or 0.0),
    FleetSensorDescription(
        key="hashrate",
        translation_key="hashrate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_TERAHASH,
        suggested_display_precision=1,
        value_fn=lambda s: s.hashrate_ths,
    ),
    FleetSensorDescription(
        key="target_source",
        translation_key="target_source",
        device_class=SensorDeviceClass.ENUM,
        options=[s.value for s in TargetSource],
        value_fn=lambda s: s.target_source,
    ),
    _fleet_kw("site_limit", lambda s: s.limit_kw),
    _fleet_kw(
        "strategy_target",
        lambda s: s.strategy_target_kw,
        exists_fn=lambda s: s.strategy is not None,
    ),
    FleetSensorDescription(
        key="strategy_status",
        translation_key="strategy_status",
        device_class=SensorDeviceClass.ENUM,
        options=[s.value for s in StrategyStatus],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: s.strategy_status,
        exists_fn=lambda s: s.strategy is not None,
    ),
    FleetSensorDescription(
        key="hot_reserve",
        translation_key="hot_reserve",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: s.hot_reserve_miners,
    ),
    FleetSensorDescription(
        key="hot_reserve_power",
        translation_key="hot_reserve_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda s: s.hot_reserve_w,
    ),
    FleetSensorDescription(
        key="miners_online",
        translation_key="miners_online",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.miners_online,
    ),
    FleetSensorDescription(
        key="miners_mining",
        translation_key="miners_mining",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.miners_mining,
    ),
    FleetSensorDescription(
        key="fleet_state",
        translation_key="fleet_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in FleetState] + [NOT_DISPATCHED],
        value_fn=fleet_state_shown,
    ),
    FleetSensorDescription(
        key="last_command",
        translation_key="last_command",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_command_time,
    ),
)

MINER_SENSORS: tuple[MinerSensorDescription, ...] = (
    MinerSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda m: int(round(m.consumption_w, -1)) if not m.stale else None,
        deadband=25.0,
    ),
    MinerSensorDescription(
        key="hashrate",
        translation_key="hashrate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_TERAHASH,
        suggested_display_precision=2,
        # A sleeping miner is known to hash nothing; an unread one is unknown.
        value_fn=lambda m: 0.0 if m.state is MinerState.SLEEPING else _round(m.hashrate_ths, 1),
        deadband=0.3,
    ),
    MinerSensorDescription(
        key="frequency",
        translation_key="frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        native_unit_of_measurement=UnitOfFrequency.MEGAHERTZ,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.frequency_mhz,
    ),
    MinerSensorDescription(
        key="chip_temperature",
        translation_key="chip_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=0,
        value_fn=lambda m: _round(m.chip_temp_c, 0),
        exists_fn=_reports_chip_temperature,
        deadband=2.0,
    ),
    MinerSensorDescription(
        key="board_temperature",
        translation_key="board_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=0,
        value_fn=lambda m: _round(m.board_temp_c, 0),
        # One temperature per miner is on by default (each enabled entity costs memory at scale):
        # the chips' where reported, else the boards'.
        enabled_fn=lambda m: not _reports_chip_temperature(m),
        deadband=2.0,
    ),
    MinerSensorDescription(
        key="efficiency",
        translation_key="efficiency",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_JOULE_PER_TERAHASH,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=efficiency_j_per_th,
        deadband=1.0,
    ),
    MinerSensorDescription(
        key="fan_speed",
        translation_key="fan_speed",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=REVOLUTIONS_PER_MINUTE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=slowest_fan_rpm,
        deadband=200.0,
    ),
    MinerSensorDescription(
        key="state",
        translation_key="miner_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in MinerState],
        value_fn=lambda m: m.state.value,
        available_when_offline=True,
    ),
    MinerSensorDescription(
        key="runtime",
        translation_key="runtime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement="s",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda m: round(m.runtime_s),
    ),
    MinerSensorDescription(
        key="wake_failures",
        translation_key="wake_failures",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda m: m.wake_failures,
        available_when_offline=True,
    ),
    MinerSensorDescription(
        key="last_error",
        translation_key="last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda m: (m.last_error or "")[:255] or None,
        available_when_offline=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Fleet sensors now; miner sensors for every miner, including ones found later."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [FleetSensor(coordinator, d) for d in FLEET_SENSORS if d.exists_fn(coordinator.snapshot)]
        + [FleetEnergySensor(coordinator)]
    )
    async_add_entities(link_sensors(coordinator, entry.runtime_data.openadr))
    async_add_miner_entities(
        entry,
        async_add_entities,
        lambda miner: [
            MinerSensor(coordinator, miner, d) for d in MINER_SENSORS if d.exists_fn(miner)
        ],
    )


class FleetSensor(FleetEntity, SensorEntity):
    """A number or state of the whole fleet."""

    entity_description: FleetSensorDescription

    @property
    @override
    def available(self) -> bool:
        # A power sensor cannot say "none": without a site cap in force it is unavailable
        # (a gap in its history), never "unknown", which reads as a failed reading.
        if self.entity_description.key == "site_limit" and self.snapshot.limit_kw is None:
            return False
        return super().available

    @property
    @override
    def native_value(self) -> float | int | str | datetime | None:
        return self.entity_description.value_fn(self.snapshot)

    @override
    def _state_key(self) -> Hashable:
        return self.native_value


class FleetEnergySensor(FleetEntity, RestoreSensor):
    """Energy the fleet used, integrated from active power; feeds the Energy dashboard."""

    def __init__(self, coordinator: FleetCoordinator) -> None:
        """Integrate from zero until a restored value arrives."""
        super().__init__(
            coordinator,
            SensorEntityDescription(
                key="energy",
                translation_key="energy",
                device_class=SensorDeviceClass.ENERGY,
                state_class=SensorStateClass.TOTAL_INCREASING,
                native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
                suggested_display_precision=2,
            ),
        )
        self._energy_kwh = 0.0
        self._last_kw: float | None = None
        self._last_at: float | None = None

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None:
            try:
                self._energy_kwh = float(last.native_value or 0.0)  # type: ignore[arg-type]
            except TypeError, ValueError:
                self._energy_kwh = 0.0
        self._integrate()

    @property
    @override
    def native_value(self) -> float:
        return round(self._energy_kwh, 3)

    @override
    def _state_key(self) -> Hashable:
        return self.native_value

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._integrate()
        super()._handle_coordinator_update()

    def _integrate(self) -> None:
        # Trapezoids between polls; a gap longer than a few minutes is not bridged with a guess.
        now = time.monotonic()
        kw = self.snapshot.active_power_kw if self.coordinator.last_update_success else None
        if self._last_kw is not None and kw is not None and self._last_at is not None:
            elapsed = now - self._last_at
            if 0 < elapsed <= 600:
                self._energy_kwh += (self._last_kw + kw) / 2 * elapsed / 3600
        self._last_kw, self._last_at = kw, now


class MinerSensor(MinerEntity, SensorEntity):
    """One number or state of one miner."""

    entity_description: MinerSensorDescription

    def __init__(
        self,
        coordinator: FleetCoordinator,
        miner: MinerSnapshot,
        description: MinerSensorDescription,
    ) -> None:
        """Set up from its description."""
        super().__init__(coordinator, miner, description)
        self.available_when_offline = description.available_when_offline
        if description.enabled_fn is not None:
            self._attr_entity_registry_enabled_default = description.enabled_fn(miner)
        self._shown_at = dt_util.utcnow()

    @property
    @override
    def native_value(self) -> float | int | str | None:
        miner = self.miner
        return None if miner is None else self.entity_description.value_fn(miner)

    @override
    def _state_key(self) -> Hashable:
        return self.native_value

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        # Availability and value are worked out once per update: a thousand miners' sensors
        # run through here on every poll.
        key = (self.available, self.native_value)
        band = self.entity_description.deadband
        if band is not None and self._within_deadband(key, band):
            return
        if self._show(key):
            self._shown_at = dt_util.utcnow()

    def _within_deadband(self, key: tuple[bool, Hashable], band: float) -> bool:
        """Whether the new figure is close enough to the one shown to leave it standing."""
        available, value = key
        shown_available, shown = self._shown if isinstance(self._shown, tuple) else (None, None)
        if available != shown_available or value is None or shown is None:
            return False
        if not isinstance(value, int | float) or not isinstance(shown, int | float):
            return False
        if abs(value - shown) >= band:
            return False
        return value == shown or dt_util.utcnow() - self._shown_at < REFRESH
