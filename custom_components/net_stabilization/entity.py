"""Base entities: the fleet device and one device per miner, with change-only state writes."""

from __future__ import annotations

from collections.abc import Hashable
from contextlib import AbstractContextManager
from typing import override

from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .audit import context_caller
from .const import DOMAIN
from .coordinator import FleetCoordinator
from .core.fleet import FleetSnapshot, MinerSnapshot, MinerState
from .core.fleet.command_log import command_caller

# Host names the firmware ships with; useless to tell miners apart.
_DEFAULT_HOSTNAMES = frozenset({"antminer", "antminer_s9", "bitmain", ""})


def fleet_device_info(entry_id: str) -> DeviceInfo:
    """The fleet's own device."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        name="Mining fleet",
        manufacturer="Net Stabilization",
        model="Controllable load",
        entry_type=dr.DeviceEntryType.SERVICE,
    )


def miner_name(miner: MinerSnapshot) -> str:
    """A name that tells miners apart: the host name unless it is the factory default."""
    hostname = (miner.hostname or "").strip()
    if hostname.lower() not in _DEFAULT_HOSTNAMES:
        return hostname
    return f"{miner.model} {miner.mac[-8:]}"


class NetStabilizationEntity(CoordinatorEntity[FleetCoordinator]):
    """Writes its state only when what it shows has changed (a fleet polls a lot of entities)."""

    _attr_has_entity_name = True
    _shown: Hashable = object()

    def _state_key(self) -> Hashable:
        """What the entity shows; a change triggers a state write."""
        return None

    def _acting(self) -> AbstractContextManager[None]:
        """Record who is behind the action this entity carries out."""
        return command_caller(context_caller(self._context))

    @override
    def _handle_coordinator_update(self) -> None:
        self._show((self.available, self._state_key()))

    def _show(self, key: tuple[bool, Hashable]) -> bool:
        """Write the state if `key` (availability, what is shown) changed; True if written."""
        if key == self._shown:
            return False
        self._shown = key
        self.async_write_ha_state()
        return True

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self._shown = (self.available, self._state_key())


class FleetEntity(NetStabilizationEntity):
    """An entity of the fleet device."""

    def __init__(self, coordinator: FleetCoordinator, description: EntityDescription) -> None:
        """Attach to the fleet device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_{description.key}"
        self._attr_device_info = fleet_device_info(coordinator.config_entry.entry_id)

    @property
    def snapshot(self) -> FleetSnapshot:
        """The fleet as of the last poll or command."""
        return self.coordinator.snapshot


def manufacturer_of(model: str) -> str | None:
    """The maker a model name tells (Antminer: Bitmain, Whatsminer: MicroBT)."""
    lowered = model.lower()
    if lowered.startswith("antminer"):
        return "Bitmain"
    if lowered.startswith(("whatsminer", "m3", "m5", "m6")):
        return "MicroBT"
    return None


class MinerEntity(NetStabilizationEntity):
    """An entity of one miner's device; the MAC is the identity, not the address."""

    # Whether the entity stays available while its miner is offline (e.g. its online sensor).
    available_when_offline = False

    def __init__(
        self, coordinator: FleetCoordinator, miner: MinerSnapshot, description: EntityDescription
    ) -> None:
        """Attach to the miner's device (created under the fleet device)."""
        super().__init__(coordinator)
        self.entity_description = description
        self.mac = miner.mac
        self._attr_unique_id = f"{miner.mac.replace(':', '').lower()}_{description.key}"
        device = DeviceInfo(
            identifiers={(DOMAIN, miner.mac)},
            connections={(CONNECTION_NETWORK_MAC, dr.format_mac(miner.mac))},
            name=miner_name(miner),
            manufacturer=manufacturer_of(miner.model),
            model=miner.model,
            sw_version=miner.firmware,
        )
        if coordinator.fleet_device_id is not None:
            device["via_device_id"] = coordinator.fleet_device_id
        self._attr_device_info = device

    @property
    def miner(self) -> MinerSnapshot | None:
        """This miner as of the last poll, None once it was removed from the fleet."""
        return self.coordinator.miners.get(self.mac)

    @property
    @override
    def available(self) -> bool:
        miner = self.miner
        if not super().available or miner is None:
            return False
        return self.available_when_offline or miner.state is not MinerState.OFFLINE
