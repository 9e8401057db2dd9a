"""Giving the members of a candidate their settings: who keeps where it is, who moves, and
what the transitions cost."""

from __future__ import annotations

import math

from .plan_model import Action, MinerAssignment, PlanLimits
from .plan_units import MIN_ARRIVAL, SETTING_EPSILON, SLOW_S, WATT_EPSILON, Candidate, Unit

_NOTHING_TO_GAIN_W = 1.0  # a remainder this small is not worth moving a miner
# What a moved miner leaves over once its setting is rounded to a step (an S9's MHz is up to
# 4 W) is not worth moving one more running miner for: a restart of minutes for a few watts.
_ROUNDING_LEFT_W = 5.0


def _quantize(setting: float, unit: Unit, floor: bool) -> float:
    levels = unit.kind.levels
    if levels:
        allowed = [v for v in levels if unit.low <= v <= unit.high] or [unit.low]
        if floor:
            below = [v for v in allowed if v <= setting + 1e-9]
            return below[-1] if below else allowed[0]
        return min(allowed, key=lambda v: (abs(v - setting), v))
    step = unit.kind.step
    steps = setting / step
    q = (math.floor(steps + 1e-9) if floor else round(steps)) * step
    return min(max(q, unit.low), unit.high)


def _setting_for_increment(unit: Unit, increment_w: float, floor: bool) -> float:
    arrival = max(unit.miner.arrival, MIN_ARRIVAL)
    watts = (increment_w / arrival + unit.standby_w) / unit.miner.power_scale
    return _quantize(unit.curve.setting_for_power(watts), unit, floor)


def _present_setting(unit: Unit) -> float | None:
    """Where a running unit stays if left alone, pulled into its allowed range."""
    if unit.current is None:
        return None
    return min(max(unit.current, unit.low), unit.high)


def min_change(members: list[Unit], need_w: float, limits: PlanLimits, floor: bool) -> Candidate:
    """Run `members`; keep running ones where they are, let new ones share what is missing,
    then move as few running ones as possible for the rest."""
    setting: dict[str, float | None] = {}
    new = [u for u in members if u.current is None]
    remaining = need_w
    for u in members:
        present = _present_setting(u)
        if present is not None:
            setting[u.miner.mac] = present
            remaining -= u.increment_w(present)
    if new:
        share = remaining / len(new)
        for u in new:
            f = _setting_for_increment(u, share, floor)
            setting[u.miner.mac] = f
            remaining -= u.increment_w(f)
    changed = list(new)
    _absorb(setting, members, changed, remaining, limits=limits, floor=floor)
    return Candidate(setting)


def uniform(
    members: list[Unit], need_w: float, limits: PlanLimits, floor: bool, *, mixed: bool
) -> Candidate:
    """Run `members` with the power spread evenly (the most hashrate per kW on a concave curve);
    in a mixed fleet in proportion to what each can add."""
    setting: dict[str, float | None] = {}
    if not members:
        return Candidate(setting)
    weights = [u.full_increment_w(u.high) if mixed else 1.0 for u in members]
    total_weight = sum(weights) or 1.0
    remaining = need_w
    changed: list[Unit] = []
    for u, weight in zip(members, weights, strict=True):
        f = _setting_for_increment(u, need_w * weight / total_weight, floor)
        present = _present_setting(u)
        if present is not None and abs(present - f) <= u.kind.step + SETTING_EPSILON:
            f = present  # close enough: not worth a restart
        else:
            changed.append(u)
        setting[u.miner.mac] = f
        remaining -= u.increment_w(f)
    _absorb(setting, members, changed, remaining, limits=limits, floor=floor)
    return Candidate(setting)


def _absorb(
    setting: dict[str, float | None],
    members: list[Unit],
    changed: list[Unit],
    remaining: float,
    *,
    limits: PlanLimits,
    floor: bool,
) -> None:
    """Move settings to absorb `remaining` watts: units already changing first (their change
    is paid for), then the running units whose change costs least, with the most room."""
    if abs(remaining) <= _NOTHING_TO_GAIN_W:
        return
    up = remaining > 0
    changed_macs = {u.miner.mac for u in changed}

    def room(u: Unit) -> float:
        f = setting[u.miner.mac]
        assert f is not None
        edge = u.high if up else u.low
        return abs(u.increment_w(edge) - u.increment_w(f))

    rest = sorted(
        (u for u in members if u.miner.mac not in changed_macs),
        key=lambda u: ((u.change_cost_s if up else u.change_down_cost_s) * u.hash_value, -room(u)),
    )
    for u in [*changed, *rest]:
        if (remaining <= WATT_EPSILON) if up else (remaining >= -WATT_EPSILON):
            break
        if u.miner.mac not in changed_macs and abs(remaining) <= _ROUNDING_LEFT_W:
            break
        f = setting[u.miner.mac]
        assert f is not None
        before = u.increment_w(f)
        wanted = before + remaining
        g = _setting_for_increment(u, wanted, floor)
        if abs(g - f) < SETTING_EPSILON:
            continue
        setting[u.miner.mac] = g
        remaining -= u.increment_w(g) - before


def finish(c: Candidate, units: list[Unit], base_w: float) -> None:
    """Fill in totals, transition counts and the hashing the transitions lose."""
    total = base_w
    hashrate = 0.0
    starts = stops = changes = 0
    runtime = cost = 0.0
    slow = 0
    slowest = 0.0
    for u in units:
        f = c.setting.get(u.miner.mac)
        if f is None:
            if u.current is not None:
                stops += 1
                cost += u.hash_value * u.kind.stop_cost_s
            continue
        total += u.increment_w(f)
        hashrate += u.miner.arrival * u.hashrate_ths(f)
        runtime += u.miner.runtime_s
        if u.current is None:
            if not u.resumes:
                starts += 1
                cost += u.hash_value * u.start_cost_s
                slow += u.slow_start
                slowest = max(slowest, u.start_cost_s)
        elif abs(f - u.current) >= SETTING_EPSILON:
            changes += 1
            up = f > u.current
            cost += u.hash_value * (u.change_cost_s if up else u.change_down_cost_s)
            change_s = u.slow_change_s if up else u.slow_change_down_s
            slow += change_s > SLOW_S
            slowest = max(slowest, change_s)
    c.total_w = total
    c.hashrate_ths = hashrate
    c.starts, c.stops, c.changes = starts, stops, changes
    c.runtime_on_s = runtime
    c.transition_cost = cost
    c.slow = slow
    c.slowest_s = slowest


def assign(units: list[Unit], best: Candidate) -> list[MinerAssignment]:
    out: list[MinerAssignment] = []
    for u in units:
        f = best.setting.get(u.miner.mac)
        if f is None:
            action = Action.STOP if u.current is not None else Action.KEEP
        elif u.current is None:
            action = Action.START
        elif abs(f - u.current) >= SETTING_EPSILON:
            action = Action.CHANGE
        else:
            action = Action.KEEP
        out.append(MinerAssignment(u.miner.mac, action, f))
    return out
