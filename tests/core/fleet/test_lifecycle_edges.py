"""One miner's lifecycle at its edges: an operator's pin it already runs at sends nothing, a
failed order that a newer one superseded changes nothing, and a refused sleep is judged by
what the next readings show."""

from __future__ import annotations

from dataclasses import replace

from custom_components.net_stabilization.core.fleet.actuator import OrderKind
from custom_components.net_stabilization.core.fleet.lifecycle import Stage
from custom_components.net_stabilization.core.miners.base import (
    MinerAuthError,
    MinerProtocolError,
)

from .test_lifecycle import ASLEEP, CONFIG, MINING, done, miner


def test_an_operators_pin_it_already_runs_at_sends_nothing() -> None:
    m = miner(MINING)
    order = m.force_on(10.0, 600.0)
    assert order is not None and order.kind is OrderKind.CHANGE
    done(m, order, 10.0)
    assert m.configured_setting == 600.0
    m.observe(replace(MINING, frequency_mhz=600.0), None, 20.0)
    assert m.stage is Stage.MINING
    assert m.force_on(30.0, 600.0) is None  # already there
    assert m.force_on(40.0, 600.3) is None  # within half a step: the same setting


def test_a_failed_order_superseded_by_a_newer_one_changes_nothing() -> None:
    m = miner()
    wake = m.wake(0.0, 650.0, None)
    sleep = m.force_off(1.0, CONFIG)
    assert wake is not None and sleep is not None and sleep.seq != wake.seq
    done(m, wake, 2.0, MinerAuthError("rejected"))
    assert m.stage is Stage.STOPPING  # the newer sleep still decides
    assert m.check(3.0, CONFIG, 5.0) is None  # the stale refusal is no failed wake


def test_a_refused_sleep_is_judged_by_the_next_readings() -> None:
    m = miner(MINING)
    sleep = m.sleep(0.0, CONFIG)
    assert sleep is not None
    done(m, sleep, 1.0, MinerProtocolError("busy"))
    assert m.stage is Stage.STOPPING
    m.observe(ASLEEP, None, 10.0)  # it went to sleep after all
    assert m.follow_up(10.0, CONFIG) is None
    assert m.stage is Stage.SLEEPING
