"""A firmware that says it is still tuning, ramping or stabilising is on its way: its word counts
as progress, so a transition whose power holds for longer than its kind was seen to pause is
not failed while the firmware says so, and still fails at its kind's hard ceiling."""

from __future__ import annotations

from dataclasses import replace

from custom_components.net_stabilization.core.fleet import ControlConfig, ManualClock
from custom_components.net_stabilization.core.fleet.lifecycle import FleetMiner, Stage
from custom_components.net_stabilization.core.fleet.progress import Progress
from custom_components.net_stabilization.core.fleet.timings import Deadlines
from custom_components.net_stabilization.core.miners.base import MinerReading, MiningState
from custom_components.net_stabilization.core.power_curve import PowerCurve

from .fakes import FakeMiner

CONFIG = ControlConfig(wake_start_timeout_s=100.0, wake_timeout_s=200.0, change_timeout_s=150.0)
# A Braiins OS+ miner's kind, seen to pause at most two minutes on a change (2.5 times that is
# the limit for a miner not seen yet), with its hard ceiling of twenty minutes.
BRAIINS_KIND = Deadlines(
    start_pause_s=300.0, start_ceiling_s=900.0, change_pause_s=300.0, change_ceiling_s=1200.0
)
# An S19k Pro's power targets, 771 W to 3 kW and more.
CURVE = PowerCurve(
    points=((700.0, 710.0, 30.0), (3000.0, 3010.0, 100.0), (3600.0, 3610.0, 115.0)),
    nominal_mhz=3000.0,
    standby_w=35.0,
)


def tuning(power_w: float, settling: bool | None) -> MinerReading:
    """A Braiins OS+ reading while a new target is reached: hashing well below what the target
    predicts (so the driver calls it starting), the target already in force."""
    return MinerReading(
        online=True,
        state=MiningState.STARTING,
        power_w=power_w,
        hashrate_ths=power_w / 30.0,
        setting=3000.0,
        settling=settling,
    )


def changing() -> FleetMiner:
    """A miner at 771 W told to run at 3 kW."""
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    m.capabilities = replace(m.capabilities, max_w=3610.0)
    m.observe(
        MinerReading(online=True, state=MiningState.MINING, power_w=771.0, setting=771.0),
        None,
        0.0,
        curve=CURVE,
    )
    order = m.change_setting(0.0, 3000.0)
    assert order is not None
    m.order_done(order, None, 0.0, CONFIG)
    return m


def hold_at_a_step(m: FleetMiner, settling: bool | None, until_s: int) -> dict[int, str | None]:
    """Up to the first step (1 kW), then held there: what `check` says at every poll."""
    reasons = {}
    for t in range(10, until_s + 1, 10):
        m.observe(tuning(1000.0, settling), None, float(t), curve=CURVE)
        reasons[t] = m.check(float(t), CONFIG, 45.0, BRAIINS_KIND)
        if reasons[t] is not None:
            break
    return reasons


def test_a_tuner_that_reports_tuning_keeps_a_held_step_from_failing() -> None:
    m = changing()
    reasons = hold_at_a_step(m, True, 600)
    # Twice the kind's longest pause at one step, the tuner tuning throughout: changing.
    assert set(reasons.values()) == {None}
    assert m.stage is Stage.CHANGING
    # Then the next step and the target: arrived, not failed.
    for t, power in ((610, 2000.0), (620, 3000.0)):
        reading = replace(tuning(power, False), state=MiningState.MINING)
        m.observe(reading, None, float(t), curve=CURVE)
        assert m.check(float(t), CONFIG, 45.0, BRAIINS_KIND) is None
    assert m.stage in (Stage.MINING,)  # arrived (read again after the readings above)


def test_the_same_held_step_without_the_firmwares_word_fails_after_the_pause() -> None:
    m = changing()
    reasons = hold_at_a_step(m, None, 600)
    failed_at = max(reasons)
    assert reasons[failed_at] == "did not come back after a change of setting"
    assert 300 <= failed_at <= 320  # the kind's pause, not a moment sooner


def test_a_firmware_that_reports_steady_is_judged_by_its_power_alone() -> None:
    m = changing()
    reasons = hold_at_a_step(m, False, 600)
    assert reasons[max(reasons)] == "did not come back after a change of setting"


def test_a_firmware_tuning_forever_still_fails_at_the_ceiling() -> None:
    m = changing()
    reasons = hold_at_a_step(m, True, 1500)
    failed_at = max(reasons)
    assert reasons[failed_at] == "did not reach its new setting in time after a change of setting"
    assert failed_at == 1200


def test_a_wake_whose_firmware_initialises_is_waking_until_its_ceiling() -> None:
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    asleep = MinerReading(online=True, state=MiningState.SLEEPING, power_w=35.0)
    m.observe(asleep, None, 0.0, curve=CURVE)
    order = m.wake(0.0, 3000.0, None)
    assert order is not None
    m.order_done(order, None, 0.0, CONFIG)
    reasons = {}
    for t in range(10, 1000, 10):
        # Boards powered and initialising, no hashing yet, the draw flat: the firmware says so.
        m.observe(replace(asleep, power_w=160.0, settling=True), None, float(t), curve=CURVE)
        reasons[t] = m.check(float(t), CONFIG, 45.0, BRAIINS_KIND)
        if reasons[t] is not None:
            break
    assert reasons[max(reasons)] == "did not reach full hashrate after a wake"
    assert max(reasons) == 900


def test_the_firmwares_word_is_progress_and_its_silence_is_not() -> None:
    progress = Progress()
    start = MinerReading(online=True, state=MiningState.STARTING, power_w=1000.0)
    progress.start(0.0, start)
    assert not progress.observe(start, 100.0, 3000.0)
    assert not progress.observe(replace(start, settling=False), 200.0, 3000.0)
    assert progress.observe(replace(start, settling=True), 300.0, 3000.0)
    assert progress.stalled_s(300.0) == 0.0
    assert progress.longest_pause_s(300.0) == 300.0


def test_the_miners_snapshot_shows_the_firmwares_latest_word() -> None:
    m = changing()
    assert m.snapshot(5.0, 3, CURVE, dispatchable=True).settling is None
    m.observe(tuning(1000.0, True), None, 10.0, curve=CURVE)
    assert m.snapshot(10.0, 3, CURVE, dispatchable=True).settling is True
    m.observe(tuning(1000.0, False), None, 20.0, curve=CURVE)
    assert m.snapshot(20.0, 3, CURVE, dispatchable=True).settling is False


def test_a_miner_hashing_at_its_target_while_tuning_on_has_arrived_at_the_ceiling() -> None:
    # Braiins OS+ may keep tuning a new target for long, short of what the target predicts; the
    # miner hashes at its setting all the while, so the ceiling ends the change as arrived where
    # it can, not as a failure.
    m = changing()
    reasons = {}
    for t in range(10, 1500, 10):
        reading = replace(tuning(2600.0, True), state=MiningState.MINING)
        m.observe(reading, None, float(t), curve=CURVE)
        reasons[t] = m.check(float(t), CONFIG, 45.0, BRAIINS_KIND)
    assert set(reasons.values()) == {None}
    assert m.stage is Stage.MINING


def test_a_wake_hashing_while_its_firmware_tunes_on_has_arrived_at_the_ceiling() -> None:
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    asleep = MinerReading(online=True, state=MiningState.SLEEPING, power_w=35.0)
    m.observe(asleep, None, 0.0, curve=CURVE)
    order = m.wake(0.0, 3000.0, None)
    assert order is not None
    m.order_done(order, None, 0.0, CONFIG)
    reasons = {}
    for t in range(10, 1500, 10):
        hashing = replace(tuning(2600.0, True), state=MiningState.MINING)
        m.observe(hashing, None, float(t), curve=CURVE)
        reasons[t] = m.check(float(t), CONFIG, 45.0, BRAIINS_KIND)
    assert set(reasons.values()) == {None}
    assert m.stage is Stage.MINING
