"""The dispatch planner: a pure function from (target, mode, miners, limits) to a plan.

Objectives, in order:
1. meet the target within the mode's resolution (policy: nearest, or never above);
2. the fewest transitions (a wake is a reboot of minutes, a frequency change a restart);
3. the most hashrate for the power;
4. even wear: the least-run miners start first, the most-run stop first.

Objectives 2 and 3 meet in two ways. First an efficiency floor: a plan whose hashrate is within
`efficiency_floor` of the best plan that meets the target is good enough, and one below it is
taken only if nothing better meets the target. Then one currency, hashrate: a transition costs
the hashing time it loses; a better spread of power gains hashrate for as long as the target
holds. A plan with more transitions wins only if its extra hashrate pays them back within
`payback_horizon_s` (short: EMS targets change every few minutes). With a small change of target
this keeps the present miners and moves one "swing" miner; with a large one it spreads the power
over the fewest miners that come within the floor of the best TH per kW.

A start that may not produce mining (some wakes never do) counts with its chance of arriving
(`PlanMiner.arrival`), for its draw and its hashrate: a deficit is met by expected arrivals, so a
fleet whose wakes sometimes fail wakes a few spares instead of a second round later.

All powers are wall watts for the whole fleet, standby draw of sleeping miners included.

A mixed fleet plans every kind at once. Each miner brings its operating points (its own curve
from setting to power and hashrate, discrete levels or a continuous range, and what a start or
a change costs); a miner without them is an S9 on the fleet's curve (`PlanLimits.curve`). A
setting is in the miner's own unit: MHz on an S9, watts of a power target or a preset
elsewhere. Transitions cost each miner's own hashing time, as measured on it where it was
(`PlanMiner.start_s`, `change_s`), so a change that keeps hashing and settles fast (a power
target) is cheap and a reboot is dear: fast miners swing, rebooting S9s move last; efficient
miners start first and stop last.

The parts: `plan_model` (what goes in and out), `plan_units` (the working view of a miner),
`plan_search` (which miners run, and which candidate wins), `plan_settings` (their settings).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..miners.base import OperatingPoints, SettingUnit
from .model import PowerMode
from .plan_model import (
    Action,
    DispatchPlan,
    MinerAssignment,
    PlanLimits,
    PlanMiner,
    TargetPolicy,
    full_setting,
)
from .plan_search import choose
from .plan_settings import assign
from .plan_units import Kind, Unit, change_cost_s

__all__ = [
    "Action",
    "DispatchPlan",
    "MinerAssignment",
    "PlanLimits",
    "PlanMiner",
    "TargetPolicy",
    "describe_plan",
    "full_setting",
    "plan_dispatch",
    "present_power_w",
]


def plan_dispatch(
    target_w: float,
    mode: PowerMode,
    miners: Sequence[PlanMiner],
    limits: PlanLimits | None = None,
    *,
    fixed_w: float = 0.0,
) -> DispatchPlan:
    """Plan which miners run, and at what setting, to draw `target_w` in total.

    `fixed_w` is draw the planner cannot change (for example a correction learnt from the site
    meter). Unavailable miners count with their `present_w` and get no assignment.
    """
    limits = limits or PlanLimits()
    target_w = max(0.0, target_w) if math.isfinite(target_w) else 0.0
    kinds: dict[OperatingPoints, Kind] = {}

    base_w = fixed_w
    base_hashrate = 0.0
    locked: list[MinerAssignment] = []
    units: list[Unit] = []
    for m in miners:
        if not m.available:
            base_w += m.present_w
            continue
        points = limits.points_of(m)
        kind = kinds.get(points)
        if kind is None:
            kind = kinds[points] = Kind.of(points)
        curve = kind.curve
        standby = curve.standby_w if m.standby_w is None else m.standby_w
        cur = (m.setting if m.setting is not None else curve.nominal_setting) if m.running else None
        if m.locked:
            base_w += standby
            if cur is not None:
                base_w += m.arrival * (m.power_scale * curve.power_w(cur) - standby)
                base_hashrate += m.arrival * curve.hashrate_ths(cur)
            locked.append(MinerAssignment(m.mac, Action.KEEP, cur))
            continue
        low, high = _setting_range(m, points, cur, mode)
        if m.hot:
            start_cost = points.hot_wake_s
        else:
            start_cost = points.wake_s if m.start_s is None else m.start_s
        resumes = cur is None and m.resume_setting is not None
        change_s = points.change_s if m.change_s is None else m.change_s
        down_s = change_s if m.change_down_s is None else m.change_down_s
        units.append(
            Unit(
                m,
                kind,
                standby,
                low,
                high,
                cur,
                resumes,
                start_cost,
                change_cost_s(points, m.change_s),
                change_s,
                change_cost_s(points, down_s),
                down_s,
            )
        )
        base_w += standby

    best = choose(target_w, base_w, units, limits, mode)
    assignments = [*locked, *assign(units, best)]
    assignments.sort(key=lambda a: a.mac)
    planned_w = best.total_w
    hashrate = base_hashrate + best.hashrate_ths
    by_power = {u.miner.mac for u in units if u.kind.watt_setting} | {
        m.mac
        for m in miners
        if m.locked and m.points is not None and m.points.unit is SettingUnit.WATT
    }
    by_frequency = [
        a.setting for a in assignments if a.setting is not None and a.mac not in by_power
    ]
    by_watts = [a.setting for a in assignments if a.setting is not None and a.mac in by_power]
    return DispatchPlan(
        target_w=target_w,
        mode=mode,
        policy=limits.policy,
        planned_w=planned_w,
        hashrate_ths=hashrate,
        assignments=tuple(assignments),
        summary=describe_plan(by_frequency, planned_w, by_watts),
        most_w=base_w + sum(u.increment_w(u.high) for u in units),
        slow=best.slow,
    )


def _setting_range(
    m: PlanMiner, points: OperatingPoints, cur: float | None, mode: PowerMode
) -> tuple[float, float]:
    """The settings the planner may give a miner in `mode`."""
    curve = points.curve
    if cur is None and m.resume_setting is not None:
        return m.resume_setting, m.resume_setting  # it comes back at the setting it runs with
    if mode is PowerMode.ON_OFF or not m.can_change:
        fixed = full_setting(points, mode) if m.can_change else (cur or curve.nominal_setting)
        return fixed, fixed
    if points.levels:  # presets or profiles: any its firmware accepts
        levels = sorted(points.levels)
        return levels[0], levels[-1]
    low, high = points.fine_range or (curve.lowest_setting, curve.highest_setting)
    low = max(low, curve.lowest_setting)
    return low, max(low, min(high, curve.highest_setting))


def present_power_w(
    mode: PowerMode,
    miners: Sequence[PlanMiner],
    limits: PlanLimits | None = None,
    *,
    fixed_w: float = 0.0,
) -> float:
    """Expected fleet draw if every miner stays as it is (running miners at their setting)."""
    limits = limits or PlanLimits()
    total = fixed_w
    for m in miners:
        if not m.available:
            total += m.present_w
            continue
        curve = limits.points_of(m).curve
        standby = curve.standby_w if m.standby_w is None else m.standby_w
        total += standby
        if m.running:
            setting = m.setting if m.setting is not None else curve.nominal_setting
            total += m.arrival * (m.power_scale * curve.power_w(setting) - standby)
    return total


def describe_plan(
    by_frequency: Sequence[float], planned_w: float, running_w: Sequence[float] = ()
) -> str:
    """A short human description, e.g. "2 miners at 650 MHz ≈ 2.92 kW". `running_w` are the
    settings of miners set by power (targets, presets), described apart."""
    kw = f"≈ {planned_w / 1000.0:.2f} kW"
    if not by_frequency and not running_w:
        return f"all miners asleep {kw}"
    if not running_w:
        return f"{_describe_group(by_frequency, 'MHz')} {kw}"
    if not by_frequency:
        return f"{_describe_group(running_w, 'W')} {kw}"
    return f"{_describe_group(by_frequency, 'MHz')}, {_describe_group(running_w, 'W')} {kw}"


def _describe_group(settings: Sequence[float], unit: str) -> str:
    groups: dict[int, int] = {}
    for value in settings:
        groups[round(value)] = groups.get(round(value), 0) + 1
    count = len(settings)
    noun = "miner" if count == 1 else "miners"
    if len(groups) == 1:
        return f"{count} {noun} at {next(iter(groups))} {unit}"
    if len(groups) == 2:  # two groups read well; more do not
        (f1, n1), (f2, n2) = sorted(groups.items(), key=lambda g: (-g[1], -g[0]))
        noun1 = "miner" if n1 == 1 else "miners"
        return f"{n1} {noun1} at {f1} {unit} and {n2} at {f2} {unit}"
    return f"{count} {noun} at {min(groups)}-{max(groups)} {unit}"
