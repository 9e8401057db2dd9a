"""PV surplus: the fleet draws what the site would otherwise export.

The grid sensor sees the fleet's own draw, so what the fleet may draw without importing is its
present draw plus the export, less a reserve against the next cloud. With a feed-in limit, an
export above it is absorbed at once, minimum off time or not: the inverter would curtail it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import FleetView, SiteInputs
from .pacing import Want


@dataclass(frozen=True, slots=True)
class SurplusSettings:
    """How much export is left and what the grid connection may take."""

    reserve_w: float = 200.0  # export left unabsorbed, against importing on the next cloud
    feed_in_limit_w: float | None = None  # the most the site may export; None: no limit

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reserve_w) and self.reserve_w >= 0):
            raise ValueError(f"reserve must be 0 W or more, not {self.reserve_w}")
        limit = self.feed_in_limit_w
        if limit is not None and not (math.isfinite(limit) and limit >= 0):
            raise ValueError(f"a feed-in limit must be 0 W or more, not {limit}")


class SurplusFollower:
    """Absorbs the site's export."""

    name = "pv_surplus"
    reads_fleet_draw = True

    def __init__(self, settings: SurplusSettings | None = None) -> None:
        self.settings = settings or SurplusSettings()

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """The fleet's draw plus the export, less the reserve."""
        if inputs.grid_w is None:
            return None
        s = self.settings
        export_w = -inputs.grid_w
        wanted = fleet.fleet_w + export_w - s.reserve_w
        if s.feed_in_limit_w is not None and export_w > s.feed_in_limit_w:
            return Want(wanted, f"export {export_w / 1000:.2f} kW over the feed-in limit", True)
        return Want(wanted, f"surplus {max(0.0, export_w) / 1000:.2f} kW")
