"""Watching one miner's transitions at their edges: a change still moving fails at its hard
ceiling, a stray hashing on its own is put back to sleep, a hot chip counts only while it
hashes, and a change under way needs no follow-up."""

from __future__ import annotations

from dataclasses import replace

from custom_components.net_stabilization.core.fleet.actuator import OrderKind
from custom_components.net_stabilization.core.fleet.lifecycle import Stage

from .test_lifecycle import ASLEEP, CONFIG, MINING, STARTING, done, miner


def test_a_change_that_keeps_moving_fails_at_its_hard_ceiling() -> None:
    m = miner(replace(MINING, power_w=1400.0))
    order = m.change_setting(0.0, 600.0)
    assert order is not None
    done(m, order, 0.0)
    assert m.follow_up(1.0, CONFIG) is None  # under way: nothing more to send
    reasons = {}
    for t in range(10, 200, 10):
        # Restarting, with a little more hashrate and power at every reading: never stalled.
        m.observe(
            replace(STARTING, frequency_mhz=600.0, hashrate_ths=t / 100, power_w=100.0 + t),
            None,
            float(t),
        )
        reasons[t] = m.check(float(t), CONFIG, 45.0)
    assert reasons[140] is None
    assert reasons[150] == "did not reach its new setting in time after a change of setting"
    assert m.stage is Stage.CHANGING


def test_a_stray_hashing_on_its_own_is_put_back_to_sleep() -> None:
    m = miner(MINING)
    order = m.keep_asleep(0.0, CONFIG)
    assert order is not None and order.kind is OrderKind.SLEEP
    assert m.stage is Stage.STOPPING


def test_a_hot_chip_counts_only_while_the_miner_hashes() -> None:
    hot = miner(replace(MINING, chip_temp_c=96.0))
    assert hot.too_hot(95.0)
    assert not hot.too_hot(97.0)
    asleep = miner(replace(ASLEEP, chip_temp_c=96.0))
    assert not asleep.too_hot(95.0)


def test_a_sleep_heard_before_a_reboot_is_sent_again_once_the_reboot_is_over() -> None:
    m = miner()
    wake = m.wake(0.0, 650.0, None)
    off = m.force_off(1.0, CONFIG)  # the operator's "off" while the wake's reboot is coming
    done(m, wake, 2.0)
    done(m, off, 2.5)  # heard before the reboot took the miner down: lost with it
    m.observe(ASLEEP, None, 3.0)
    assert m.follow_up(3.0, CONFIG) is None  # not yet: it would be lost again
    m.observe(None, "down", 10.0)
    m.observe(ASLEEP, None, 60.0)  # back from the reboot, mining software starting
    again = m.follow_up(60.0, CONFIG)
    assert again is not None and again.kind is OrderKind.STOP
