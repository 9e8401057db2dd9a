"""Site limits over the commanded target, and which source decides the target in force.

Precedence, highest first: safety (a safety trip: 0 W at once) > hard limits (a cap such as a
grid operator's limit) > the manual override > the grid's dispatch (OpenADR events, see
`grid_dispatch`) > the EMS > a local strategy (while the EMS is idle). A limit never raises a
target: it caps it, and it caps what the fleet reports as rated power, so an EMS plans with what
is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class TargetSource(StrEnum):
    """What decides the target in force."""

    SAFETY = "safety"  # a safety trip: nothing runs
    LIMIT = "limit"  # a hard limit caps the commanded target
    OVERRIDE = "override"  # the operator's manual override
    OPENADR = "openadr"  # a grid operator's or aggregator's event (OpenADR)
    EMS = "ems"  # the EMS's activation
    STRATEGY = "strategy"  # the local strategy, while the EMS is idle
    NONE = "none"  # no target: standby


@dataclass(frozen=True, slots=True)
class SiteLimits:
    """What the site allows the fleet now. `cap_w` None: no cap."""

    tripped: bool = False
    cap_w: float | None = None

    def __post_init__(self) -> None:
        if self.cap_w is not None and not (math.isfinite(self.cap_w) and self.cap_w >= 0):
            raise ValueError(f"a cap must be a finite power of 0 W or more, not {self.cap_w}")

    def effective_w(self, commanded_w: float | None) -> float | None:
        """The target the fleet runs at: the commanded one, capped; 0 while tripped."""
        if commanded_w is None:
            return None
        if self.tripped:
            return 0.0
        if self.cap_w is not None:
            return min(commanded_w, self.cap_w)
        return commanded_w

    def rated_kw(self, rated_kw: float) -> float:
        """What of the fleet's rated power the limits leave an EMS."""
        if self.tripped:
            return 0.0
        if self.cap_w is not None:
            return round(min(rated_kw, self.cap_w / 1000.0), 3)
        return rated_kw

    def source(
        self,
        commanded_w: float | None,
        *,
        override: bool,
        strategy: bool = False,
        grid: bool = False,
    ) -> TargetSource:
        """Who decides the target in force."""
        if self.tripped:
            return TargetSource.SAFETY
        if commanded_w is None:
            return TargetSource.NONE
        if self.cap_w is not None and self.cap_w < commanded_w:
            return TargetSource.LIMIT
        if override:
            return TargetSource.OVERRIDE
        if grid:
            return TargetSource.OPENADR
        return TargetSource.STRATEGY if strategy else TargetSource.EMS


NO_LIMITS = SiteLimits()
"""A site that limits nothing."""
