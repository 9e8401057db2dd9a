"""What each miner really draws, learnt from its own steady readings, and the fleet's bias.

No two S9s draw the same: the PSU and chips put each a few per cent off the power curve. The
planner plans each miner at its learnt ratio (measured over curve power at the running
frequency); miners not seen mining steadily yet are planned at the fleet's bias, when the
calibrated ones show one.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ..miners.base import MinerReading, MiningState
from ..power_curve import PowerCurve


@dataclass(frozen=True, slots=True)
class CalibrationLimits:
    """How readings are judged: two in a row at the same frequency within `steady_tolerance`
    are steady; the first ratio is taken as it is, later ones smoothed; ratios outside
    [`lowest`, `highest`] are a fault (a dead board, a bad estimate), not a spread."""

    steady_tolerance: float = 0.01
    smoothing: float = 0.3
    lowest: float = 0.7
    highest: float = 1.3


class CalibrationHold:
    """Holds back learning a miner's draw after it arrived short of its setting's power: a
    firmware that holds steps on the way (Braiins OS+ settles temperatures for minutes at each)
    may still be climbing, so only a power that stayed at one level for `hold_s` is its own."""

    __slots__ = ("_hold_s", "_level_w", "_until")

    def __init__(self) -> None:
        self._level_w: float | None = None
        self._hold_s = 0.0
        self._until = -math.inf

    def start(self, power_w: float, now: float, hold_s: float) -> None:
        """Arrived short at `power_w`: hold until it stayed there for `hold_s`."""
        self._level_w, self._hold_s, self._until = power_w, hold_s, now + hold_s

    def clear(self) -> None:
        """Nothing to hold (a new transition, or asleep)."""
        self._level_w = None

    def held(self, now: float, power_w: float | None, tolerance: float) -> bool:
        """Whether learning waits at `now`; a power more than `tolerance` off the level held
        so far starts the wait again from it (a slow climb adds up to a move)."""
        level = self._level_w
        if level is None:
            return False
        if power_w is not None and abs(power_w - level) > tolerance * level:
            self._level_w, self._until = power_w, now + self._hold_s
        if now < self._until:
            return True
        self._level_w = None
        return False


class MinerCalibration:
    """One miner's learnt draw over the power curve's (1.0 until learnt)."""

    __slots__ = ("_previous_setting", "_previous_w", "_samples", "_scale", "hold")

    def __init__(self) -> None:
        self.hold = CalibrationHold()  # after an arrival short of its setting's power
        self._scale = 1.0
        self._samples = 0
        self._previous_w: float | None = None
        self._previous_setting: float | None = None

    @property
    def scale(self) -> float:
        """Measured over curve power; 1.0 until learnt."""
        return self._scale

    @property
    def calibrated(self) -> bool:
        """At least one steady reading (or a restored value) was taken."""
        return self._samples > 0

    def interrupt(self) -> None:
        """A read failed or a transition began: the next reading starts a new pair."""
        self._previous_w = self._previous_setting = None

    def learn(
        self,
        reading: MinerReading,
        setting: float | None,
        *,
        steady_state: bool,
        curve: PowerCurve,
        limits: CalibrationLimits,
    ) -> bool:
        """Take a fresh reading; learns from it if it is steady mining at a known frequency (the
        same frequency and power as the reading before, so a ramp is never taken for the
        miner's own draw). Returns whether a sample was taken."""
        power = reading.power_w
        previous, previous_setting = self._previous_w, self._previous_setting
        mining = steady_state and reading.state is MiningState.MINING
        if not (mining and power is not None and setting is not None and power > 0):
            self.interrupt()
            return False
        self._previous_w, self._previous_setting = power, setting
        if previous is None or previous_setting is None or abs(previous_setting - setting) > 0.5:
            return False
        if abs(power - previous) > limits.steady_tolerance * power:
            return False
        ratio = power / curve.power_w(setting)
        if not limits.lowest <= ratio <= limits.highest:
            return False
        if self._samples == 0:
            self._scale = ratio
        else:
            self._scale += limits.smoothing * (ratio - self._scale)
        self._samples += 1
        return True

    def restore(self, value: object, limits: CalibrationLimits) -> bool:
        """Take back a ratio learnt before a restart (it counts as one reading); refuses
        implausible values and never overwrites what was learnt afresh."""
        if self._samples > 0 or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not (math.isfinite(value) and limits.lowest <= value <= limits.highest):
            return False
        self._scale = float(value)
        self._samples = 1
        return True


def fleet_bias(scales: list[float], min_samples: int, significance: float) -> float:
    """The draw over the curve's to assume for an uncalibrated miner: the median of the
    calibrated ones when they are enough and it stands out from the curve by more than
    `significance` standard errors (robust ones, from the median absolute deviation), else
    the curve's."""
    if len(scales) < max(1, min_samples):
        return 1.0
    median = statistics.median(scales)
    spread = 1.4826 * statistics.median(abs(s - median) for s in scales)
    standard_error = 1.2533 * spread / math.sqrt(len(scales))
    return median if abs(median - 1.0) > significance * standard_error else 1.0
