"""Building the immutable fleet snapshot that status, entities and the fleet API read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .command_log import CommandRecord
from .limits import NO_LIMITS, SiteLimits, TargetSource
from .model import (
    FleetSnapshot,
    PowerMode,
    active_power_kw,
    derive_fleet_state,
    is_available_for_dispatch,
    running_status,
)
from .planner import DispatchPlan
from .roster import Roster
from .strategy import NO_STRATEGY, StrategyView


@dataclass(frozen=True, slots=True)
class Commanded:
    """What the fleet was told, as the snapshot shows it."""

    mode: PowerMode
    target_w: float | None
    dispatch_enabled: bool
    override_enabled: bool
    override_target_w: float | None
    plan: DispatchPlan | None
    last_command: CommandRecord | None
    limits: SiteLimits = NO_LIMITS
    source: TargetSource = TargetSource.NONE
    strategy: StrategyView = NO_STRATEGY


def fault_lines(roster: Roster) -> list[str]:
    """The fleet's faults: miners that keep mining through sleep orders."""
    return [f"{m.mac} keeps mining after sleep orders" for m in roster if m.shed_fault]


def build_snapshot(
    roster: Roster,
    commanded: Commanded,
    *,
    now: float,
    wall: datetime,
    meter_kw: float | None,
) -> FleetSnapshot:
    """The whole fleet at this moment."""
    offline_after = roster.offline_after
    ordered = sorted(roster, key=lambda m: m.mac)
    miners = tuple(
        m.snapshot(
            now,
            offline_after,
            roster.curve_of(m),
            dispatchable=m.trusted and m.dispatchable(now, offline_after),
        )
        for m in ordered
    )
    faults = fault_lines(roster)
    target = commanded.target_w
    target_kw = None if target is None else round(target / 1000.0, 3)
    dispatched_mining = sum(
        1 for m in ordered if (m.dispatched or m.shedding) and m.hashing() and m.reading
    )
    settling = any(m.in_transition for m in ordered)
    shedding = any(m.shedding and (m.hashing() or m.rebooting_for_us()) for m in ordered)
    good = sum(1 for m in ordered if roster.in_good_standing(m, now))
    if target is None:
        summary = "standby"
    elif commanded.plan is not None:
        summary = commanded.plan.summary
    else:
        summary = ""
    override_kw = (
        round(commanded.override_target_w / 1000.0, 3)
        if commanded.override_enabled and commanded.override_target_w is not None
        else None
    )
    return FleetSnapshot(
        state=derive_fleet_state(
            override_enabled=commanded.override_enabled,
            fault=bool(faults),
            target_kw=target_kw,
            settling=settling,
            shedding=shedding,
        ),
        mode=commanded.mode,
        available=is_available_for_dispatch(
            dispatch_enabled=commanded.dispatch_enabled,
            override_enabled=commanded.override_enabled,
            fault=bool(faults),
            dispatchable_miners=good if not commanded.limits.tripped else 0,
        ),
        running_status=running_status(target_kw=target_kw, dispatched_mining=dispatched_mining),
        rated_power_kw=commanded.limits.rated_kw(roster.rated_kw(now, commanded.mode)),
        active_power_kw=active_power_kw((s.consumption_w for s in miners), meter_kw),
        target_kw=target_kw,
        dispatch_enabled=commanded.dispatch_enabled,
        override_enabled=commanded.override_enabled,
        override_target_kw=override_kw,
        plan_summary=summary,
        hashrate_ths=round(sum(s.hashrate_ths or 0.0 for s in miners if not s.stale), 3),
        power_source="meter" if meter_kw is not None else "miners",
        updated_at=wall,
        miners=miners,
        faults=tuple(faults),
        last_command=commanded.last_command,
        target_source=commanded.source.value,
        limit_kw=None
        if commanded.limits.cap_w is None
        else round(commanded.limits.cap_w / 1000.0, 3),
        tripped=commanded.limits.tripped,
        hot_reserve_miners=sum(1 for s in miners if s.hot),
        hot_reserve_w=round(sum(s.consumption_w for s in miners if s.hot), 1),
        strategy=commanded.strategy.name,
        strategy_status=commanded.strategy.status.value,
        strategy_target_kw=commanded.strategy.target_kw,
        strategy_reason=commanded.strategy.reason,
    )
