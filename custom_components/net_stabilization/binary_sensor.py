"""Binary sensors: whether the fleet takes EMS commands, and whether each miner answers."""

from __future__ import annotations

from collections.abc import Hashable
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.fleet import MinerState
from .entity import FleetEntity, MinerEntity
from .platform import async_add_miner_entities
from .runtime import NetStabilizationConfigEntry

PARALLEL_UPDATES = 0

AVAILABLE_FOR_DISPATCH = BinarySensorEntityDescription(
    key="available_for_dispatch", translation_key="available_for_dispatch"
)
SAFETY_TRIP = BinarySensorEntityDescription(
    key="safety_trip", translation_key="safety_trip", device_class=BinarySensorDeviceClass.SAFETY
)
ONLINE = BinarySensorEntityDescription(
    key="online",
    translation_key="online",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    # The miner's state sensor shows "offline" too; this one is for automations that want it.
    entity_registry_enabled_default=False,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The fleet's availability and each miner's connectivity."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [
            AvailableForDispatch(coordinator, AVAILABLE_FOR_DISPATCH),
            SafetyTrip(coordinator, SAFETY_TRIP),
        ]
    )
    async_add_miner_entities(
        entry, async_add_entities, lambda miner: [MinerOnline(coordinator, miner, ONLINE)]
    )


class AvailableForDispatch(FleetEntity, BinarySensorEntity):
    """The EMS contract's isAvailableForDispatch."""

    @property
    @override
    def is_on(self) -> bool:
        return self.snapshot.available

    @override
    def _state_key(self) -> Hashable:
        return self.is_on


class SafetyTrip(FleetEntity, BinarySensorEntity):
    """On while the site's safety trip holds the fleet off (a safety problem: on is unsafe)."""

    @property
    @override
    def is_on(self) -> bool:
        return self.snapshot.tripped

    @override
    def _state_key(self) -> Hashable:
        return self.is_on


class MinerOnline(MinerEntity, BinarySensorEntity):
    """Whether the miner answers (it may be asleep and still online)."""

    available_when_offline = True

    @property
    @override
    def is_on(self) -> bool | None:
        miner = self.miner
        return None if miner is None else miner.state is not MinerState.OFFLINE

    @override
    def _state_key(self) -> Hashable:
        return self.is_on
