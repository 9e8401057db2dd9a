"""Adding miner entities for every miner, including miners that later scans find."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_MINER_ENTITIES
from .core.fleet import MinerSnapshot
from .runtime import NetStabilizationConfigEntry


def async_add_miner_entities(
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[MinerSnapshot], Iterable[Entity]],
) -> None:
    """Create the platform's entities for each miner once, now and whenever a new one appears
    (unless the fleet runs without per-miner entities)."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    if not runtime.options.get(CONF_MINER_ENTITIES, True):
        return
    known: set[str] = set()

    @callback
    def add_new() -> None:
        if len(coordinator.miners) == len(known) and known.issuperset(coordinator.miners):
            return
        new = [m for mac, m in coordinator.miners.items() if mac not in known]
        known.update(m.mac for m in new)
        # Forgotten miners may come back with a later scan.
        known.intersection_update(coordinator.miners)
        if new:
            async_add_entities([entity for miner in new for entity in factory(miner)])

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
