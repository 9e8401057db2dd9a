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
a change costs); a miner without them is an S9 on the fleet's curve (`PlanLimits.curve`). The
"frequency" of the code below is a miner's setting in its own unit: MHz on an S9, watts of a
power target or a preset elsewhere. Transitions cost each miner's own hashing time, so a change
that keeps hashing (a power target) is cheap and a reboot is dear: continuous miners swing,
rebooting S9s move last; efficient miners start first and stop last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..miners.base import OperatingPoints, SettingUnit
from ..power_curve import S9_CURVE, PowerCurve
from .model import PowerMode

_MHZ_EPSILON = 0.5  # two frequencies closer than this are the same setting
_WATT_EPSILON = 1e-6
_MIN_ARRIVAL = 0.01  # a start's expected share is never taken as smaller (frequencies divide)
# A change of setting that keeps hashing (a power target) loses this share of its duration.
_HASHING_CHANGE_SHARE = 0.1
# A transition that loses more hashing than this is slow: a reboot, a restart of the mining
# software, a start that initialises for minutes. In a fleet that also has fast moves, slow
# transitions are avoided before efficiency is sought.
_SLOW_S = 60.0


class TargetPolicy(StrEnum):
    """What to do with a target that falls between two reachable powers."""

    NEAREST = "nearest"
    NEVER_ABOVE = "never_above"


class Action(StrEnum):
    """What a plan asks of one miner."""

    KEEP = "keep"  # stays as it is (running or asleep)
    START = "start"  # wake, at the given frequency
    STOP = "stop"  # sleep
    RETUNE = "retune"  # keeps running, at a new frequency


@dataclass(frozen=True, slots=True)
class PlanMiner:
    """One miner as the planner sees it."""

    mac: str
    running: bool  # mining, or already on its way there (waking, changing)
    mhz: float | None = None  # frequency it runs at or heads to; None if unknown
    runtime_s: float = 0.0
    available: bool = True  # False: never planned; its `present_w` is counted as it is
    locked: bool = False  # must keep its present state (minimum on/off time)
    power_scale: float = 1.0  # measured power / curve power, from calibration
    standby_w: float | None = None  # None: the curve's standby draw
    present_w: float = 0.0  # draw of an unavailable miner
    can_set_frequency: bool = True
    wake_failures: int = 0  # recent wakes that did not produce mining: started last
    # Chance that a start (planned, or under way and not yet seen mining) ends up mining: its
    # draw over standby and its hashrate are counted at this share, so a deficit is met by
    # expected arrivals and a fleet whose wakes sometimes fail wakes spares.
    arrival: float = 1.0
    # Told to sleep, but it can be given back without a new wake (its reboot is still under
    # way, or the sleep was not heard yet while it hashes): a start runs at this frequency
    # and costs no wake. None: a start is a real wake.
    resume_mhz: float | None = None
    # What this miner can run at and what its moves cost; None: an S9 on the fleet's curve,
    # with the costs of `PlanLimits`.
    points: OperatingPoints | None = None
    # In the hot reserve: its mining software is stopped, not asleep, so a start is a restart
    # of it (`PlanLimits.hot_start_cost_s`), not a reboot.
    hot: bool = False
    # Running, but its start is still under way (not hashing yet): it draws little and may
    # fail, so when the target falls it stops before miners already delivering.
    starting: bool = False


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Knobs of the planner. Defaults suit an S9 fleet on Vnish."""

    curve: PowerCurve = S9_CURVE
    policy: TargetPolicy = TargetPolicy.NEAREST
    min_mhz: float = 350.0
    max_mhz: float = 650.0  # highest frequency frequency mode may use ("full")
    mhz_step: float = 1.0
    frequency_tolerance_w: float = 50.0  # frequency mode meets the target within this
    start_cost_s: float = 160.0  # hashing time a wake loses (boot plus ramp)
    hot_start_cost_s: float = 100.0  # a start from the hot reserve: mining software and ramp
    retune_cost_s: float = 100.0  # hashing time a frequency change loses (ramp)
    stop_cost_s: float = 10.0  # wear, mostly: stopping loses no hashing the target allowed
    # Efficiency first, then transitions: a plan within `efficiency_floor` of the best hashrate
    # on offer is good enough, and among those the fewest transitions win unless more pay
    # back within `payback_horizon_s` (targets change every few minutes: small gains rarely
    # outlive the target). A plan below the floor is taken only if nothing reaches it.
    efficiency_floor: float = 0.97
    payback_horizon_s: float = 600.0

    def full_mhz(self, mode: PowerMode) -> float:
        """The frequency of a miner running "full" in `mode`."""
        if mode is PowerMode.ON_OFF:
            return self.curve.nominal_mhz
        return self.max_mhz


@dataclass(frozen=True, slots=True)
class MinerAssignment:
    """The plan for one miner."""

    mac: str
    action: Action
    mhz: float | None  # frequency to run at; None when it is to sleep


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    """The result of planning: one assignment per available miner."""

    target_w: float
    mode: PowerMode
    policy: TargetPolicy
    planned_w: float  # expected fleet power once the plan is in place
    hashrate_ths: float
    assignments: tuple[MinerAssignment, ...] = field(default=())
    summary: str = ""

    def _count(self, action: Action) -> int:
        return sum(1 for a in self.assignments if a.action is action)

    @property
    def starts(self) -> int:
        """Miners to wake."""
        return self._count(Action.START)

    @property
    def stops(self) -> int:
        """Miners to put to sleep."""
        return self._count(Action.STOP)

    @property
    def retunes(self) -> int:
        """Running miners to move to another frequency."""
        return self._count(Action.RETUNE)

    @property
    def transitions(self) -> int:
        """Every change of a miner's state."""
        return self.starts + self.stops + self.retunes

    @property
    def running(self) -> int:
        """Miners planned to run."""
        return sum(1 for a in self.assignments if a.mhz is not None)

    def assignment(self, mac: str) -> MinerAssignment | None:
        """The assignment of one miner, if the plan has one."""
        return next((a for a in self.assignments if a.mac == mac), None)


@dataclass(frozen=True, slots=True)
class _Kind:
    """What the planner needs of a miner's operating points."""

    curve: PowerCurve
    levels: tuple[float, ...]  # the only settings it accepts; empty: continuous in `step`s
    step: float
    start_cost_s: float
    retune_cost_s: float
    stop_cost_s: float
    watt_setting: bool  # its setting is a power (a target or a preset), not a frequency
    reboots: bool  # a start is a full reboot
    rank: float  # J/TH at its nominal setting, rounded: who runs first
    # How cheaply it follows the next target: 0 any power while hashing (a swing miner),
    # 1 levels while hashing, 2 a change restarts mining, 3 a start is a reboot (the S9).
    agility: int = 3

    @property
    def slow_start(self) -> bool:
        return self.start_cost_s > _SLOW_S

    @property
    def slow_change(self) -> bool:
        return self.retune_cost_s > _SLOW_S

    @classmethod
    def of(cls, points: OperatingPoints | None, limits: PlanLimits) -> _Kind:
        if points is None:
            curve = limits.curve
            return cls(
                curve,
                (),
                limits.mhz_step,
                limits.start_cost_s,
                limits.retune_cost_s,
                limits.stop_cost_s,
                watt_setting=False,
                reboots=True,
                rank=_rank(curve),
                agility=3,
            )
        change = points.change_s * (1.0 if points.change_stops_hashing else _HASHING_CHANGE_SHARE)
        return cls(
            points.curve,
            tuple(sorted(points.levels)),
            points.step,
            points.wake_s,
            change,
            points.stop_s,
            watt_setting=points.unit is SettingUnit.WATT,
            reboots=points.wake_reboots,
            rank=_rank(points.curve),
            agility=_agility(points),
        )


def _agility(points: OperatingPoints) -> int:
    if points.wake_reboots:
        return 3
    if points.change_stops_hashing:
        return 2
    return 1 if points.levels else 0


def _rank(curve: PowerCurve) -> float:
    hashrate = curve.hashrate_ths(curve.nominal_mhz)
    return round(curve.nominal_w / hashrate, 1) if hashrate > 0 else math.inf


@dataclass(slots=True)
class _Unit:
    """An available, unlocked miner with its derived numbers."""

    miner: PlanMiner
    kind: _Kind
    standby_w: float
    lo_mhz: float
    hi_mhz: float
    cur_mhz: float | None  # present setting when running
    resumes: bool = False  # a start of this unit costs no wake (`PlanMiner.resume_mhz`)
    start_cost_s: float = 0.0  # hashing time its start loses

    @property
    def curve(self) -> PowerCurve:
        return self.kind.curve

    def power_w(self, mhz: float) -> float:
        return self.miner.power_scale * self.kind.curve.power_w(mhz)

    def hashrate_ths(self, mhz: float) -> float:
        return self.kind.curve.hashrate_ths(mhz)

    def full_increment_w(self, mhz: float) -> float:
        """Extra draw of running at `mhz` over sleeping, once running."""
        return self.power_w(mhz) - self.standby_w

    def increment_w(self, mhz: float) -> float:
        """Expected extra draw of running at `mhz` over sleeping."""
        return self.miner.arrival * self.full_increment_w(mhz)

    @property
    def hash_value(self) -> float:
        """Hashrate at its nominal setting: what one second of its lost hashing is worth."""
        return self.kind.curve.hashrate_ths(self.kind.curve.nominal_mhz)


@dataclass(slots=True)
class _Candidate:
    """One way of meeting the target: frequency per unit, None for asleep."""

    mhz: dict[str, float | None]
    total_w: float = 0.0
    hashrate_ths: float = 0.0
    starts: int = 0
    stops: int = 0
    retunes: int = 0
    runtime_on_s: float = 0.0
    transition_cost: float = 0.0  # TH·s of hashing the transitions lose
    slow: int = 0  # transitions that lose more than a minute of hashing


def plan_dispatch(
    target_w: float,
    mode: PowerMode,
    miners: Sequence[PlanMiner],
    limits: PlanLimits | None = None,
    *,
    fixed_w: float = 0.0,
) -> DispatchPlan:
    """Plan which miners run, and at what frequency, to draw `target_w` in total.

    `fixed_w` is draw the planner cannot change (for example a correction learnt from the site
    meter). Unavailable miners count with their `present_w` and get no assignment.
    """
    limits = limits or PlanLimits()
    target_w = max(0.0, target_w) if math.isfinite(target_w) else 0.0
    kinds: dict[OperatingPoints | None, _Kind] = {}

    base_w = fixed_w
    base_hashrate = 0.0
    locked: list[MinerAssignment] = []
    units: list[_Unit] = []
    for m in miners:
        if not m.available:
            base_w += m.present_w
            continue
        kind = kinds.get(m.points)
        if kind is None:
            kind = kinds[m.points] = _Kind.of(m.points, limits)
        curve = kind.curve
        standby = curve.standby_w if m.standby_w is None else m.standby_w
        cur = (m.mhz if m.mhz is not None else curve.nominal_mhz) if m.running else None
        if m.locked:
            base_w += standby
            if cur is not None:
                base_w += m.arrival * (m.power_scale * curve.power_w(cur) - standby)
                base_hashrate += m.arrival * curve.hashrate_ths(cur)
            locked.append(MinerAssignment(m.mac, Action.KEEP, cur))
            continue
        lo, hi = _setting_range(m, kind, cur, mode, limits)
        start_cost = limits.hot_start_cost_s if m.hot else kind.start_cost_s
        resumes = cur is None and m.resume_mhz is not None
        units.append(_Unit(m, kind, standby, lo, hi, cur, resumes, start_cost))
        base_w += standby

    best = _choose(target_w, base_w, units, limits, mode)
    assignments = [*locked, *_assign(units, best)]
    assignments.sort(key=lambda a: a.mac)
    planned_w = best.total_w
    hashrate = base_hashrate + best.hashrate_ths
    by_power = {u.miner.mac for u in units if u.kind.watt_setting} | {
        m.mac
        for m in miners
        if m.locked and m.points is not None and m.points.unit is SettingUnit.WATT
    }
    running_mhz = [a.mhz for a in assignments if a.mhz is not None and a.mac not in by_power]
    running_w = [a.mhz for a in assignments if a.mhz is not None and a.mac in by_power]
    return DispatchPlan(
        target_w=target_w,
        mode=mode,
        policy=limits.policy,
        planned_w=planned_w,
        hashrate_ths=hashrate,
        assignments=tuple(assignments),
        summary=describe_plan(running_mhz, planned_w, running_w),
    )


def _setting_range(
    m: PlanMiner, kind: _Kind, cur: float | None, mode: PowerMode, limits: PlanLimits
) -> tuple[float, float]:
    """The settings the planner may give a miner in `mode`."""
    curve = kind.curve
    if cur is None and m.resume_mhz is not None:
        return m.resume_mhz, m.resume_mhz  # it comes back at the setting its start runs with
    full = limits.full_mhz(mode) if not kind.watt_setting else curve.nominal_mhz
    if mode is PowerMode.ON_OFF or not m.can_set_frequency:
        fixed = full if m.can_set_frequency else (cur or curve.nominal_mhz)
        return fixed, fixed
    if kind.watt_setting:  # a power target or preset: anything its firmware accepts
        if kind.levels:
            return kind.levels[0], kind.levels[-1]
        return curve.min_mhz, curve.max_mhz
    lo = max(limits.min_mhz, curve.min_mhz)
    return lo, max(lo, min(limits.max_mhz, curve.max_mhz))


def present_power_w(
    mode: PowerMode,
    miners: Sequence[PlanMiner],
    limits: PlanLimits | None = None,
    *,
    fixed_w: float = 0.0,
) -> float:
    """Expected fleet draw if every miner stays as it is (running miners at their frequency)."""
    limits = limits or PlanLimits()
    total = fixed_w
    for m in miners:
        if not m.available:
            total += m.present_w
            continue
        curve = m.points.curve if m.points is not None else limits.curve
        standby = curve.standby_w if m.standby_w is None else m.standby_w
        total += standby
        if m.running:
            mhz = m.mhz if m.mhz is not None else curve.nominal_mhz
            total += m.arrival * (m.power_scale * curve.power_w(mhz) - standby)
    return total


def describe_plan(
    running_mhz: Sequence[float], planned_w: float, running_w: Sequence[float] = ()
) -> str:
    """A short human description, e.g. "2 miners at 650 MHz ≈ 2.92 kW". `running_w` are the
    settings of miners set by power (targets, presets), described apart."""
    kw = f"≈ {planned_w / 1000.0:.2f} kW"
    if not running_mhz and not running_w:
        return f"all miners asleep {kw}"
    if not running_w:
        return f"{_describe_group(running_mhz, 'MHz')} {kw}"
    if not running_mhz:
        return f"{_describe_group(running_w, 'W')} {kw}"
    return f"{_describe_group(running_mhz, 'MHz')}, {_describe_group(running_w, 'W')} {kw}"


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


# --- choosing --------------------------------------------------------------------------------


def _choose(
    target_w: float, base_w: float, units: list[_Unit], limits: PlanLimits, mode: PowerMode
) -> _Candidate:
    on = [u for u in units if u.cur_mhz is not None]
    off = [u for u in units if u.cur_mhz is None]
    # The kinds that follow targets least cheaply stop first and start last, so the swing
    # miners (any power while hashing) stay in; then efficiency; within a kind, wear.
    stop_order = sorted(
        on,
        key=lambda u: (
            -u.kind.agility,
            -u.kind.rank,
            not u.miner.starting,
            -u.miner.runtime_s,
            u.miner.mac,
        ),
    )
    # Healthy miners before ones whose last wake failed: a retry happens only without spares;
    # ones that come back without a new wake before any that need one.
    start_order = sorted(
        off,
        key=lambda u: (
            u.miner.wake_failures,
            not u.resumes,
            u.kind.agility,
            not u.miner.hot,
            u.kind.rank,
            u.miner.runtime_s,
            u.miner.mac,
        ),
    )
    composer = _Composer(stop_order, start_order)
    need_w = target_w - base_w
    floor_rounding = limits.policy is TargetPolicy.NEVER_ABOVE
    mixed = len({u.kind for u in units}) > 1
    # With fast moves on offer, the fewest slow transitions come before efficiency.
    fast_moves = any(not (u.kind.slow_start and u.kind.slow_change) for u in units)

    candidates: list[_Candidate] = []
    counts = _candidate_counts(composer, units, need_w, limits, mode)
    for n in counts:
        members = composer.members(n)
        candidates.append(_min_change(members, need_w, limits, floor_rounding))
        if mode is PowerMode.FREQUENCY:
            candidates.append(_uniform(members, need_w, limits, floor_rounding, mixed=mixed))
    nearest_band, below_band = _bands(units, limits, mode)
    for c in candidates:
        _finish(c, units, base_w)
    scored = [(_score(c, target_w, nearest_band, below_band, limits), c) for c in candidates]
    # The best hashrate among plans that meet the target as well as any plan does.
    best_fit = min(s[:2] for s, _ in scored)
    best_hashrate = max(c.hashrate_ths for s, c in scored if s[:2] == best_fit)
    floor = limits.efficiency_floor * best_hashrate - _WATT_EPSILON

    def key(
        item: tuple[tuple[int, float, float, float, float], _Candidate],
    ) -> tuple[int, float, int, bool, float, float, float]:
        (band, miss, cost, error, wear), c = item
        slow = c.slow if fast_moves else 0
        return (band, miss, slow, c.hashrate_ths < floor, cost, error, wear)

    return min(scored, key=key)[1]


class _Composer:
    """Which units run when `n` of them do: the running ones, trimmed or extended by wear."""

    def __init__(self, stop_order: list[_Unit], start_order: list[_Unit]) -> None:
        self.stop_order = stop_order
        self.start_order = start_order

    @property
    def running(self) -> int:
        return len(self.stop_order)

    @property
    def size(self) -> int:
        return len(self.stop_order) + len(self.start_order)

    def members(self, n: int) -> list[_Unit]:
        k = self.running
        if n <= k:
            return self.stop_order[k - n :]
        return [*self.stop_order, *self.start_order[: n - k]]


def _candidate_counts(
    composer: _Composer, units: list[_Unit], need_w: float, limits: PlanLimits, mode: PowerMode
) -> list[int]:
    """Numbers of running miners worth evaluating: around the present count, the bounds of what
    can meet the target, and (in frequency mode) the counts that hash most per kW."""
    size = composer.size
    k = composer.running
    lo_sum = [0.0]
    hi_sum = [0.0]
    for n in range(1, size + 1):
        # The unit that joins when the count goes from n - 1 to n.
        u = composer.stop_order[k - n] if n <= k else composer.start_order[n - k - 1]
        lo_sum.append(lo_sum[-1] + u.increment_w(u.lo_mhz))
        hi_sum.append(hi_sum[-1] + u.increment_w(u.hi_mhz))
    # Smallest count that can reach the target, and largest that does not exceed it.
    n_min = next((n for n in range(size + 1) if hi_sum[n] >= need_w), size)
    n_max = max((n for n in range(size + 1) if lo_sum[n] <= need_w), default=0)
    # Miners whose last wake failed are started only if the healthy ones cannot do it.
    healthy_max = k + sum(1 for u in composer.start_order if u.miner.wake_failures == 0)
    if hi_sum[healthy_max] >= need_w:
        size = healthy_max
        n_min, n_max = min(n_min, size), min(n_max, size)
    picks = {0, size, k, n_min, n_max, n_min - 1, n_max + 1}
    if n_min <= n_max:
        picks.update(min(max(k + d, n_min), n_max) for d in (-1, 0, 1))
    if mode is PowerMode.FREQUENCY and units and need_w > 0:
        picks.update(_efficient_counts(units, need_w, limits, max(1, n_min), min(size, n_max)))
        # A mixed fleet: also every count where one kind ends and the next begins (all of the
        # swing miners, all fast ones...), which spread the power over whole kinds.
        order = [*reversed(composer.stop_order), *composer.start_order]
        picks.update(
            n
            for n in range(1, len(order))
            if order[n].kind != order[n - 1].kind and n_min <= n <= n_max
        )
    return sorted(n for n in picks if 0 <= n <= size)


def _efficient_counts(
    units: list[_Unit], need_w: float, limits: PlanLimits, low: int, high: int
) -> list[int]:
    """The few counts whose even spread of `need_w` makes the most hashrate (for a fleet of
    one kind; a mixed fleet's counts come from the bounds and the present count)."""
    kind = units[0].kind
    if any(u.kind != kind for u in units):
        return []
    curve = kind.curve
    scale = sum(u.miner.power_scale for u in units) / len(units)
    arrival = max(_MIN_ARRIVAL, sum(u.miner.arrival for u in units) / len(units))
    standby = sum(u.standby_w for u in units) / len(units)
    if kind.watt_setting:
        lo_w, hi_w = curve.min_w, curve.max_w
    else:
        lo_w = curve.power_w(max(limits.min_mhz, curve.min_mhz))
        hi_w = curve.power_w(limits.max_mhz)
    ranked: list[tuple[float, int]] = []
    for n in range(low, high + 1):
        per_unit = (need_w / (n * arrival) + standby) / scale
        if lo_w - _WATT_EPSILON <= per_unit <= hi_w + _WATT_EPSILON:
            ranked.append((n * curve.hashrate_ths(curve.mhz_for_power(per_unit)), n))
    ranked.sort(reverse=True)
    picks = [n for _, n in ranked[:3]]
    if ranked:
        # The fewest miners that come within the efficiency floor of the best spread.
        floor = limits.efficiency_floor * ranked[0][0]
        picks.append(min(n for value, n in ranked if value >= floor))
    return picks


def _bands(units: list[_Unit], limits: PlanLimits, mode: PowerMode) -> tuple[float, float]:
    """What counts as meeting the target: (either side, for nearest; below, for never above).

    On/off: half a miner either side, or up to one miner below. Frequency: the tolerance.
    The same band applies to adding and shedding, so the two never fight.
    """
    if mode is PowerMode.FREQUENCY:
        return limits.frequency_tolerance_w, limits.frequency_tolerance_w
    if units:
        step = sum(u.full_increment_w(u.hi_mhz) for u in units) / len(units)
    else:
        step = limits.curve.nominal_w
    return step / 2, step


def _score(
    c: _Candidate, target_w: float, nearest_band: float, below_band: float, limits: PlanLimits
) -> tuple[int, float, float, float, float]:
    """Smaller is better: (misses the band, by how much, transitions less hashrate, error, wear)."""
    error = c.total_w - target_w
    if limits.policy is TargetPolicy.NEVER_ABOVE:
        if error > _WATT_EPSILON:
            band, miss = 2, error  # above the target: only if nothing fits, the least overshoot
        elif -error <= below_band + _WATT_EPSILON:
            band, miss = 0, 0.0
        else:
            band, miss = 1, -error
    elif abs(error) <= nearest_band + _WATT_EPSILON:
        band, miss = 0, 0.0
    else:
        band, miss = 1, abs(error)
    cost = c.transition_cost - c.hashrate_ths * limits.payback_horizon_s
    return (band, miss, round(cost, 6), abs(error), c.runtime_on_s)


# --- allocating ------------------------------------------------------------------------------


def _quantize(mhz: float, unit: _Unit, floor: bool) -> float:
    levels = unit.kind.levels
    if levels:
        allowed = [v for v in levels if unit.lo_mhz <= v <= unit.hi_mhz] or [unit.lo_mhz]
        if floor:
            below = [v for v in allowed if v <= mhz + 1e-9]
            return below[-1] if below else allowed[0]
        return min(allowed, key=lambda v: (abs(v - mhz), v))
    step = unit.kind.step
    steps = mhz / step
    q = (math.floor(steps + 1e-9) if floor else round(steps)) * step
    return min(max(q, unit.lo_mhz), unit.hi_mhz)


def _mhz_for_increment(unit: _Unit, increment_w: float, floor: bool) -> float:
    arrival = max(unit.miner.arrival, _MIN_ARRIVAL)
    watts = (increment_w / arrival + unit.standby_w) / unit.miner.power_scale
    return _quantize(unit.curve.mhz_for_power(watts), unit, floor)


def _present_mhz(unit: _Unit) -> float | None:
    """Where a running unit stays if left alone, pulled into its allowed range."""
    if unit.cur_mhz is None:
        return None
    return min(max(unit.cur_mhz, unit.lo_mhz), unit.hi_mhz)


def _min_change(members: list[_Unit], need_w: float, limits: PlanLimits, floor: bool) -> _Candidate:
    """Run `members`; keep running ones where they are, let new ones share what is missing,
    then move as few running ones as possible for the rest."""
    mhz: dict[str, float | None] = {}
    new = [u for u in members if u.cur_mhz is None]
    remaining = need_w
    for u in members:
        present = _present_mhz(u)
        if present is not None:
            mhz[u.miner.mac] = present
            remaining -= u.increment_w(present)
    if new:
        share = remaining / len(new)
        for u in new:
            f = _mhz_for_increment(u, share, floor)
            mhz[u.miner.mac] = f
            remaining -= u.increment_w(f)
    changed = list(new)
    _absorb(mhz, members, changed, remaining, limits=limits, floor=floor)
    return _Candidate(mhz)


def _uniform(
    members: list[_Unit], need_w: float, limits: PlanLimits, floor: bool, *, mixed: bool
) -> _Candidate:
    """Run `members` with the power spread evenly (the most hashrate per kW on a concave curve);
    in a mixed fleet in proportion to what each can add."""
    mhz: dict[str, float | None] = {}
    if not members:
        return _Candidate(mhz)
    weights = [u.full_increment_w(u.hi_mhz) if mixed else 1.0 for u in members]
    total_weight = sum(weights) or 1.0
    remaining = need_w
    changed: list[_Unit] = []
    for u, weight in zip(members, weights, strict=True):
        f = _mhz_for_increment(u, need_w * weight / total_weight, floor)
        present = _present_mhz(u)
        if present is not None and abs(present - f) <= u.kind.step + _MHZ_EPSILON:
            f = present  # close enough: not worth a restart
        else:
            changed.append(u)
        mhz[u.miner.mac] = f
        remaining -= u.increment_w(f)
    _absorb(mhz, members, changed, remaining, limits=limits, floor=floor)
    return _Candidate(mhz)


def _absorb(
    mhz: dict[str, float | None],
    members: list[_Unit],
    changed: list[_Unit],
    remaining: float,
    *,
    limits: PlanLimits,
    floor: bool,
) -> None:
    """Move settings to absorb `remaining` watts: units already changing first (their change
    is paid for), then the running units whose change costs least, with the most room."""
    if abs(remaining) <= limits.mhz_step:  # below a frequency step: nothing to gain
        return
    up = remaining > 0
    changed_macs = {u.miner.mac for u in changed}

    def room(u: _Unit) -> float:
        f = mhz[u.miner.mac]
        assert f is not None
        edge = u.hi_mhz if up else u.lo_mhz
        return abs(u.increment_w(edge) - u.increment_w(f))

    rest = sorted(
        (u for u in members if u.miner.mac not in changed_macs),
        key=lambda u: (u.kind.retune_cost_s * u.hash_value, -room(u)),
    )
    for u in [*changed, *rest]:
        if (remaining <= _WATT_EPSILON) if up else (remaining >= -_WATT_EPSILON):
            break
        f = mhz[u.miner.mac]
        assert f is not None
        before = u.increment_w(f)
        wanted = before + remaining
        g = _mhz_for_increment(u, wanted, floor)
        if abs(g - f) < _MHZ_EPSILON:
            continue
        mhz[u.miner.mac] = g
        remaining -= u.increment_w(g) - before


def _finish(c: _Candidate, units: list[_Unit], base_w: float) -> None:
    """Fill in totals, transition counts and the hashing the transitions lose."""
    total = base_w
    hashrate = 0.0
    starts = stops = retunes = 0
    runtime = cost = 0.0
    slow = 0
    for u in units:
        f = c.mhz.get(u.miner.mac)
        if f is None:
            if u.cur_mhz is not None:
                stops += 1
                cost += u.hash_value * u.kind.stop_cost_s
            continue
        total += u.increment_w(f)
        hashrate += u.miner.arrival * u.hashrate_ths(f)
        runtime += u.miner.runtime_s
        if u.cur_mhz is None:
            if not u.resumes:
                starts += 1
                cost += u.hash_value * u.start_cost_s
                slow += u.start_cost_s > _SLOW_S
        elif abs(f - u.cur_mhz) >= _MHZ_EPSILON:
            retunes += 1
            cost += u.hash_value * u.kind.retune_cost_s
            slow += u.kind.slow_change
    c.total_w = total
    c.hashrate_ths = hashrate
    c.starts, c.stops, c.retunes = starts, stops, retunes
    c.runtime_on_s = runtime
    c.transition_cost = cost
    c.slow = slow


def _assign(units: list[_Unit], best: _Candidate) -> list[MinerAssignment]:
    out: list[MinerAssignment] = []
    for u in units:
        f = best.mhz.get(u.miner.mac)
        if f is None:
            action = Action.STOP if u.cur_mhz is not None else Action.KEEP
        elif u.cur_mhz is None:
            action = Action.START
        elif abs(f - u.cur_mhz) >= _MHZ_EPSILON:
            action = Action.RETUNE
        else:
            action = Action.KEEP
        out.append(MinerAssignment(u.miner.mac, action, f))
    return out
