"""Price: mine while energy is cheap enough.

Cheap enough is a fixed threshold, or the break-even price: what the fleet earns per kWh it
draws, from the hashprice (earnings of 1 TH/s in a day) and the fleet's measured efficiency.
A hysteresis below the threshold keeps a price that wavers around it from cycling the fleet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import FleetView, SiteInputs
from .pacing import Want

_HOURS_PER_DAY = 24.0


def break_even_per_kwh(hashprice_per_th_day: float, joules_per_th: float) -> float | None:
    """The energy price at which mining earns what it costs; None without a usable efficiency.

    1 TH/s at e J/TH draws e W, that is 24·e/1000 kWh a day, and earns the hashprice."""
    if not (math.isfinite(joules_per_th) and joules_per_th > 0):
        return None
    return hashprice_per_th_day / (_HOURS_PER_DAY * joules_per_th / 1000.0)


@dataclass(frozen=True, slots=True)
class PriceSettings:
    """A threshold, or a break-even from the hashprice (an entity's or this fixed one)."""

    threshold_per_kwh: float | None = None  # None: the break-even decides
    hashprice_per_th_day: float | None = None  # used when no hashprice entity says one
    hysteresis_per_kwh: float = 0.0  # starts only this far below the threshold
    # Until the fleet has mined, its efficiency is taken as the least efficient miner's
    # (an S9's): the break-even is then the lowest, so nothing starts on a guess.
    assumed_joules_per_th: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.hysteresis_per_kwh) and self.hysteresis_per_kwh >= 0):
            raise ValueError(f"hysteresis must be 0 or more, not {self.hysteresis_per_kwh}")
        if not (math.isfinite(self.assumed_joules_per_th) and self.assumed_joules_per_th > 0):
            raise ValueError(f"efficiency must be above 0 J/TH, not {self.assumed_joules_per_th}")


class PriceFollower:
    """All the fleet can while the price is below the limit, nothing above it."""

    name = "price"
    reads_fleet_draw = False

    def __init__(self, settings: PriceSettings) -> None:
        self.settings = settings
        self._mining = False

    def limit_per_kwh(self, inputs: SiteInputs, fleet: FleetView) -> float | None:
        """The price below which the fleet mines now."""
        s = self.settings
        if s.threshold_per_kwh is not None:
            return s.threshold_per_kwh
        hashprice = inputs.hashprice_per_th_day
        if hashprice is None:
            hashprice = s.hashprice_per_th_day
        if hashprice is None:
            return None
        return break_even_per_kwh(hashprice, fleet.joules_per_th or s.assumed_joules_per_th)

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """Rated power below the limit (less the hysteresis to start), 0 W above it."""
        limit = self.limit_per_kwh(inputs, fleet)
        price = inputs.price_per_kwh
        if limit is None or price is None:
            return None
        start_below = limit - self.settings.hysteresis_per_kwh
        if price > limit:
            self._mining = False
        elif price <= start_below:
            self._mining = True
        power = fleet.rated_w if self._mining else 0.0
        return Want(power, f"price {price:.4g} per kWh, limit {limit:.4g}")
