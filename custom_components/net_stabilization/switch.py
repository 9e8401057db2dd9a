"""Switches: EMS dispatch and manual override for the fleet; mining and dispatch per miner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import FleetCoordinator
from .core.fleet import (
    CommandResult,
    CommandSource,
    FleetSnapshot,
    MinerOverride,
    MinerSnapshot,
    MinerState,
)
from .entity import FleetEntity, MinerEntity
from .platform import async_add_miner_entities
from .runtime import NetStabilizationConfigEntry

PARALLEL_UPDATES = 0
SOURCE = CommandSource.ENTITY


@dataclass(frozen=True, kw_only=True)
class FleetSwitchDescription(SwitchEntityDescription):
    """A fleet switch: its state and what turning it on or off does."""

    is_on_fn: Callable[[FleetSnapshot], bool]
    set_fn: Callable[[FleetCoordinator, bool], Awaitable[CommandResult]]
    exists_fn: Callable[[FleetSnapshot], bool] = lambda _s: True  # e.g. only with a strategy


@dataclass(frozen=True, kw_only=True)
class MinerSwitchDescription(SwitchEntityDescription):
    """A miner switch: its state and what turning it on or off does."""

    is_on_fn: Callable[[MinerSnapshot], bool]
    set_fn: Callable[[FleetCoordinator, str, bool], Awaitable[CommandResult]]
    exists_fn: Callable[[MinerSnapshot], bool] = lambda _m: True
    available_when_offline: bool = False


def _mining_on(miner: MinerSnapshot) -> bool:
    # The operator's order shows at once; otherwise what the fleet has the miner doing.
    if miner.override is not None:
        return miner.override is MinerOverride.ON
    return miner.state in (MinerState.MINING, MinerState.WAKING, MinerState.CHANGING)


async def _set_dispatch(coordinator: FleetCoordinator, enabled: bool) -> CommandResult:
    return await coordinator.async_command(
        lambda fleet: fleet.set_dispatch_enabled(enabled, source=SOURCE)
    )


async def _set_override(coordinator: FleetCoordinator, enabled: bool) -> CommandResult:
    return await coordinator.async_set_override(enabled, None, SOURCE)


async def _set_strategy(coordinator: FleetCoordinator, enabled: bool) -> CommandResult:
    return await coordinator.async_command(
        lambda fleet: fleet.set_strategy_enabled(enabled, source=SOURCE)
    )


async def _set_mining(coordinator: FleetCoordinator, mac: str, on: bool) -> CommandResult:
    wanted = MinerOverride.ON if on else MinerOverride.OFF
    return await coordinator.async_command(
        lambda fleet: fleet.set_miner_override(mac, wanted.value, source=SOURCE)
    )


async def _set_included(coordinator: FleetCoordinator, mac: str, on: bool) -> CommandResult:
    if on:
        # Back to the fleet: drop a forced on/off as well as the exclusion.
        miner = coordinator.miners.get(mac)
        if miner is not None and miner.override is not None:
            await coordinator.async_command(
                lambda fleet: fleet.set_miner_override(mac, None, source=SOURCE)
            )
    return await coordinator.async_command(
        lambda fleet: fleet.set_excluded(mac, not on, source=SOURCE)
    )


FLEET_SWITCHES: tuple[FleetSwitchDescription, ...] = (
    FleetSwitchDescription(
        key="ems_dispatch",
        translation_key="ems_dispatch",
        entity_category=EntityCategory.CONFIG,
        is_on_fn=lambda s: s.dispatch_enabled,
        set_fn=_set_dispatch,
    ),
    FleetSwitchDescription(
        key="override",
        translation_key="override",
        is_on_fn=lambda s: s.override_enabled,
        set_fn=_set_override,
    ),
    FleetSwitchDescription(
        key="local_strategy",
        translation_key="local_strategy",
        is_on_fn=lambda s: s.strategy_status != "off",
        set_fn=_set_strategy,
        exists_fn=lambda s: s.strategy is not None,
    ),
)

MINER_SWITCHES: tuple[MinerSwitchDescription, ...] = (
    MinerSwitchDescription(
        key="mining",
        translation_key="mining",
        is_on_fn=_mining_on,
        set_fn=_set_mining,
        # A miner whose firmware can only be read cannot be switched: no switch that always fails.
        exists_fn=lambda m: m.controllable,
    ),
    MinerSwitchDescription(
        key="include_in_dispatch",
        translation_key="include_in_dispatch",
        entity_category=EntityCategory.CONFIG,
        # At fleet scale only the essentials are on by default (the services do the same).
        entity_registry_enabled_default=False,
        is_on_fn=lambda m: not m.excluded and m.override is None,
        set_fn=_set_included,
        available_when_offline=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Fleet switches and, for every miner, its mining and dispatch switches."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [FleetSwitch(coordinator, d) for d in FLEET_SWITCHES if d.exists_fn(coordinator.snapshot)]
    )
    async_add_miner_entities(
        entry,
        async_add_entities,
        lambda miner: [
            MinerSwitch(coordinator, miner, d) for d in MINER_SWITCHES if d.exists_fn(miner)
        ],
    )


class FleetSwitch(FleetEntity, SwitchEntity):
    """A switch of the fleet."""

    entity_description: FleetSwitchDescription

    @property
    @override
    def is_on(self) -> bool:
        return self.entity_description.is_on_fn(self.snapshot)

    @override
    def _state_key(self) -> Hashable:
        return self.is_on

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._set(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._set(False)

    async def _set(self, on: bool) -> None:
        with self._acting():
            await self.entity_description.set_fn(self.coordinator, on)


class MinerSwitch(MinerEntity, SwitchEntity):
    """A switch of one miner."""

    entity_description: MinerSwitchDescription

    def __init__(
        self,
        coordinator: FleetCoordinator,
        miner: MinerSnapshot,
        description: MinerSwitchDescription,
    ) -> None:
        """Set up from its description."""
        super().__init__(coordinator, miner, description)
        self.available_when_offline = description.available_when_offline

    @property
    @override
    def is_on(self) -> bool | None:
        miner = self.miner
        return None if miner is None else self.entity_description.is_on_fn(miner)

    @override
    def _state_key(self) -> Hashable:
        return self.is_on

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._set(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._set(False)

    async def _set(self, on: bool) -> None:
        with self._acting():
            await self.entity_description.set_fn(self.coordinator, self.mac, on)
