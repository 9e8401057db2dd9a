"""Pacing a rule's wish: a band against chasing small changes, minimum on and off times
against cycling miners, and urgent wishes (a shed for safety, an export over the feed-in limit)
that pass at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .inputs import FleetView, SiteInputs


@dataclass(frozen=True, slots=True)
class Want:
    """What a rule wants the fleet to draw, and why."""

    power_w: float
    reason: str
    urgent: bool = False  # bypasses the minimum times (and the band, towards 0 W)


class StrategyRule(Protocol):
    """Turns the site's inputs into the power the fleet should draw."""

    name: str
    # Whether it reckons with the fleet's draw as last read (against a site meter): between
    # polls that figure lags the orders just given, so only urgent wishes are taken then.
    reads_fleet_draw: bool

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """The wish now; None when an input it needs is missing."""
        ...


@dataclass(frozen=True, slots=True)
class Pacing:
    """How closely the fleet follows a rule."""

    band_w: float = 500.0  # a change smaller than this is not followed
    min_on_s: float = 600.0  # once started, the fleet runs at least this long
    min_off_s: float = 600.0  # once stopped, it rests at least this long

    def __post_init__(self) -> None:
        for name in ("band_w", "min_on_s", "min_off_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of 0 or more, not {value}")


class LocalStrategy:
    """A rule and its pacing: the target the strategy hands the fleet."""

    def __init__(self, rule: StrategyRule, pacing: Pacing | None = None) -> None:
        self.rule = rule
        self.pacing = pacing or Pacing()
        self.target_w: float | None = None  # None: never decided yet
        self.reason = ""
        self.holding = False  # the rule's input is missing: nothing new is woken
        self._since = -math.inf  # when the fleet last started or stopped

    @property
    def name(self) -> str:
        """The rule's name (`pv_surplus`, `price`, ...)."""
        return self.rule.name

    def reset(self) -> None:
        """Forget the last decision (another source took over, or the operator switched it
        off): the next one starts afresh. The minimum times pace its own starts and stops, so
        they do not hold it back after the EMS hands the fleet back."""
        self.target_w = None
        self._since = -math.inf

    def resume(self, now: float, target_w: float) -> None:
        """Take back a target it had before a restart; the minimum times count from now."""
        self.target_w = target_w
        self._since = now

    def decide(
        self, now: float, inputs: SiteInputs, fleet: FleetView, *, between_polls: bool = False
    ) -> float:
        """The target now. A rule without its input wakes nothing new: the fleet keeps at most
        what it draws. Between polls a rule that reads the fleet's draw takes only urgent
        wishes (that draw is as old as the last poll)."""
        p = self.pacing
        current = self.target_w or 0.0
        want = self.rule.want(inputs, fleet)
        if between_polls and self.rule.reads_fleet_draw and (want is None or not want.urgent):
            return current
        self.holding = want is None
        if want is None:
            kept = min(current, max(0.0, fleet.fleet_w))
            self.reason = "input unavailable: holding"
            return self._take(now, current, kept)
        wanted = min(max(0.0, want.power_w), max(0.0, fleet.rated_w))
        self.reason = want.reason
        if wanted < p.band_w:
            wanted = 0.0  # not even one step's worth
        if want.urgent and (wanted == 0.0 or abs(wanted - current) >= p.band_w):
            return self._take(now, current, wanted)
        if current == 0.0 and wanted > 0.0:
            if now - self._since < p.min_off_s:
                wanted = 0.0
        elif current > 0.0 and wanted == 0.0:
            if now - self._since < p.min_on_s:
                wanted = current
        elif abs(wanted - current) < p.band_w:
            wanted = current
        return self._take(now, current, wanted)

    def _take(self, now: float, current: float, wanted: float) -> float:
        if (wanted > 0.0) != (current > 0.0):
            self._since = now
        self.target_w = wanted
        return wanted
