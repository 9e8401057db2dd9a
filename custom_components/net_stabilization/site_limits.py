"""The site's limits from Home Assistant entities: a safety trip and a grid operator's cap.

A safety-trip entity (a binary sensor, switch or input boolean) that turns off holds the fleet
at 0 W at once. A limit entity gives a cap in W, kW or MW, or in % of the fleet's nominal rated
power. A grid-connection limit with the site's import sensor caps the fleet at what the
connection has left beside the rest of the site (the import less the fleet's own draw); the
lower of the two caps holds. Each change reaches the fleet as it happens, not at the next poll.
An entity that is unavailable, unknown or makes no sense keeps the last value that did (safe:
a trip stays tripped, a cap stays in force).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from homeassistant.const import (
    PERCENTAGE,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event

from .const import LOGGER
from .coordinator import FleetCoordinator
from .core.fleet import FleetController, SiteLimits

_W_PER_UNIT: dict[str, float] = {
    UnitOfPower.WATT: 1.0,
    UnitOfPower.KILO_WATT: 1000.0,
    UnitOfPower.MEGA_WATT: 1_000_000.0,
}
_NOT_A_VALUE = (STATE_UNAVAILABLE, STATE_UNKNOWN)


def cap_w(state: State | None, nominal_kw: float, *, signed: bool = False) -> float | None:
    """The power a limit (or, `signed`, an import: negative is export) entity's state gives,
    in W; None when it gives none that makes sense."""
    if state is None or state.state in _NOT_A_VALUE:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    if not math.isfinite(value) or (value < 0 and not signed):
        return None
    unit = str(state.attributes.get("unit_of_measurement", ""))
    if unit == PERCENTAGE:
        return min(value, 100.0) / 100.0 * nominal_kw * 1000.0
    factor = _W_PER_UNIT.get(unit)
    return None if factor is None else value * factor


def tripped(state: State | None) -> bool | None:
    """Whether a safety-trip entity holds the fleet off; None when it does not say."""
    if state is None or state.state not in (STATE_ON, STATE_OFF):
        return None
    return state.state == STATE_OFF


class SiteLimitsWatcher:
    """Follows the limit entities and hands the fleet each change."""

    def __init__(
        self,
        hass: HomeAssistant,
        controller: FleetController,
        coordinator: FleetCoordinator,
        *,
        trip_entity: str | None,
        limit_entity: str | None,
        grid_entity: str | None = None,
        grid_limit_kw: float | None = None,
    ) -> None:
        """Watch the configured entities (any may be None)."""
        self._hass = hass
        self._controller = controller
        self._coordinator = coordinator
        self._trip_entity = trip_entity
        self._limit_entity = limit_entity
        self._grid_entity = grid_entity if grid_limit_kw else None
        self._grid_limit_w = grid_limit_kw * 1000.0 if grid_limit_kw else None
        self._tripped = False
        self._cap_w: float | None = None
        self._grid_cap_w: float | None = None

    def current(self) -> SiteLimits:
        """The limits the entities say now; what they cannot say stays as it was."""
        if self._trip_entity is not None:
            said = tripped(self._hass.states.get(self._trip_entity))
            if said is None:
                LOGGER.debug("%s says nothing usable: trip kept", self._trip_entity)
            else:
                self._tripped = said
        if self._limit_entity is not None:
            nominal = self._controller.nominal_rated_kw
            said_w = cap_w(self._hass.states.get(self._limit_entity), nominal)
            if said_w is None:
                LOGGER.debug("%s says no usable limit: last one kept", self._limit_entity)
            else:
                self._cap_w = said_w
        if self._grid_entity is not None and self._grid_limit_w is not None:
            import_w = cap_w(self._hass.states.get(self._grid_entity), 0.0, signed=True)
            if import_w is not None:
                # The miners' own draw (active power may be a site meter's figure).
                fleet_w = sum(m.consumption_w for m in self._controller.snapshot.miners)
                other_w = import_w - fleet_w  # the rest of the site
                self._grid_cap_w = max(0.0, self._grid_limit_w - other_w)
        caps = [c for c in (self._cap_w, self._grid_cap_w) if c is not None]
        return SiteLimits(tripped=self._tripped, cap_w=min(caps) if caps else None)

    async def async_apply(self) -> None:
        """Hand the fleet the limits in force now."""
        result = await self._controller.set_limits(self.current())
        if result is not None:
            LOGGER.info("Site limits: %s", result.message)
            self._coordinator.publish()

    def start(self) -> Callable[[], None]:
        """Follow the entities; returns what stops following them."""
        watched = [
            e for e in (self._trip_entity, self._limit_entity, self._grid_entity) if e is not None
        ]
        if not watched:
            return lambda: None

        @callback
        def changed(_event: Event[EventStateChangedData]) -> None:
            self._hass.async_create_task(self.async_apply(), "site limits")

        return async_track_state_change_event(self._hass, watched, changed)
