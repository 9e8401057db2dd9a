"""Numbers: the fleet's target power and the target used by the manual override."""

from __future__ import annotations

from collections.abc import Hashable
from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import EntityCategory, UnitOfFrequency, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import FleetCoordinator
from .core.fleet import CommandSource, MinerOverride, MinerSnapshot, PowerMode
from .core.power_curve import S9_CURVE
from .entity import FleetEntity, MinerEntity
from .platform import async_add_miner_entities
from .runtime import NetStabilizationConfigEntry

PARALLEL_UPDATES = 0
SOURCE = CommandSource.ENTITY
# Slider resolution: about a frequency-mode step; the planner rounds to what the fleet can do.
STEP_KW = 0.01

TARGET_POWER = NumberEntityDescription(
    key="target_power",
    translation_key="target_power",
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    native_min_value=0.0,
    native_step=STEP_KW,
    mode=NumberMode.BOX,
)
# A setting (what the override will hold), not a reading: listed with the configuration, so that
# a value while the override is off does not read as a target in force.
OVERRIDE_TARGET = NumberEntityDescription(
    key="override_target",
    translation_key="override_target",
    entity_category=EntityCategory.CONFIG,
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    native_min_value=0.0,
    native_step=STEP_KW,
    mode=NumberMode.BOX,
)

FREQUENCY = NumberEntityDescription(
    key="frequency_setpoint",
    translation_key="frequency_setpoint",
    device_class=NumberDeviceClass.FREQUENCY,
    entity_category=EntityCategory.CONFIG,
    # Only useful in frequency mode; a thousand of them cost memory for nothing otherwise.
    entity_registry_enabled_default=False,
    native_unit_of_measurement=UnitOfFrequency.MEGAHERTZ,
    native_min_value=S9_CURVE.min_mhz,
    native_max_value=S9_CURVE.max_mhz,
    native_step=1.0,
    mode=NumberMode.BOX,
)

# Miners set by power (Braiins OS+ targets, LuxOS profiles, Vnish presets): the core checks
# the miner's own range and snaps to its presets or profiles.
POWER_TARGET_PIN = NumberEntityDescription(
    key="power_target_setpoint",
    translation_key="power_target_setpoint",
    device_class=NumberDeviceClass.POWER,
    entity_category=EntityCategory.CONFIG,
    entity_registry_enabled_default=False,
    native_unit_of_measurement=UnitOfPower.WATT,
    native_min_value=100.0,
    native_max_value=20000.0,
    native_step=10.0,
    mode=NumberMode.BOX,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Target and override target."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [TargetPower(coordinator, TARGET_POWER), OverrideTarget(coordinator, OVERRIDE_TARGET)]
    )
    async_add_miner_entities(
        entry,
        async_add_entities,
        lambda miner: _miner_numbers(coordinator, miner),
    )


def _miner_numbers(coordinator: FleetCoordinator, miner: MinerSnapshot) -> list[NumberEntity]:
    """The miner's pin in its own unit; a miner whose firmware can only be read takes none."""
    if not miner.controllable:
        return []
    if miner.setting_unit == "MHz":
        return [MinerFrequency(coordinator, miner, FREQUENCY)]
    return [MinerPowerTarget(coordinator, miner, POWER_TARGET_PIN)]


class _FleetPowerNumber(FleetEntity, RestoreNumber):
    """A power setting bounded by what the fleet can draw now."""

    @property
    @override
    def native_max_value(self) -> float:
        # A slider with no range is useless; show at least one step while nothing is rated.
        return max(self.snapshot.rated_power_kw, STEP_KW)

    @override
    def _state_key(self) -> Hashable:
        return (self.native_value, self.native_max_value)


class TargetPower(_FleetPowerNumber):
    """The target in force; setting it activates the fleet (0 deactivates)."""

    @property
    @override
    def native_value(self) -> float:
        return self.snapshot.target_kw or 0.0

    @override
    async def async_set_native_value(self, value: float) -> None:
        if self.snapshot.override_enabled:
            with self._acting():
                await self.coordinator.async_set_override(True, value, SOURCE)
        else:
            with self._acting():
                await self.coordinator.async_command(
                    lambda fleet: fleet.activate(value, source=SOURCE)
                )


class OverrideTarget(_FleetPowerNumber):
    """What the manual override runs the fleet at; remembered across restarts."""

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None:
            self.coordinator.override.restore(last.native_value)

    @property
    @override
    def native_value(self) -> float:
        snapshot = self.snapshot
        if snapshot.override_enabled and snapshot.override_target_kw is not None:
            return snapshot.override_target_kw
        if self.coordinator.override.kw is not None:
            return self.coordinator.override.kw
        # Until the operator picks one, the override would hold what is in force now.
        return snapshot.target_kw or 0.0

    @override
    async def async_set_native_value(self, value: float) -> None:
        with self._acting():
            await self.coordinator.async_set_override_target(value, SOURCE)
        self.async_write_ha_state()


class MinerFrequency(MinerEntity, NumberEntity):
    """Pin one miner's frequency (frequency mode): it runs forced on at that frequency.

    Switching the miner's "include in dispatch" back on hands it to the planner again.
    """

    @property
    @override
    def available(self) -> bool:
        return super().available and self.coordinator.snapshot.mode is PowerMode.FREQUENCY

    @property
    @override
    def native_value(self) -> float | None:
        miner = self.miner
        if miner is None:
            return None
        return miner.target_setting if miner.target_setting is not None else miner.frequency_mhz

    @override
    def _state_key(self) -> Hashable:
        return self.native_value

    @override
    async def async_set_native_value(self, value: float) -> None:
        mac = self.mac
        with self._acting():
            await self.coordinator.async_command(
                lambda fleet: fleet.set_miner_override(
                    mac, MinerOverride.ON.value, source=SOURCE, mhz=value
                )
            )


class MinerPowerTarget(MinerFrequency):
    """Pin the power target (or preset, or profile) of a miner set by power."""

    @property
    @override
    def native_value(self) -> float | None:
        miner = self.miner
        return miner.target_setting if miner is not None else None

    @override
    async def async_set_native_value(self, value: float) -> None:
        mac = self.mac
        with self._acting():
            await self.coordinator.async_command(
                lambda fleet: fleet.set_miner_override(
                    mac, MinerOverride.ON.value, source=SOURCE, power_w=value
                )
            )
