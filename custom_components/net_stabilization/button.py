"""Buttons: rescan the networks now; reboot one miner."""

from __future__ import annotations

from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actions import raise_for_result
from .coordinator import NetStabilizationConfigEntry
from .entity import FleetEntity, MinerEntity
from .platform import async_add_miner_entities

PARALLEL_UPDATES = 0

RESCAN = ButtonEntityDescription(
    key="rescan", translation_key="rescan", entity_category=EntityCategory.CONFIG
)
REBOOT = ButtonEntityDescription(
    key="reboot",
    translation_key="reboot",
    device_class=ButtonDeviceClass.RESTART,
    entity_category=EntityCategory.CONFIG,
    entity_registry_enabled_default=False,  # the reboot_miner action does the same
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The fleet's rescan button and each miner's reboot button."""
    coordinator = entry.runtime_data
    async_add_entities([RescanButton(coordinator, RESCAN)])
    async_add_miner_entities(
        entry, async_add_entities, lambda miner: [RebootButton(coordinator, miner, REBOOT)]
    )


class RescanButton(FleetEntity, ButtonEntity):
    """Scan the configured networks for new or moved miners now."""

    @override
    async def async_press(self) -> None:
        await self.coordinator.async_rescan()
        self.coordinator.publish()


class RebootButton(MinerEntity, ButtonEntity):
    """Reboot the miner (it stays down for a minute or more)."""

    available_when_offline = True

    @override
    async def async_press(self) -> None:
        raise_for_result(
            await self.coordinator.controller.reboot_miner(self.mac, source="home_assistant")
        )
        self.coordinator.publish()
