"""Choosing a plan: which miners run (candidates around the present count, the bounds of the
target and the most efficient spreads), and which candidate wins (the target first, then the
fewest slow transitions, efficiency, how soon the slowest move ends, the cost of the
transitions, wear)."""

from __future__ import annotations

from .model import PowerMode
from .plan_model import PlanLimits, TargetPolicy
from .plan_settings import finish, min_change, uniform
from .plan_units import MIN_ARRIVAL, SLOW_S, WATT_EPSILON, Candidate, Kind, Unit


def choose(
    target_w: float, base_w: float, units: list[Unit], limits: PlanLimits, mode: PowerMode
) -> Candidate:
    on = [u for u in units if u.current is not None]
    off = [u for u in units if u.current is None]
    # The kinds that follow targets least cheaply stop first and start last, so the swing
    # miners (any power while hashing) stay in; then efficiency; within a kind, wear.
    stop_order = sorted(
        on,
        key=lambda u: (
            -u.agility,
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
            u.agility,
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
    # With fast moves on offer, a plan without slow transitions comes before efficiency.
    fast_moves = any(not (u.slow_start and u.slow_change) for u in units)

    candidates: list[Candidate] = []
    counts = _candidate_counts(composer, units, need_w, limits, mode)
    for n in counts:
        members = composer.members(n)
        candidates.append(min_change(members, need_w, limits, floor_rounding))
        if mode is PowerMode.FREQUENCY:
            candidates.append(uniform(members, need_w, limits, floor_rounding, mixed=mixed))
    if mixed:
        # No prefix of the orders may meet the target: a small miner may have to start in
        # place of a large one, or replace one that runs.
        for members in _other_memberships(stop_order, start_order, need_w, counts, composer):
            candidates.append(min_change(members, need_w, limits, floor_rounding))
    nearest_band, below_band = _bands(units, limits, mode)
    for c in candidates:
        finish(c, units, base_w)
    scored = [(_score(c, target_w, nearest_band, below_band, limits), c) for c in candidates]
    # The best hashrate among plans that meet the target as well as any plan does.
    best_fit = min(s[:2] for s, _ in scored)
    best_hashrate = max(c.hashrate_ths for s, c in scored if s[:2] == best_fit)
    floor = limits.efficiency_floor * best_hashrate - WATT_EPSILON

    def key(
        item: tuple[tuple[int, float, float, float, float], Candidate],
    ) -> tuple[int, float, bool, bool, int, float, float, float]:
        (band, miss, cost, error, wear), c = item
        # Whether the target waits for a slow move, not how many: slow moves run side by
        # side, so a plan with fewer of them arrives no sooner and is not worth less hashrate.
        slow = fast_moves and c.slow > 0
        # Waiting for slow moves in a mixed fleet: among plans efficient enough, the one
        # whose slowest move was seen to take least meets the target first.
        wait = round(c.slowest_s / SLOW_S) if slow and mixed else 0
        return (band, miss, slow, c.hashrate_ths < floor, wait, cost, error, wear)

    return min(scored, key=key)[1]


# A running miner of a kind may be swapped for miners of another: up to this many at a time.
_MOST_SWAPPED = 2


def _other_memberships(
    stop_order: list[Unit],
    start_order: list[Unit],
    need_w: float,
    counts: list[int],
    composer: _Composer,
) -> list[list[Unit]]:
    """Sets of running miners that the orders' prefixes miss, for a mixed fleet: one kind
    first to start, one kind first to stop (up to `_MOST_SWAPPED` of it replaced), with as
    many starts as bring the draw to the target. Miners whose wake failed still start last."""
    seen = {frozenset(u.miner.mac for u in composer.members(n)) for n in counts}
    stop_orders = [stop_order] + [
        [*(u for u in stop_order if u.kind == kind), *(u for u in stop_order if u.kind != kind)]
        for kind in dict.fromkeys(u.kind for u in stop_order)
    ]
    start_orders = [start_order] + [
        _kind_first(start_order, kind) for kind in dict.fromkeys(u.kind for u in start_order)
    ]
    out: list[list[Unit]] = []
    for stops in stop_orders:
        for drop in range(min(_MOST_SWAPPED, len(stops)) + 1):
            kept = stops[drop:]
            kept_lo = sum(u.increment_w(u.low) for u in kept)
            kept_hi = sum(u.increment_w(u.high) for u in kept)
            for starts in start_orders:
                lo_sum, hi_sum = [kept_lo], [kept_hi]
                for u in starts:
                    lo_sum.append(lo_sum[-1] + u.increment_w(u.low))
                    hi_sum.append(hi_sum[-1] + u.increment_w(u.high))
                size = len(starts)
                s_min = next((n for n in range(size + 1) if hi_sum[n] >= need_w), size)
                s_max = max((n for n in range(size + 1) if lo_sum[n] <= need_w), default=0)
                picks = {s_min - 1, s_min, s_max, s_max + 1}
                if drop == 0 and stops is stop_order:
                    # The counts the main orders spread over, from this kind first.
                    picks.update(c - len(kept) for c in counts)
                for n in picks:
                    if not 0 <= n <= size:
                        continue
                    members = [*kept, *starts[:n]]
                    macs = frozenset(u.miner.mac for u in members)
                    if macs not in seen:
                        seen.add(macs)
                        out.append(members)
    return out


def _kind_first(start_order: list[Unit], kind: Kind) -> list[Unit]:
    """`start_order` with the healthy miners of `kind` first."""

    def key(u: Unit) -> tuple[bool, bool]:
        return (u.miner.wake_failures > 0, u.kind != kind)

    return sorted(start_order, key=key)


class _Composer:
    """Which units run when `n` of them do: the running ones, trimmed or extended by wear."""

    def __init__(self, stop_order: list[Unit], start_order: list[Unit]) -> None:
        self.stop_order = stop_order
        self.start_order = start_order

    @property
    def running(self) -> int:
        return len(self.stop_order)

    @property
    def size(self) -> int:
        return len(self.stop_order) + len(self.start_order)

    def members(self, n: int) -> list[Unit]:
        k = self.running
        if n <= k:
            return self.stop_order[k - n :]
        return [*self.stop_order, *self.start_order[: n - k]]


def _candidate_counts(
    composer: _Composer, units: list[Unit], need_w: float, limits: PlanLimits, mode: PowerMode
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
        lo_sum.append(lo_sum[-1] + u.increment_w(u.low))
        hi_sum.append(hi_sum[-1] + u.increment_w(u.high))
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
    units: list[Unit], need_w: float, limits: PlanLimits, low: int, high: int
) -> list[int]:
    """The few counts whose even spread of `need_w` makes the most hashrate (for a fleet of
    one kind; a mixed fleet's counts come from the bounds and the present count)."""
    kind = units[0].kind
    if any(u.kind != kind for u in units):
        return []
    curve = kind.curve
    scale = sum(u.miner.power_scale for u in units) / len(units)
    arrival = max(MIN_ARRIVAL, sum(u.miner.arrival for u in units) / len(units))
    standby = sum(u.standby_w for u in units) / len(units)
    lo_w = curve.power_w(min(u.low for u in units))
    hi_w = curve.power_w(max(u.high for u in units))
    ranked: list[tuple[float, int]] = []
    for n in range(low, high + 1):
        per_unit = (need_w / (n * arrival) + standby) / scale
        if lo_w - WATT_EPSILON <= per_unit <= hi_w + WATT_EPSILON:
            ranked.append((n * curve.hashrate_ths(curve.setting_for_power(per_unit)), n))
    ranked.sort(reverse=True)
    picks = [n for _, n in ranked[:3]]
    if ranked:
        # The fewest miners that come within the efficiency floor of the best spread.
        floor = limits.efficiency_floor * ranked[0][0]
        picks.append(min(n for value, n in ranked if value >= floor))
    return picks


def _bands(units: list[Unit], limits: PlanLimits, mode: PowerMode) -> tuple[float, float]:
    """What counts as meeting the target: (either side, for nearest; below, for never above).

    On/off: half a miner either side, or up to one miner below. Frequency: the tolerance.
    The same band applies to adding and shedding, so the two never fight.
    """
    if mode is PowerMode.FREQUENCY:
        return limits.frequency_tolerance_w, limits.frequency_tolerance_w
    if units:
        step = sum(u.full_increment_w(u.high) for u in units) / len(units)
    else:
        step = limits.curve.nominal_w
    return step / 2, step


def _score(
    c: Candidate, target_w: float, nearest_band: float, below_band: float, limits: PlanLimits
) -> tuple[int, float, float, float, float]:
    """Smaller is better: (misses the band, by how much, transitions less hashrate, error, wear)."""
    error = c.total_w - target_w
    if limits.policy is TargetPolicy.NEVER_ABOVE:
        if error > WATT_EPSILON:
            band, miss = 2, error  # above the target: only if nothing fits, the least overshoot
        elif -error <= below_band + WATT_EPSILON:
            band, miss = 0, 0.0
        else:
            band, miss = 1, -error
    elif abs(error) <= nearest_band + WATT_EPSILON:
        band, miss = 0, 0.0
    else:
        band, miss = 1, abs(error)
    cost = c.transition_cost - c.hashrate_ths * limits.payback_horizon_s
    return (band, miss, round(cost, 6), abs(error), c.runtime_on_s)
