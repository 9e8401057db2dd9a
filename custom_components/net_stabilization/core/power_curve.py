"""The Antminer S9 power curve: the single source of truth for frequency, power and hashrate.

Points are wall power at the given chip frequency on Vnish firmware. Only 350 MHz and 650 MHz were
measured at the wall by field operators; the rest are firmware mining profiles or interpolated.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

# (MHz, W, TH/s)
_S9_POINTS: tuple[tuple[float, float, float], ...] = (
    (350.0, 660.0, 7.5),
    (387.0, 875.0, 10.0),
    (450.0, 950.0, 11.0),
    (481.0, 1020.0, 11.0),
    (525.0, 1145.0, 12.0),
    (575.0, 1285.0, 13.0),
    (650.0, 1460.0, 13.7),
    (750.0, 1850.0, 16.0),
    (800.0, 1900.0, 17.0),
)


@dataclass(frozen=True, slots=True)
class PowerCurve:
    """Piecewise-linear map between chip frequency, wall power and hashrate of one model."""

    points: tuple[tuple[float, float, float], ...]
    nominal_mhz: float
    standby_w: float

    @property
    def min_mhz(self) -> float:
        """Lowest frequency the curve covers."""
        return self.points[0][0]

    @property
    def max_mhz(self) -> float:
        """Highest frequency the curve covers."""
        return self.points[-1][0]

    @property
    def nominal_w(self) -> float:
        """Wall power at the nominal ("full") frequency."""
        return self.power_w(self.nominal_mhz)

    @property
    def max_w(self) -> float:
        """Wall power at the highest frequency."""
        return self.points[-1][1]

    @property
    def min_w(self) -> float:
        """Wall power at the lowest frequency while mining."""
        return self.points[0][1]

    def power_w(self, mhz: float) -> float:
        """Wall power while mining at `mhz` (clamped to the curve)."""
        return _interpolate(self.points, 0, 1, mhz)

    def hashrate_ths(self, mhz: float) -> float:
        """Hashrate while mining at `mhz` (clamped to the curve)."""
        return _interpolate(self.points, 0, 2, mhz)

    def mhz_for_power(self, watts: float) -> float:
        """Frequency whose wall power is `watts` (clamped; power rises monotonically)."""
        return _interpolate(self.points, 1, 0, watts)

    # The same in a miner's own unit: the first column is a setting, a frequency on an S9 and
    # watts of a power target or preset on miners set by power.

    @property
    def nominal_setting(self) -> float:
        """The setting a miner runs at "full"."""
        return self.nominal_mhz

    @property
    def lowest_setting(self) -> float:
        """The lowest setting the curve covers."""
        return self.points[0][0]

    @property
    def highest_setting(self) -> float:
        """The highest setting the curve covers."""
        return self.points[-1][0]

    def setting_for_power(self, watts: float) -> float:
        """The setting whose wall power is `watts` (clamped; power rises monotonically)."""
        return _interpolate(self.points, 1, 0, watts)


def _interpolate(
    points: tuple[tuple[float, float, float], ...], x_index: int, y_index: int, x: float
) -> float:
    xs = [p[x_index] for p in points]
    if x <= xs[0]:
        return points[0][y_index]
    if x >= xs[-1]:
        return points[-1][y_index]
    i = bisect_left(xs, x)
    x0, x1 = xs[i - 1], xs[i]
    y0, y1 = points[i - 1][y_index], points[i][y_index]
    if x1 == x0:
        return y1
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


S9_CURVE = PowerCurve(points=_S9_POINTS, nominal_mhz=650.0, standby_w=50.0)
