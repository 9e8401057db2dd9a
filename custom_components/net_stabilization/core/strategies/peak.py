"""Peak shaving: mine as much as the site's import limit leaves, shedding the fleet first.

The fleet may draw its present draw plus what the connection has left under the limit (less a
margin). Once the site imports more than the limit, the fleet sheds at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import FleetView, SiteInputs
from .pacing import Want


@dataclass(frozen=True, slots=True)
class PeakSettings:
    """The import the site must stay under."""

    import_limit_w: float
    margin_w: float = 200.0  # kept free under the limit, against the next load switching on

    def __post_init__(self) -> None:
        for name in ("import_limit_w", "margin_w"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be 0 W or more, not {value}")


class PeakShaving:
    """Fills the headroom under an import limit."""

    name = "peak_shaving"
    reads_fleet_draw = True

    def __init__(self, settings: PeakSettings) -> None:
        self.settings = settings

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """The headroom under the limit, taken at once when the site is over it."""
        if inputs.grid_w is None:
            return None
        s = self.settings
        headroom = s.import_limit_w - s.margin_w - inputs.grid_w
        over = inputs.grid_w > s.import_limit_w
        reason = f"import {inputs.grid_w / 1000:.2f} kW, limit {s.import_limit_w / 1000:.2f} kW"
        return Want(fleet.fleet_w + headroom, reason, urgent=over)
