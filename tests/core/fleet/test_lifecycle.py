"""One miner's lifecycle, transition by transition: what each reading, order result and deadline
does to it, and which order it asks for."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import ControlConfig, ManualClock, MinerState
from custom_components.net_stabilization.core.fleet.actuator import Order, OrderKind
from custom_components.net_stabilization.core.fleet.lifecycle import FleetMiner, Stage, WakeStep
from custom_components.net_stabilization.core.miners.base import (
    MinerAuthError,
    MinerProtocolError,
    MinerReading,
    MinerUnreachableError,
    MiningState,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .fakes import FakeMiner

CONFIG = ControlConfig(wake_start_timeout_s=100.0, wake_timeout_s=200.0, change_timeout_s=150.0)
ASLEEP = MinerReading(online=True, state=MiningState.SLEEPING, power_w=50.0)
STARTING = MinerReading(online=True, state=MiningState.STARTING, frequency_mhz=650.0)
MINING = MinerReading(online=True, state=MiningState.MINING, frequency_mhz=650.0, uptime_s=5)


def miner(reading: MinerReading | None = ASLEEP) -> FleetMiner:
    m = FleetMiner(FakeMiner(ManualClock(), 0))
    m.observe(reading, None if reading else "down", 0.0)
    return m


def done(m: FleetMiner, order: Order | None, now: float, error: Exception | None = None) -> None:
    assert order is not None
    m.order_done(order, error, now, CONFIG)


def test_an_unidentified_driver_is_refused() -> None:
    class Anonymous(FakeMiner):
        @property
        def identity(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(ValueError, match="identify"):
        FleetMiner(Anonymous(ManualClock(), 0))


def test_a_wake_goes_booting_starting_ramping_mining() -> None:
    m = miner()
    order = m.wake(0.0, 650.0, None)
    assert order is not None and order.kind is OrderKind.WAKE and m.awaiting_order
    done(m, order, 0.0)
    m.observe(None, "refused", 5.0)
    assert m.state(5.0, 3) is MinerState.WAKING and m.rebooting_for_us()
    m.observe(ASLEEP, None, 60.0)  # web back, mining software starting
    news = m.observe(STARTING, None, 70.0)
    assert news is not None and news.delay_s == 10.0 and news.counts
    m.observe(MINING, None, 140.0)
    assert m.stage is Stage.MINING and m.transition_ended_at == 140.0


def test_a_refused_wake_is_a_real_failure() -> None:
    m = miner()
    order = m.wake(0.0, 650.0, None)
    done(m, order, 0.0, MinerAuthError("rejected"))
    reason = m.check(1.0, CONFIG, 45.0)
    assert reason is not None and "rejected" in reason
    counts, sleep = m.fail_wake(1.0, reason, CONFIG)
    assert counts and sleep is not None and sleep.kind is OrderKind.STOP
    assert m.wake_failures == 1 and not m.dispatchable(2.0, 3)


def test_a_wake_that_reached_nobody_is_sent_again_or_given_up_without_a_failure() -> None:
    m = miner()
    order = m.wake(0.0, 650.0, None)
    done(m, order, 0.0, MinerUnreachableError("refused"))
    again = m.follow_up(5.0, CONFIG)  # still answers reads: try again
    assert again is not None and again.kind is OrderKind.WAKE
    done(m, again, 5.0, MinerUnreachableError("refused"))
    assert m.check(101.0, CONFIG, 45.0) == "the wake could not be delivered"
    for t in (106.0, 111.0, 116.0):
        m.observe(None, "gone", t)
    assert m.unheard_and_gone(3)
    m.release()
    assert m.stage is Stage.SLEEPING and m.wake_failures == 0


def test_wake_and_change_deadlines() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    m.observe(STARTING, None, 50.0)
    assert m.check(201.0, CONFIG, 45.0) == "did not reach full hashrate after a wake"
    running = miner(MINING)
    order = running.change_setting(0.0, 500.0)
    assert order is not None and running.stage is Stage.CHANGING
    assert running.check(151.0, CONFIG, 45.0) == "did not come back after a change of setting"


def test_a_change_is_done_on_a_restart_since_it_was_asked() -> None:
    m = miner(MINING)
    m.observe(MINING, None, 100.0)
    done(m, m.change_setting(100.0, 500.0), 100.0)
    m.observe(MINING, None, 200.0)  # still 650 reported, but up for 5 s only: restarted
    assert m.stage is Stage.MINING


def test_a_refused_change_leaves_the_miner_where_it_was() -> None:
    m = miner(MINING)
    done(m, m.change_setting(0.0, 500.0), 0.0, MinerProtocolError("config says 650"))
    assert m.stage is Stage.MINING and m.running_setting() == 650.0


def test_something_seen_hashing_while_kept_asleep_is_told_again() -> None:
    m = miner(MINING)
    sleep = m.sleep(0.0, CONFIG)
    assert sleep is not None and sleep.kind is OrderKind.SLEEP
    done(m, sleep, 0.0)
    m.observe(ASLEEP, None, 5.0)
    assert m.follow_up(5.0, CONFIG) is None and m.stage is Stage.SLEEPING
    m.observe(MINING, None, 60.0)  # a reboot brought it up
    again = m.follow_up(60.0, CONFIG)
    assert again is not None and again.kind is OrderKind.SLEEP and m.shedding


def test_a_reboot_that_never_takes_the_miner_down_is_forgotten() -> None:
    m = miner()
    reboot = m.reboot(0.0, CONFIG)
    done(m, reboot, 0.0)
    assert m.rebooting_for_us()
    m.observe(ASLEEP, None, 40.0)
    sleep = m.follow_up(40.0, CONFIG)  # no reboot came within 30 s: an ordinary sleep
    assert sleep is not None and sleep.kind is OrderKind.SLEEP


def test_forcing_on_a_miner_on_its_way_costs_nothing() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    assert m.force_on(1.0, None) is None  # already waking
    other = miner()
    done(other, other.wake(0.0, 650.0, None), 0.0)
    other.observe(None, "booting", 5.0)
    stop = other.sleep(6.0, CONFIG)
    assert stop is not None and stop.kind is OrderKind.STOP
    resumed = other.force_on(7.0, None)
    assert resumed is not None and resumed.kind is OrderKind.CANCEL


def test_a_stop_that_lands_after_the_miner_was_given_back_is_followed_by_a_wake() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    m.observe(None, "booting", 5.0)
    stop = m.sleep(6.0, CONFIG)
    assert m.wake(7.0, 650.0, None) is not None  # given back: the stop is cancelled...
    assert m.stage is Stage.WAKING
    follow = m.order_done(stop, None, 8.0, CONFIG)  # ...but it was in flight and landed
    assert follow is not None and follow.kind is OrderKind.WAKE


def test_a_miner_seen_starting_after_a_restart_is_watched_like_a_wake() -> None:
    m = miner()
    m.resume_after_restart(0.0)
    assert m.stage is Stage.WAKING and m.dispatched
    m.observe(ASLEEP, None, 60.0)
    assert m.check(60.0 + 46.0, CONFIG, 45.0) is not None  # never started


def test_a_frequency_asked_during_the_boot_waits_for_the_web() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    m.observe(None, "booting", 5.0)
    assert m.change_setting(10.0, 500.0) is None  # booting: cannot be told
    m.observe(ASLEEP, None, 60.0)
    order = m.follow_up(60.0, CONFIG)
    assert order is not None and order.kind is OrderKind.CHANGE and order.setting == 500.0
    assert m.stage is Stage.WAKING and m.rebooting_for_us() is False


def test_a_change_asked_of_a_running_miner_after_its_wake_is_a_change() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    m.observe(MINING, None, 10.0)  # never seen down or starting: straight to mining
    assert m.stage is Stage.MINING
    order = m.change_setting(20.0, 500.0)
    assert order is not None and m.stage is Stage.CHANGING


def test_letting_go_of_a_miner_in_a_transition_leaves_it_as_it_is() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    assert m.set_excluded(True)
    assert m.stage is Stage.SLEEPING and not m.dispatched and m.excluded
    assert not m.set_excluded(False)


def test_the_steps_of_a_wake() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, None), 0.0)
    m.observe(None, "booting", 5.0)
    assert m._step is WakeStep.BOOTING
    m.observe(ASLEEP, None, 60.0)
    assert m._step is WakeStep.STARTING


def test_a_hashing_miner_without_a_power_figure_is_estimated_from_the_curve() -> None:
    m = miner(STARTING)
    assert m.consumption_w(S9_CURVE, 3) == pytest.approx(S9_CURVE.power_w(650.0))
    assert miner(None).consumption_w(S9_CURVE, 3) == 0.0


def test_a_sleep_not_heard_by_a_hashing_miner_is_simply_called_off() -> None:
    m = miner(MINING)
    sleep = m.sleep(0.0, CONFIG)
    assert sleep is not None and m.sleep(0.5, CONFIG) is None  # already on its way
    assert m.resume_setting() == 650.0
    cancel = m.wake(1.0, 650.0, None)
    assert cancel is not None and cancel.kind is OrderKind.CANCEL and m.stage is Stage.MINING


def test_a_read_only_miner_gets_no_sleep_orders() -> None:
    clock = ManualClock()
    m = FleetMiner(FakeMiner(clock, 0, can_sleep=False, state="mining"))
    m.observe(MINING, None, 0.0)
    assert m.overheat(1.0, CONFIG) is None and m.overheated(2.0)
    counts, order = m.fail_wake(3.0, "x", CONFIG)
    assert order is None and not counts


def test_an_operators_pin_retunes_a_running_miner_and_a_release_adopts_it() -> None:
    m = miner(MINING)
    order = m.force_on(0.0, 500.0)
    assert order is not None and order.kind is OrderKind.CHANGE and not m.dispatched
    done(m, order, 0.0)
    assert m.pin_setting == 500.0 and m.expected_setting(S9_CURVE) == 500.0
    m.release_override(adopt=True)
    assert m.override is None and m.dispatched


def test_a_deferred_frequency_already_in_place_is_dropped() -> None:
    m = miner()
    done(m, m.wake(0.0, 650.0, 650.0), 0.0)  # the wake set 650 MHz first
    m.observe(None, "booting", 5.0)
    assert m.change_setting(6.0, 650.0) is None
    m.observe(ASLEEP, None, 60.0)
    assert m.follow_up(60.0, CONFIG) is None  # it boots at 650 MHz already
