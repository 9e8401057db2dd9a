"""Fan-out to many miners: the actuator's bounded worker pool (one call per miner, newest order
wins) and the poll's bounded reads."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    ManualClock,
    MinerState,
)
from custom_components.net_stabilization.core.fleet.actuator import Actuator, Order, OrderKind
from custom_components.net_stabilization.core.miners.base import (
    MinerError,
    MinerReading,
    MinerUnreachableError,
)

from .fakes import FakeMiner


class GatedDriver:
    """Records calls; each call waits until the test opens the gate."""

    def __init__(self, name: str, log: list[tuple[str, str]], gate: asyncio.Event) -> None:
        self.host = name
        self.log = log
        self.gate = gate
        self.running = 0
        self.most_running = 0
        self.fail = False

    async def _call(self, what: str) -> None:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
            if self.fail:
                raise MinerUnreachableError("no route")
            self.log.append((self.host, what))
        finally:
            self.running -= 1

    async def sleep(self) -> None:
        await self._call("sleep")

    async def wake(self) -> None:
        await self._call("wake")

    async def apply_setting(self, mhz: float) -> None:
        await self._call(f"freq {mhz:g}")

    async def reboot(self) -> None:
        await self._call("reboot")


def _actuator(
    limit: int,
) -> tuple[Actuator, list[tuple[str, Order, MinerError | None]]]:
    done: list[tuple[str, Order, MinerError | None]] = []
    actuator = Actuator(limit, lambda mac, order, err: done.append((mac, order, err)))
    return actuator, done


async def test_a_burst_starts_no_more_workers_than_the_limit() -> None:
    gate = asyncio.Event()
    log: list[tuple[str, str]] = []
    actuator, done = _actuator(10)
    drivers = [GatedDriver(f"m{i}", log, gate) for i in range(1000)]
    before = len(asyncio.all_tasks())
    for d in drivers:
        actuator.submit(d.host, d, Order(OrderKind.SLEEP))  # type: ignore[arg-type]
    assert len(asyncio.all_tasks()) - before == 10
    assert actuator.busy == 1000
    await asyncio.sleep(0)
    # Ten calls in flight, the oldest orders first; the rest wait their turn.
    assert [d.host for d in drivers if d.running] == [f"m{i}" for i in range(10)]
    gate.set()
    await actuator.drain()
    assert len(log) == 1000
    assert sorted(entry[0] for entry in log) == sorted(d.host for d in drivers)
    assert actuator.busy == 0
    assert len(done) == 1000


async def test_newest_order_wins_and_one_call_per_miner() -> None:
    gate = asyncio.Event()
    log: list[tuple[str, str]] = []
    actuator, _ = _actuator(4)
    d = GatedDriver("m0", log, gate)
    actuator.submit("m0", d, Order(OrderKind.WAKE))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the wake is in flight
    actuator.submit("m0", d, Order(OrderKind.SLEEP))  # type: ignore[arg-type]
    actuator.submit("m0", d, Order(OrderKind.CHANGE, 500.0))  # type: ignore[arg-type]
    assert actuator.pending("m0")
    await asyncio.sleep(0)
    assert d.most_running == 1
    gate.set()
    await actuator.drain()
    assert log == [("m0", "wake"), ("m0", "freq 500")]  # the sleep was replaced
    assert d.most_running == 1
    assert not actuator.pending("m0")


async def test_an_order_after_the_pool_went_idle_is_carried_out() -> None:
    gate = asyncio.Event()
    gate.set()
    log: list[tuple[str, str]] = []
    actuator, done = _actuator(1)
    a, b = GatedDriver("a", log, gate), GatedDriver("b", log, gate)
    actuator.submit("a", a, Order(OrderKind.SLEEP))  # type: ignore[arg-type]
    await actuator.drain()
    actuator.submit("b", b, Order(OrderKind.WAKE, 600.0))  # type: ignore[arg-type]
    await actuator.drain()
    assert log == [("a", "sleep"), ("b", "freq 600"), ("b", "wake")]
    assert [(mac, order.kind) for mac, order, _ in done] == [
        ("a", OrderKind.SLEEP),
        ("b", OrderKind.WAKE),
    ]


async def test_failures_are_reported_and_close_drops_the_queue() -> None:
    gate = asyncio.Event()
    log: list[tuple[str, str]] = []
    actuator, done = _actuator(1)
    bad = GatedDriver("bad", log, gate)
    bad.fail = True
    later = GatedDriver("later", log, gate)
    actuator.submit("bad", bad, Order(OrderKind.SLEEP))  # type: ignore[arg-type]
    actuator.submit("later", later, Order(OrderKind.SLEEP))  # type: ignore[arg-type]
    gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert isinstance(done[0][2], MinerUnreachableError)
    blocked = asyncio.Event()
    stuck = GatedDriver("stuck", log, blocked)
    actuator.submit("stuck", stuck, Order(OrderKind.REBOOT))  # type: ignore[arg-type]
    actuator.submit("queued", stuck, Order(OrderKind.REBOOT))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert stuck.running == 1
    await actuator.close()
    assert actuator.busy == 0
    assert stuck.running == 0  # the call in flight was cancelled
    assert [mac for mac, _, _ in done] == ["bad", "later"]  # "queued" never ran


@dataclass
class SlowReadMiner(FakeMiner):
    """A fake S9 whose reads take a few loop turns, counting how many run at once."""

    counter: dict[str, int] | None = None

    async def read(self) -> MinerReading:
        assert self.counter is not None
        self.counter["now"] += 1
        self.counter["most"] = max(self.counter["most"], self.counter["now"])
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await super().read()
        finally:
            self.counter["now"] -= 1


async def test_poll_reads_every_miner_with_bounded_concurrency() -> None:
    clock = ManualClock()
    counter = {"now": 0, "most": 0}
    miners = [SlowReadMiner(clock, i, counter=counter) for i in range(40)]
    miners[7].unreachable = True
    controller = FleetController(clock=clock, config=ControlConfig(max_concurrent_reads=4))
    for m in miners:
        controller.add_miner(m)
    before = len(asyncio.all_tasks())
    poll = asyncio.create_task(controller.poll())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) - before <= 1 + 4  # the poll and its four readers
    snapshot = await poll
    assert counter["most"] == 4
    assert all(m.calls.count("read") == 1 for m in miners)
    states = {s.mac: s.state for s in snapshot.miners}
    assert states[miners[7].mac] is not MinerState.SLEEPING  # its failure is its own
    assert states[miners[8].mac] is MinerState.SLEEPING  # and reached no other miner
    await controller.close()
