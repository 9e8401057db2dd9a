"""Heat demand: miners as a heater for a room or a buffer tank.

Below the setpoint the fleet heats in proportion to how far the temperature is below it (all
it can at the bottom of the band); at the setpoint it stops. At the temperature limit it stops
at once, whatever the minimum on time says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import FleetView, SiteInputs
from .pacing import Want


@dataclass(frozen=True, slots=True)
class HeatSettings:
    """The setpoint, how wide the heating band is below it, and the limit."""

    setpoint_c: float
    band_k: float = 2.0  # full power this far below the setpoint
    limit_c: float | None = None  # never heat at or above this

    def __post_init__(self) -> None:
        if not math.isfinite(self.setpoint_c):
            raise ValueError("the setpoint must be a temperature")
        if not (math.isfinite(self.band_k) and self.band_k > 0):
            raise ValueError(f"the band must be above 0 K, not {self.band_k}")
        if self.limit_c is not None and not self.limit_c > self.setpoint_c:
            raise ValueError("the temperature limit must lie above the setpoint")


class HeatDemand:
    """Heats towards a setpoint, never above the limit."""

    name = "heat"
    reads_fleet_draw = False

    def __init__(self, settings: HeatSettings) -> None:
        self.settings = settings

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """A share of rated power by how far the temperature is below the setpoint."""
        t = inputs.temperature_c
        if t is None or not (-60.0 <= t <= 150.0):
            return None  # no reading, or not a temperature a heated space has
        s = self.settings
        if s.limit_c is not None and t >= s.limit_c:
            return Want(0.0, f"{t:.1f} °C at the limit of {s.limit_c:g} °C", urgent=True)
        share = min(1.0, max(0.0, (s.setpoint_c - t) / s.band_k))
        return Want(share * fleet.rated_w, f"{t:.1f} °C, setpoint {s.setpoint_c:g} °C")
