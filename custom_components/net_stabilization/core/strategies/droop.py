"""Frequency response: the fleet's draw follows the grid's frequency on a droop.

At the nominal frequency the fleet draws its base power; outside a deadband it draws the gain
(kW per Hz) times the deviation beyond the deadband more or less, so an under-frequency sheds
load and an over-frequency adds it. Below the trip frequency everything is shed at once. Every
move outside the deadband is urgent: frequency response waits for no minimum time, and the
planner moves the fastest miners first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import FleetView, SiteInputs
from .pacing import Want


@dataclass(frozen=True, slots=True)
class FrequencySettings:
    """The droop."""

    base_w: float | None  # the draw at the nominal frequency; None: half the rated power
    gain_w_per_hz: float  # the change per Hz of deviation beyond the deadband
    deadband_hz: float = 0.02
    trip_hz: float = 49.5  # at or below: nothing runs
    nominal_hz: float = 50.0

    def __post_init__(self) -> None:
        for name in ("base_w", "gain_w_per_hz", "deadband_hz"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be 0 or more, not {value}")
        if not (0 < self.trip_hz < self.nominal_hz - self.deadband_hz):
            raise ValueError(
                f"the trip frequency must lie below the deadband under {self.nominal_hz} Hz"
            )


class FrequencyDroop:
    """Load that follows the frequency."""

    name = "frequency"
    reads_fleet_draw = False

    def __init__(self, settings: FrequencySettings) -> None:
        self.settings = settings

    def target_w(self, frequency_hz: float, rated_w: float) -> float:
        """The droop's power at a frequency (not yet bounded by what the fleet can)."""
        s = self.settings
        if frequency_hz <= s.trip_hz:
            return 0.0
        base = rated_w / 2 if s.base_w is None else s.base_w
        deviation = frequency_hz - s.nominal_hz
        beyond = max(0.0, abs(deviation) - s.deadband_hz)
        return max(0.0, base + math.copysign(beyond, deviation) * s.gain_w_per_hz)

    def want(self, inputs: SiteInputs, fleet: FleetView) -> Want | None:
        """The droop's power; urgent outside the deadband."""
        f = inputs.frequency_hz
        if f is None or not (40.0 <= f <= 70.0):
            return None  # no reading, or not a grid frequency
        s = self.settings
        if f <= s.trip_hz:
            return Want(0.0, f"{f:.3f} Hz at or below the trip at {s.trip_hz:g} Hz", True)
        outside = abs(f - s.nominal_hz) > s.deadband_hz
        return Want(self.target_w(f, fleet.rated_w), f"{f:.3f} Hz", urgent=outside)
