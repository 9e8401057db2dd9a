"""A local strategy the fleet follows while no EMS or override commands it: absorb PV surplus.

The input is the site's power at its grid connection (import positive, export negative, the
fleet's own draw included). What the fleet may draw without importing is its present draw plus
the export, less a small reserve. Miners that reboot to start (S9) must not chase every cloud,
so a new target is taken only when it differs by more than a band, and the fleet keeps running
(or resting) for a minimum time once it started (or stopped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SurplusSettings:
    """How closely the fleet follows the surplus."""

    reserve_w: float = 200.0  # export left unabsorbed, against importing on the next cloud
    band_w: float = 500.0  # a change smaller than this is not followed
    min_on_s: float = 600.0  # once started, the fleet runs at least this long
    min_off_s: float = 600.0  # once stopped, it rests at least this long


class SurplusFollower:
    """The target that absorbs the site's export."""

    def __init__(self, settings: SurplusSettings | None = None) -> None:
        self.settings = settings or SurplusSettings()
        self.target_w: float | None = None  # None: never decided yet
        self._since = -math.inf  # when the fleet last started or stopped

    def follow(self, now: float, grid_w: float | None, fleet_w: float, rated_w: float) -> float:
        """The target now. Without a reading the fleet wakes nothing new: it keeps at most
        what it draws."""
        s = self.settings
        current = self.target_w or 0.0
        if grid_w is None or not math.isfinite(grid_w):
            kept = min(current, fleet_w)
            self.target_w = kept
            return kept
        wanted = min(max(0.0, fleet_w - grid_w - s.reserve_w), rated_w)
        if wanted < s.band_w:
            wanted = 0.0  # not even one step's worth
        if current == 0.0 and wanted > 0.0:
            if now - self._since < s.min_off_s:
                wanted = 0.0
        elif current > 0.0 and wanted == 0.0:
            if now - self._since < s.min_on_s:
                wanted = current
        elif abs(wanted - current) < s.band_w:
            wanted = current
        if (wanted > 0.0) != (current > 0.0):
            self._since = now
        self.target_w = wanted
        return wanted
