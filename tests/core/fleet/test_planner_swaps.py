"""A mixed fleet meets a target that no prefix of its start or stop order meets: the planner
starts a small miner instead of a large one, or swaps a large one for a small one, before it
settles for a miss (meeting the target comes before avoiding transitions)."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet.model import PowerMode
from custom_components.net_stabilization.core.fleet.planner import (
    Action,
    DispatchPlan,
    PlanMiner,
    plan_dispatch,
)
from custom_components.net_stabilization.core.miners.base import OperatingPoints, SettingUnit
from custom_components.net_stabilization.core.power_curve import S9_CURVE, PowerCurve


def _watt_curve(lo: float, hi: float, nominal: float, ths: float, standby: float) -> PowerCurve:
    points = tuple(
        (w, w, ths * (w / nominal) ** 0.8) for w in (lo + (hi - lo) * i / 8 for i in range(9))
    )
    return PowerCurve(points=points, nominal_mhz=nominal, standby_w=standby)


# A Braiins OS+ S19 class: any power target, hashing on.
BRAIINS = OperatingPoints(
    curve=_watt_curve(1200.0, 3600.0, 3050.0, 100.0, 20.0),
    unit=SettingUnit.WATT,
    step=10.0,
    wake_s=30.0,
    wake_reboots=False,
    change_s=10.0,
    change_stops_hashing=False,
)
# A LuxOS S19 class: profiles, curtail sleep and wakeup.
LUXOS = OperatingPoints(
    curve=PowerCurve(
        points=tuple((w, w, 95.0 * (w / 3000.0) ** 0.8) for w in (2400.0, 2700.0, 3000.0)),
        nominal_mhz=3000.0,
        standby_w=25.0,
    ),
    unit=SettingUnit.WATT,
    levels=(2400.0, 2700.0, 3000.0),
    wake_s=15.0,
    wake_reboots=False,
    change_s=30.0,
    change_stops_hashing=False,
)
READ_ONLY_W = 3400.0  # a Whatsminer the fleet can read but not command, at full power
TARGET_W = 8000.0


def fleet(*, luxos_running: bool) -> list[PlanMiner]:
    miners = [
        PlanMiner("BB", True, setting=3050.0, standby_w=20.0, points=BRAIINS),
        PlanMiner(
            "CC",
            luxos_running,
            setting=3000.0 if luxos_running else None,
            standby_w=25.0,
            points=LUXOS,
        ),
        PlanMiner("WM", False, available=False, present_w=READ_ONLY_W),
    ]
    miners += [PlanMiner(f"AA{i}", False) for i in range(3)]
    return miners


def s9_increment_w() -> float:
    return S9_CURVE.nominal_w - S9_CURVE.standby_w


def within_half_a_miner(plan: DispatchPlan) -> bool:
    return abs(plan.planned_w - TARGET_W) <= s9_increment_w() / 2


def test_an_activation_starts_a_small_miner_when_the_large_one_would_overshoot() -> None:
    plan = plan_dispatch(TARGET_W, PowerMode.ON_OFF, fleet(luxos_running=False))
    assert within_half_a_miner(plan), plan.summary
    started = {a.mac for a in plan.assignments if a.action is Action.START}
    assert started == {"AA0"} or (len(started) == 1 and started < {"AA0", "AA1", "AA2"})


def test_an_overshoot_from_a_read_only_miner_swaps_the_large_miner_for_a_small_one() -> None:
    plan = plan_dispatch(TARGET_W, PowerMode.ON_OFF, fleet(luxos_running=True))
    assert within_half_a_miner(plan), plan.summary
    assert plan.assignment("CC") is not None
    assert plan.assignment("CC").action is Action.STOP  # type: ignore[union-attr]
    assert sum(1 for a in plan.assignments if a.action is Action.START) == 1


def test_the_plan_knows_the_most_the_fleet_can_draw() -> None:
    plan = plan_dispatch(20_000.0, PowerMode.ON_OFF, fleet(luxos_running=False))
    assert plan.planned_w == plan.most_w  # everything runs: the most is what it plans
    short = plan_dispatch(TARGET_W, PowerMode.ON_OFF, fleet(luxos_running=False))
    assert short.most_w == plan.most_w and short.planned_w < short.most_w
