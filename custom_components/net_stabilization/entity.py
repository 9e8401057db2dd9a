"""Base entities: the fleet device and one device per miner, with change-only state writes."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from contextlib import AbstractContextManager
from typing import Any, override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.button import ButtonEntity
from homeassistant.components.number import NumberEntity
from homeassistant.components.select import SelectEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import slugify

from .audit import context_caller
from .const import CONF_WEB_PORT, DEFAULT_WEB_PORT, DOMAIN
from .coordinator import FleetCoordinator
from .core.fleet import FleetSnapshot, MinerSnapshot, MinerState
from .core.fleet.command_log import command_caller
from .naming import miner_name

# The fleet device's object id: entity ids start with it in every language.
FLEET_OBJECT_ID = "mining_fleet"
# Entity ids are part of what users build on (dashboards, automations), so they do not follow
# the display language: each entity's object id ends in this English name, whatever the system
# language and however the display name is worded. Keyed by (platform, description key); the
# values are the ids the English names gave before, so existing installations keep theirs.
OBJECT_IDS: dict[tuple[str, str], str] = {
    ("binary_sensor", "available_for_dispatch"): "available_for_dispatch",
    ("binary_sensor", "safety_trip"): "safety_trip",
    ("binary_sensor", "online"): "online",
    ("button", "rescan"): "rescan_networks",
    ("button", "reboot"): "reboot",
    ("number", "target_power"): "target_power_setpoint",
    ("number", "override_target"): "override_target",
    ("number", "frequency_setpoint"): "frequency_setpoint",
    ("number", "power_target_setpoint"): "power_target_setpoint",
    ("select", "power_mode"): "power_mode",
    ("sensor", "site_limit"): "site_limit_in_force",
    ("sensor", "hot_reserve_power"): "hot_reserve_draw",
    ("sensor", "runtime"): "mining_time",
    ("sensor", "wake_failures"): "failed_wakes",
    ("switch", "override"): "manual_override",
}
_PLATFORMS: tuple[tuple[type[Entity], str], ...] = (
    (BinarySensorEntity, "binary_sensor"),
    (ButtonEntity, "button"),
    (NumberEntity, "number"),
    (SelectEntity, "select"),
    (SensorEntity, "sensor"),
    (SwitchEntity, "switch"),
)


def platform_of(entity: Entity) -> str:
    """The entity platform (domain) an entity of this integration belongs to."""
    for base, domain in _PLATFORMS:
        if isinstance(entity, base):
            return domain
    raise TypeError(f"{type(entity).__name__} is of no platform of this integration")


def stable_entity_id(entity: Entity, device_object_id: str, key: str) -> str:
    """The entity id to suggest: the device's object id, then the entity's English name."""
    domain = platform_of(entity)
    return f"{domain}.{device_object_id}_{OBJECT_IDS.get((domain, key), key)}"


@callback
def async_adopt_stable_ids(hass: HomeAssistant, entry_id: str) -> None:
    """Move fleet entities an earlier version registered under ids made from their translated
    names (`sensor.mining_fleet_wirkleistung`) to the language-independent ones. Only ids
    exactly as Home Assistant made them from the registered name move: one the user chose stays.
    Runs before the platforms, while the registry still holds the name the id was made from."""
    registry = er.async_get(hass)
    prefix = f"{entry_id}_"
    for entry in er.async_entries_for_config_entry(registry, entry_id):
        if not entry.unique_id.startswith(prefix) or not entry.original_name:
            continue  # a miner's entity (their ids come from their own names)
        key = entry.unique_id.removeprefix(prefix)
        wanted = f"{entry.domain}.{FLEET_OBJECT_ID}_{OBJECT_IDS.get((entry.domain, key), key)}"
        generated = f"{entry.domain}.{slugify(f'Mining fleet {entry.original_name}')}"
        made_from_name = entry.entity_id == generated != wanted
        if made_from_name and registry.async_get(wanted) is None:
            registry.async_update_entity(entry.entity_id, new_entity_id=wanted)


def fleet_device_info(entry_id: str, model: str | None = None) -> DeviceInfo:
    """The fleet's own device; its name is translated, `model` is given in the system language
    when the device is registered (entities leave it as it is)."""
    info = DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        translation_key="fleet",
        manufacturer="Net Stabilization",
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    if model is not None:
        info["model"] = model
    return info


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
        self.entity_id = stable_entity_id(self, FLEET_OBJECT_ID, description.key)

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


def web_url(host: str, entry_data: Mapping[str, Any]) -> str | None:
    """The miner's web interface (the device page's "Visit" link), None without an address."""
    if not host:
        return None
    port = entry_data.get(CONF_WEB_PORT, DEFAULT_WEB_PORT)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}/" if port == DEFAULT_WEB_PORT else f"http://{shown}:{port}/"


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
        name = miner_name(miner)
        device = DeviceInfo(
            identifiers={(DOMAIN, miner.mac)},
            connections={(CONNECTION_NETWORK_MAC, dr.format_mac(miner.mac))},
            name=name,
            manufacturer=manufacturer_of(miner.model),
            model=miner.model,
            sw_version=miner.firmware,
            configuration_url=web_url(miner.host, coordinator.config_entry.data),
        )
        if coordinator.fleet_device_id is not None:
            device["via_device_id"] = coordinator.fleet_device_id
        self._attr_device_info = device
        self.entity_id = stable_entity_id(self, slugify(name), description.key)

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
