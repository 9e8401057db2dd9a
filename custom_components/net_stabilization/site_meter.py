"""The site power meter: a Home Assistant power sensor the control loop can trust."""

from __future__ import annotations

import time

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant

# A reading older than this is stale; the loop then falls back to the miners' own figures.
METER_MAX_AGE_S = 120.0
_KW_PER_UNIT: dict[str, float] = {
    UnitOfPower.WATT: 0.001,
    UnitOfPower.KILO_WATT: 1.0,
    UnitOfPower.MEGA_WATT: 1000.0,
}


class SiteMeter:
    """Reads one power sensor in kW; None when it has no fresh numeric value."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Read `entity_id` from the state machine."""
        self._hass = hass
        self.entity_id = entity_id

    def __call__(self) -> float | None:
        """The site's consumption in kW now, or None."""
        state = self._hass.states.get(self.entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        if time.time() - state.last_reported.timestamp() > METER_MAX_AGE_S:
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = str(state.attributes.get("unit_of_measurement", UnitOfPower.WATT))
        return value * _KW_PER_UNIT.get(unit, 0.001)
