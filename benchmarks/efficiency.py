"""The most hashrate a fleet of identical miners can make at a given total power.

Used to grade plans: the bound is the fleet size times the upper concave envelope of one miner's
(extra power over standby → hashrate) curve, with "asleep" as the point (0, 0). No allocation of
whole miners can beat it, and a good one comes within one miner's rounding of it.
"""

from __future__ import annotations

from itertools import pairwise

from custom_components.net_stabilization.core.power_curve import PowerCurve


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Upper concave envelope of points sorted by x."""
    hull: list[tuple[float, float]] = []
    for p in points:
        while len(hull) >= 2:  # a turn needs two points before this one
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # Drop the middle point if it lies on or below the line from its neighbours.
            if (y2 - y1) * (p[0] - x1) <= (p[1] - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def max_hashrate_ths(
    total_w: float,
    miners: int,
    curve: PowerCurve,
    *,
    min_mhz: float | None = None,
    max_mhz: float | None = None,
) -> float:
    """Upper bound of the hashrate `miners` identical miners make while the fleet draws `total_w`
    (standby draw of the sleeping ones included), each running between `min_mhz` and `max_mhz`."""
    if miners <= 0:
        return 0.0
    lo = max(min_mhz if min_mhz is not None else curve.min_mhz, curve.min_mhz)
    hi = min(max_mhz if max_mhz is not None else curve.max_mhz, curve.max_mhz)
    standby = curve.standby_w
    mhz_points = sorted({lo, hi, *(p[0] for p in curve.points if lo < p[0] < hi)})
    points = [(0.0, 0.0)]
    points += [(curve.power_w(f) - standby, curve.hashrate_ths(f)) for f in mhz_points]
    hull = _hull(points)
    per_miner = (total_w - miners * standby) / miners
    if per_miner <= 0:
        return 0.0
    if per_miner >= hull[-1][0]:
        return miners * hull[-1][1]
    for (x1, y1), (x2, y2) in pairwise(hull):
        if x1 <= per_miner <= x2:
            return miners * (y1 + (y2 - y1) * (per_miner - x1) / (x2 - x1))
    return 0.0


def max_mixed_hashrate_ths(total_w: float, miners: list[list[tuple[float, float]]]) -> float:
    """Upper bound of the hashrate of a mixed fleet drawing `total_w`.

    Each miner is given as its (wall power, hashrate) options, the first being asleep (its
    standby draw, no hashrate). The bound fills the power over standby along every miner's
    upper concave envelope, steepest segments first: no choice of settings can beat it.
    """
    budget = total_w - sum(options[0][0] for options in miners)
    segments: list[tuple[float, float]] = []  # (TH/s per W, W)
    for options in miners:
        base_w = options[0][0]
        points = sorted({(max(0.0, w - base_w), h) for w, h in options})
        hull = _hull(points)
        for (x1, y1), (x2, y2) in pairwise(hull):
            if x2 > x1 and y2 > y1:
                segments.append(((y2 - y1) / (x2 - x1), x2 - x1))
    segments.sort(reverse=True)
    hashrate = 0.0
    for slope, width in segments:
        if budget <= 0:
            break
        take = min(width, budget)
        hashrate += slope * take
        budget -= take
    return hashrate
