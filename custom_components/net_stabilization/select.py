"""The fleet's power mode."""

from __future__ import annotations

from collections.abc import Hashable
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.fleet import CommandSource, PowerMode
from .entity import FleetEntity
from .runtime import NetStabilizationConfigEntry

PARALLEL_UPDATES = 0

POWER_MODE = SelectEntityDescription(
    key="power_mode",
    translation_key="power_mode",
    entity_category=EntityCategory.CONFIG,
    options=[mode.value for mode in PowerMode],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The power mode select."""
    async_add_entities([PowerModeSelect(entry.runtime_data.coordinator, POWER_MODE)])


class PowerModeSelect(FleetEntity, SelectEntity):
    """on_off switches whole miners; frequency also tunes each miner's chip frequency."""

    @property
    @override
    def current_option(self) -> str:
        return self.snapshot.mode.value

    @override
    def _state_key(self) -> Hashable:
        return self.current_option

    @override
    async def async_select_option(self, option: str) -> None:
        with self._acting():
            await self.coordinator.async_command(
                lambda fleet: fleet.set_mode(option, source=CommandSource.ENTITY)
            )
