"""Transitions are judged by their progress and timed: a wake or a change that keeps moving is
never failed by a clock, one that stopped moving fails after the pauses its miner (or kind) was
seen to take, and what was measured replaces the driver's claims."""

from __future__ import annotations

from dataclasses import replace

from custom_components.net_stabilization.core.fleet import ControlConfig, ManualClock
from custom_components.net_stabilization.core.fleet.actuator import Order
from custom_components.net_stabilization.core.fleet.lifecycle import FleetMiner, Stage
from custom_components.net_stabilization.core.fleet.model import PowerMode
from custom_components.net_stabilization.core.fleet.planner import (
    Action,
    PlanMiner,
    plan_dispatch,
)
from custom_components.net_stabilization.core.fleet.timings import (
    Deadlines,
    TimingBook,
    TimingSample,
    Transition,
    sample_from_row,
)
from custom_components.net_stabilization.core.miners.base import (
    MinerReading,
    MiningState,
    OperatingPoints,
    SettingUnit,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE, PowerCurve

from .fakes import FakeMiner

CONFIG = ControlConfig(wake_start_timeout_s=100.0, wake_timeout_s=200.0, change_timeout_s=150.0)
# A miner whose kind may go five minutes without visible progress, within fifteen at most.
PATIENT = Deadlines(
    start_pause_s=360.0, start_ceiling_s=900.0, change_pause_s=300.0, change_ceiling_s=1200.0
)
FULL_W = S9_CURVE.nominal_w


def reading(state: MiningState, power_w: float, ths: float | None = None) -> MinerReading:
    return MinerReading(
        online=True, state=state, power_w=power_w, hashrate_ths=ths, frequency_mhz=650.0
    )


def woken() -> FleetMiner:
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    m.observe(reading(MiningState.SLEEPING, 50.0), None, 0.0, curve=S9_CURVE)
    order = m.wake(0.0, 650.0, None)
    assert isinstance(order, Order)
    m.order_done(order, None, 0.0, CONFIG)
    return m


def test_a_wake_that_keeps_moving_is_waking_long_past_the_configured_deadline() -> None:
    m = woken()
    power = 50.0
    for t in range(10, 601, 10):  # a slow start: power creeps up, nothing hashes for minutes
        power += 10.0 if t % 60 == 0 else 0.0
        m.observe(reading(MiningState.SLEEPING, power), None, float(t), curve=S9_CURVE)
        assert m.check(float(t), CONFIG, 45.0, PATIENT) is None, t
    assert m.stage is Stage.WAKING


def test_a_wake_whose_firmware_reports_a_ramp_waits_for_the_ceiling() -> None:
    m = woken()
    m.observe(reading(MiningState.STARTING, 700.0, 5.0), None, 30.0, curve=S9_CURVE)
    for t in range(40, 900, 10):  # hashing, stuck at half power: the firmware says it ramps
        m.observe(reading(MiningState.STARTING, 700.0, 5.0), None, float(t), curve=S9_CURVE)
        assert m.check(float(t), CONFIG, 45.0, PATIENT) is None, t
    assert m.check(900.0, CONFIG, 45.0, PATIENT) == "did not reach full hashrate after a wake"


def test_a_wake_that_stopped_moving_fails_after_its_pause_limit() -> None:
    m = woken()
    for t in range(10, 360, 10):
        m.observe(reading(MiningState.SLEEPING, 50.0), None, float(t), curve=S9_CURVE)
        assert m.check(float(t), CONFIG, 45.0, PATIENT) is None, t
    assert m.check(360.0, CONFIG, 45.0, PATIENT) == "did not start mining after a wake"


def test_a_wake_is_timed_to_hashing_and_to_full_power() -> None:
    m = woken()
    m.observe(None, "rebooting", 5.0, curve=S9_CURVE)
    m.observe(reading(MiningState.SLEEPING, 100.0), None, 95.0, curve=S9_CURVE)  # web back
    m.observe(reading(MiningState.STARTING, 600.0, 4.0), None, 110.0, curve=S9_CURVE)
    m.observe(reading(MiningState.MINING, 0.8 * FULL_W, 11.0), None, 150.0, curve=S9_CURVE)
    assert m.stage is Stage.WAKING  # mining, but not at the power of its setting yet
    m.observe(reading(MiningState.MINING, FULL_W, 13.7), None, 170.0, curve=S9_CURVE)
    assert m.stage is Stage.MINING
    timed = {t: (seconds, pause) for t, seconds, pause, ok in m.take_timings() if ok}
    assert timed[Transition.START] == (110.0, 90.0)  # the boot: down at 5 s, back at 95 s
    assert timed[Transition.FULL] == (170.0, 90.0)


def test_a_slow_power_target_that_pauses_is_changing_not_failed() -> None:
    curve = PowerCurve(
        points=((1200.0, 1200.0, 40.0), (3600.0, 3600.0, 100.0)),
        nominal_mhz=3000.0,
        standby_w=20.0,
    )
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    # A miner that draws up to 3.6 kW (an S19-class power-target miner, not the fake's S9).
    m.capabilities = replace(m.capabilities, max_w=3600.0)
    at = 800.0
    m.observe(reading(MiningState.MINING, at), None, 0.0, curve=curve)
    order = m.change_setting(0.0, 3000.0)
    assert order is not None
    m.order_done(order, None, 0.0, CONFIG)
    # Up in steps, each held for minutes while temperatures settle.
    for t in range(5, 1000, 5):
        if t % 240 == 0:
            at = min(3000.0, at + 550.0)
        now_reading = MinerReading(
            online=True, state=MiningState.MINING, power_w=at, setting=3000.0
        )
        m.observe(now_reading, None, float(t), curve=curve)
        reason = m.check(float(t), CONFIG, 45.0, PATIENT)
        assert reason is None, (t, reason)
        if m.stage is Stage.MINING:
            break
    assert m.stage is Stage.MINING and at == 3000.0
    ((transition, seconds, pause, ok),) = m.take_timings()
    assert (transition, ok) == (Transition.CHANGE, True) and seconds == 960.0 and pause == 240.0


def test_the_book_gives_a_seen_miner_its_own_pauses_and_an_unseen_one_its_kinds() -> None:
    book = TimingBook()
    for mac, pause in (("a", 60.0), ("b", 90.0)):
        book.record(TimingSample(mac, "vnish/S9", Transition.FULL, pause + 80.0, pause))
    assert book.pause_limit_s("a", "vnish/S9", Transition.FULL, 240.0, 5.0) == 2 * 60.0 + 10.0
    # Not seen yet: twice the longest pause of its kind, never below the driver's prior.
    assert book.pause_limit_s("c", "vnish/S9", Transition.FULL, 240.0, 5.0) == 240.0
    assert book.pause_limit_s("c", "vnish/S9", Transition.FULL, 100.0, 5.0) == 2.5 * 90.0 + 10.0
    assert book.typical_s("a", "vnish/S9", Transition.FULL) == 140.0
    assert book.typical_s("c", "vnish/S9", Transition.FULL) == 155.0  # its kind's median
    assert book.typical_s("c", "luxos/S19", Transition.FULL) is None


def test_stored_samples_come_back_and_nonsense_is_skipped() -> None:
    good = {"mac": "a", "kind": "k", "transition": "change", "seconds": 90.0, "pause_s": 30.0}
    sample = sample_from_row(good)
    assert sample is not None and sample.transition is Transition.CHANGE and sample.ok
    for bad in (
        {**good, "transition": "teleport"},
        {**good, "seconds": -1.0},
        {**good, "pause_s": "x"},
        {"mac": "a"},
    ):
        assert sample_from_row(bad) is None
    book = TimingBook()
    assert book.restore([sample]) == 1 and book.drain() == []  # restored, not stored again
    assert book.typical_s("a", "k", Transition.CHANGE) == 90.0


# A power-target miner: any target, hashing through the change.
TARGET = OperatingPoints(
    curve=PowerCurve(
        points=((1200.0, 1200.0, 40.0), (3600.0, 3600.0, 100.0)),
        nominal_mhz=3000.0,
        standby_w=20.0,
    ),
    unit=SettingUnit.WATT,
    step=10.0,
    wake_s=30.0,
    wake_reboots=False,
    change_s=10.0,
    change_stops_hashing=False,
)


def test_the_swing_miner_is_the_one_seen_to_move_fast() -> None:
    def fleet(slow_change_s: float | None) -> list[PlanMiner]:
        return [
            PlanMiner("A", True, setting=2000.0, points=TARGET, change_s=slow_change_s),
            PlanMiner("B", True, setting=2600.0, points=TARGET),
        ]

    target = 2000.0 + 2600.0 + 500.0
    claimed = plan_dispatch(target, PowerMode.FREQUENCY, fleet(None))
    assert claimed.assignment("A").action is Action.CHANGE  # type: ignore[union-attr]
    measured = plan_dispatch(target, PowerMode.FREQUENCY, fleet(600.0))
    assert measured.assignment("A").action is Action.KEEP  # type: ignore[union-attr]
    assert measured.assignment("B").action is Action.CHANGE  # type: ignore[union-attr]
