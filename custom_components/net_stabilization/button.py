"""Buttons: rescan the networks now; reboot one miner."""

from __future__ import annotations

from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .core.fleet import CommandSource
from .entity import FleetEntity, MinerEntity
from .platform import async_add_miner_entities
from .runtime import NetStabilizationConfigEntry

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
    coordinator = entry.runtime_data.coordinator
    async_add_entities([RescanButton(coordinator, RESCAN)])
    async_add_miner_entities(
        entry, async_add_entities, lambda miner: [RebootButton(coordinator, miner, REBOOT)]
    )


class RescanButton(FleetEntity, ButtonEntity):
    """Scan the configured networks for new or moved miners now."""

    @override
    async def async_press(self) -> None:
        runtime = self.coordinator.config_entry.runtime_data
        try:
            await runtime.async_rescan()
        except Exception as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="rescan_failed",
                translation_placeholders={"error": str(err)},
            ) from err


class RebootButton(MinerEntity, ButtonEntity):
    """Reboot the miner (it stays down for a minute or more)."""

    available_when_offline = True

    @override
    async def async_press(self) -> None:
        mac = self.mac
        with self._acting():
            await self.coordinator.async_command(
                lambda fleet: fleet.reboot_miner(mac, source=CommandSource.ENTITY)
            )
