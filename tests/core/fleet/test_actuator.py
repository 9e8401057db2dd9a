"""The order sender: newest order wins, unheard orders are tried again for a while, and nothing
a driver does leaves a miner's order unreported."""

from __future__ import annotations

import asyncio
import gc

import pytest

from custom_components.net_stabilization.core.fleet import ManualClock
from custom_components.net_stabilization.core.fleet import actuator as actuator_module
from custom_components.net_stabilization.core.fleet.actuator import Actuator, Order, OrderKind
from custom_components.net_stabilization.core.fleet.collector_pause import (
    MIN_ORDERS,
    CollectorPause,
)
from custom_components.net_stabilization.core.miners.base import MinerUnreachableError

from .fakes import FakeMiner


class Recorder:
    def __init__(self) -> None:
        self.results: list[tuple[OrderKind, type[Exception] | None]] = []
        self.event = asyncio.Event()

    def __call__(self, mac: str, order: Order, error: Exception | None) -> None:
        self.results.append((order.kind, type(error) if error else None))
        self.event.set()


async def test_an_unheard_sleep_is_tried_again_until_heard() -> None:
    miner = FakeMiner(ManualClock(), 0, state="booting")
    done = Recorder()
    actuator = Actuator(4, done, retry_s=0.01, retry_for_s=10.0)
    actuator.submit(miner.mac, miner, Order(OrderKind.SLEEP, seq=1))
    while not done.results:
        await done.event.wait()
    assert done.results == [(OrderKind.SLEEP, MinerUnreachableError)]
    assert not actuator.pending(miner.mac) and actuator.busy == 0  # parked, not busy
    miner.state = "mining"  # the web answers again
    while len(done.results) < 2:
        done.event.clear()
        await done.event.wait()
    assert done.results[-1] == (OrderKind.SLEEP, None)
    await actuator.close()


async def test_retries_end_and_a_newer_order_replaces_a_parked_one() -> None:
    miner = FakeMiner(ManualClock(), 0, unreachable=True)
    done = Recorder()
    actuator = Actuator(4, done, retry_s=0.001, retry_for_s=0.05)
    actuator.submit(miner.mac, miner, Order(OrderKind.WAKE, seq=1))
    await asyncio.sleep(0.2)  # real time: the retry budget is real time
    tries = len(done.results)
    assert tries >= 2
    await asyncio.sleep(0.05)
    assert len(done.results) == tries  # given up
    actuator.submit(miner.mac, miner, Order(OrderKind.CANCEL, seq=2))
    assert actuator.waiting == 0
    await actuator.close()


async def test_a_driver_bug_is_reported_as_the_orders_result() -> None:
    class Broken(FakeMiner):
        async def sleep(self) -> None:
            raise RecursionError("deeply nested reply")

    miner = Broken(ManualClock(), 0, state="mining")
    done = Recorder()
    actuator = Actuator(4, done)
    actuator.submit(miner.mac, miner, Order(OrderKind.SLEEP, seq=1))
    await actuator.drain()
    assert done.results == [(OrderKind.SLEEP, RecursionError)]

    def bookkeeping_bug(mac: str, order: Order, error: Exception | None) -> None:
        raise RuntimeError("bug")

    second = Actuator(4, bookkeeping_bug)
    second.submit(miner.mac, miner, Order(OrderKind.SLEEP, seq=1))
    second.submit("other", FakeMiner(ManualClock(), 1), Order(OrderKind.CANCEL, seq=1))
    await second.drain()  # the bug is logged; later orders still run
    await second.wait_started()


async def test_a_restart_order_writes_its_frequency_or_restarts_plainly() -> None:
    """A restart with a frequency is the write (which restarts the mining software with it);
    without one it is a plain restart of the mining software."""
    done = Recorder()
    actuator = Actuator(4, done, retry_s=0.01, retry_for_s=1.0)
    tuned = FakeMiner(ManualClock(), 0, state="stopped")
    plain = FakeMiner(ManualClock(), 1, state="stopped")
    actuator.submit(tuned.mac, tuned, Order(OrderKind.RESTART, 550.0, seq=1))
    actuator.submit(plain.mac, plain, Order(OrderKind.RESTART, seq=1))
    while len(done.results) < 2:
        done.event.clear()
        await done.event.wait()
    assert done.results == [(OrderKind.RESTART, None), (OrderKind.RESTART, None)]
    assert tuned.calls == ["set_frequency 550"]
    assert plain.calls == ["restart"]
    await actuator.close()


class HeldSleep(FakeMiner):
    """A miner whose web server takes the sleep order only when the test lets it."""

    gate: asyncio.Event

    async def sleep(self) -> None:
        await self.gate.wait()
        await super().sleep()


async def test_reads_wait_until_the_orders_under_way_have_reached_their_miners() -> None:
    miner = HeldSleep(ManualClock(), 0, state="mining")
    miner.gate = asyncio.Event()
    actuator = Actuator(4, Recorder())
    actuator.submit(miner.mac, miner, Order(OrderKind.SLEEP, seq=1))
    await actuator.wait_started()  # taken up: nothing waits, but the order is in flight
    reads = asyncio.create_task(actuator.wait_quiet())
    await asyncio.sleep(0.01)
    assert not reads.done()
    miner.gate.set()
    await asyncio.wait_for(reads, 1.0)
    await actuator.wait_quiet()  # nothing under way: returns at once
    await actuator.close()


async def test_reads_are_held_back_for_a_bounded_time_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(actuator_module, "READS_HOLD_S", 0.05)
    miner = HeldSleep(ManualClock(), 0, state="mining")
    miner.gate = asyncio.Event()  # never opened: a miner that does not answer
    actuator = Actuator(4, Recorder())
    actuator.submit(miner.mac, miner, Order(OrderKind.SLEEP, seq=1))
    await asyncio.wait_for(actuator.wait_quiet(), 1.0)
    assert actuator.pending(miner.mac)
    await asyncio.wait_for(actuator.wait_quiet(), 1.0)  # the same burst: no second hold
    await actuator.close()


async def test_the_collector_waits_while_a_large_burst_goes_out() -> None:
    assert gc.isenabled()
    miners = [HeldSleep(ManualClock(), i, state="mining") for i in range(MIN_ORDERS)]
    gate = asyncio.Event()
    for m in miners:
        m.gate = gate
    actuator = Actuator(10, Recorder())
    try:
        for m in miners[:-1]:
            actuator.submit(m.mac, m, Order(OrderKind.SLEEP, seq=1))
        assert gc.isenabled()  # a burst below the size worth it
        actuator.submit(miners[-1].mac, miners[-1], Order(OrderKind.SLEEP, seq=1))
        assert not gc.isenabled()
        gate.set()
        await asyncio.wait_for(actuator.wait_quiet(), 1.0)
        assert gc.isenabled()  # back once every order is out
    finally:
        await actuator.close()
        gc.enable()


async def test_the_collector_pause_is_bounded_and_leaves_others_choices_alone() -> None:
    pause = CollectorPause(max_pause_s=0.01)
    try:
        pause.hold()
        assert not gc.isenabled()
        await asyncio.sleep(0.05)
        assert gc.isenabled() and not pause.active  # given back after its longest wait
        gc.disable()  # someone else's choice
        pause.hold()
        assert not pause.active
        pause.release()
        assert not gc.isenabled()  # not ours to undo
    finally:
        gc.enable()
