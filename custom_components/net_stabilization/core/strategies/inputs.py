"""What a strategy decides from: the site's readings and the fleet's own state.

Every value is in one unit (W, Hz, °C, currency per kWh, currency per TH/s and day); the Home
Assistant layer converts what its entities report. None: the reading is missing, stale or makes
no sense, and a rule that needs it holds the fleet where it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class SiteInputs:
    """The site's sensors now."""

    grid_w: float | None = None  # at the grid connection: import positive, export negative
    price_per_kwh: float | None = None  # the energy price now
    hashprice_per_th_day: float | None = None  # what 1 TH/s earns in a day
    frequency_hz: float | None = None  # the grid's frequency
    temperature_c: float | None = None  # the heated room or buffer tank

    def __post_init__(self) -> None:
        # Non-finite numbers are as good as none: no rule may do arithmetic on them.
        for name in self.__slots__:
            object.__setattr__(self, name, _finite(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet as a rule sees it."""

    fleet_w: float  # what the miners draw now
    rated_w: float  # the most the fleet may draw (what the site's limits leave)
    joules_per_th: float | None = None  # measured efficiency; None before any miner mined
