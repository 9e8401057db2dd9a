"""Sends orders to miners in the background with bounded concurrency; the newest order wins.

Each miner has at most one call in flight. An order that arrives while one is running replaces
any order still waiting for that miner, so a burst of commands ends with the miner doing what
the last one asked, without ever cutting an HTTP exchange with a miner in half. A `CANCEL`
order only drops what is still waiting.

A small pool of workers takes the waiting orders in turn: a burst of a thousand orders starts
at most `max_concurrency` tasks, so the event loop never has to step through a thousand new
tasks at once.

While orders are under way, a fleet poll holds its reads back (`wait_quiet`), for a bounded
time: its connections to the same miners would otherwise queue in front of the last orders, at
the miners and on the event loop, and "every miner told" would wait for the poll.

During a large burst the garbage collector is held back (`collector_pause`), so that its
collections run once the orders are out rather than between them.

An order that could not reach its miner (nothing answered: it is rebooting, or gone) may be
parked and tried again a moment later, so that, for example, a sleep ordered while a miner
reboots lands as soon as its web interface is back. Parked orders do not hold a worker and do
not count as busy; a newer order for the miner replaces them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum

from ..miners.base import MinerDriver, MinerError, MinerUnreachableError
from .collector_pause import MIN_ORDERS, CollectorPause

_LOGGER = logging.getLogger(__name__)


class OrderKind(StrEnum):
    """What to tell a miner."""

    WAKE = "wake"  # optionally set the frequency first, then wake
    SLEEP = "sleep"  # sleep mode: the mining software stops hashing at once
    STOP = "stop"  # stop the mining software while it is still starting (it cannot hear sleep)
    CHANGE = "change"  # a new setting for a running miner
    RESTART = "restart"  # start a stopped mining software again (optionally at a frequency)
    REBOOT = "reboot"  # the operator's: restart the whole miner
    CANCEL = "cancel"  # drop whatever is still waiting for the miner


# How long after a burst of orders began the fleet's reads may be held back for it: a miner
# that is slow to answer an order must not stop the poll for long.
READS_HOLD_S = 5.0

# Orders that are safe to repeat until they are heard.
_RETRYABLE = frozenset({OrderKind.WAKE, OrderKind.SLEEP, OrderKind.STOP, OrderKind.RESTART})


@dataclass(frozen=True, slots=True)
class Order:
    """One instruction for one miner. `seq` tells a result apart from a newer order's."""

    kind: OrderKind
    setting: float | None = None  # frequency to set (WAKE: only when it must change)
    seq: int = 0


type OrderDone = Callable[[str, Order, Exception | None], None]


class Actuator:
    """Runs orders against drivers; reports each outcome through `on_done`.

    `on_done` gets a `MinerError` for what the miner answered or failed to, or any other
    exception a driver let escape (a bug, or a parser tripped by a hostile reply), so that
    the miner's state never stays stuck on an order nobody reports back.
    """

    def __init__(
        self,
        max_concurrency: int,
        on_done: OrderDone,
        *,
        retry_s: float | None = None,
        retry_for_s: float = 300.0,
    ) -> None:
        self._max_workers = max(1, max_concurrency)
        self._on_done = on_done
        self._retry_s = retry_s
        self._retry_for_s = retry_for_s
        # Waiting orders in arrival order (a newer order for a miner keeps its place).
        self._waiting: dict[str, tuple[MinerDriver, Order]] = {}
        self._in_flight: set[str] = set()
        self._workers: set[asyncio.Task[None]] = set()
        # Parked orders: the timer that re-submits each, and when parking started.
        self._parked: dict[str, asyncio.TimerHandle] = {}
        self._parked_since: dict[str, tuple[int, float]] = {}  # mac -> (order seq, since)
        self._closed = False
        self._all_started = asyncio.Event()  # no order waiting for a worker
        self._all_started.set()
        self._quiet = asyncio.Event()  # no order waiting or in flight
        self._quiet.set()
        self._busy_since = 0.0  # loop time the present burst of orders began
        self._collector = CollectorPause()

    def submit(self, mac: str, driver: MinerDriver, order: Order) -> None:
        """Queue `order` for the miner (or, for CANCEL, drop what waits); returns at once."""
        self._unpark(mac)
        if order.kind is OrderKind.CANCEL:
            self._waiting.pop(mac, None)
            self._note_started()
            self._note_quiet()
            return
        self._waiting[mac] = (driver, order)
        self._all_started.clear()
        self._note_busy()
        if len(self._waiting) >= MIN_ORDERS:
            self._collector.hold()
        self._spawn(mac)

    def pending(self, mac: str) -> bool:
        """Whether the miner has an order queued or in flight (parked ones do not count)."""
        return mac in self._waiting or mac in self._in_flight

    @property
    def waiting(self) -> int:
        """Orders not yet taken by a worker."""
        return len(self._waiting)

    async def wait_started(self) -> None:
        """Wait until every order queued so far has been taken up (sent or being sent)."""
        await self._all_started.wait()

    async def wait_quiet(self) -> None:
        """Wait until no order waits or is in flight, or until `READS_HOLD_S` after the
        present burst of orders began, whichever comes first."""
        if self._quiet.is_set():
            return
        left = self._busy_since + READS_HOLD_S - asyncio.get_running_loop().time()
        if left <= 0:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(left):
                await self._quiet.wait()

    @property
    def busy(self) -> int:
        """Miners with an order queued or in flight."""
        return len(self._in_flight | self._waiting.keys())

    async def drain(self) -> None:
        """Wait until every order queued so far has been carried out (parked ones excepted)."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)

    async def close(self) -> None:
        """Drop waiting and parked orders and cancel calls in flight."""
        self._closed = True
        self._waiting.clear()
        self._all_started.set()
        self._quiet.set()
        self._collector.release()
        for mac in list(self._parked):
            self._unpark(mac)
        self._parked_since.clear()
        tasks = list(self._workers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._in_flight.clear()

    def _spawn(self, mac: str) -> None:
        if len(self._workers) < self._max_workers and mac not in self._in_flight:
            self._workers.add(asyncio.create_task(self._work(), name="net_stabilization orders"))

    def _unpark(self, mac: str) -> None:
        handle = self._parked.pop(mac, None)
        if handle is not None:
            handle.cancel()

    def _next(self) -> tuple[str, MinerDriver, Order] | None:
        """The oldest waiting order of a miner without a call in flight."""
        for mac in self._waiting:
            if mac not in self._in_flight:
                driver, order = self._waiting.pop(mac)
                self._note_started()
                return mac, driver, order
        return None

    def _note_started(self) -> None:
        if not self._waiting:
            self._all_started.set()

    def _note_busy(self) -> None:
        if self._quiet.is_set():
            self._quiet.clear()
            self._busy_since = asyncio.get_running_loop().time()

    def _note_quiet(self) -> None:
        if not self._waiting and not self._in_flight:
            self._quiet.set()
            self._collector.release()

    async def _work(self) -> None:
        try:
            while (job := self._next()) is not None:
                mac = job[0]
                self._in_flight.add(mac)
                try:
                    await self._run(*job)
                finally:
                    self._in_flight.discard(mac)
                    self._note_quiet()
        finally:
            # No await between finding nothing to do and leaving the pool: a submit right
            # after sees the free place and starts a worker.
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)

    async def _run(self, mac: str, driver: MinerDriver, order: Order) -> None:
        error: Exception | None = None
        try:
            await _carry_out(driver, order)
        except MinerError as err:
            error = err
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a driver bug must not leave the miner's state stuck
            _LOGGER.exception("%s for %s failed unexpectedly", order.kind, mac)
            error = err
        if error is None or not self._park(mac, driver, order, error):
            self._parked_since.pop(mac, None)
        try:
            self._on_done(mac, order, error)
        except Exception:  # a bookkeeping bug must not stop later orders
            _LOGGER.exception("handling the result of %s for %s failed", order.kind, mac)

    def _park(self, mac: str, driver: MinerDriver, order: Order, error: Exception) -> bool:
        """Try an unheard order again shortly, unless something newer came meanwhile."""
        if (
            self._closed
            or self._retry_s is None
            or order.kind not in _RETRYABLE
            or not isinstance(error, MinerUnreachableError)
            or mac in self._waiting
        ):
            return False
        loop = asyncio.get_running_loop()
        seq, since = self._parked_since.get(mac, (None, loop.time()))
        if seq != order.seq:
            since = loop.time()
            self._parked_since[mac] = (order.seq, since)
        if loop.time() - since >= self._retry_for_s:
            return False

        def again() -> None:
            if self._parked.pop(mac, None) is not None and mac not in self._waiting:
                self._waiting[mac] = (driver, order)
                self._spawn(mac)

        self._parked[mac] = loop.call_later(self._retry_s, again)
        return True


async def _carry_out(driver: MinerDriver, order: Order) -> None:
    match order.kind:
        case OrderKind.SLEEP:
            await driver.sleep()
        case OrderKind.STOP:
            await driver.stop_mining()
        case OrderKind.CHANGE:
            if order.setting is not None:
                await driver.apply_setting(order.setting)
        case OrderKind.REBOOT:
            await driver.reboot()
        case OrderKind.WAKE:
            # The frequency is stored in the config, which the wake's reboot then uses.
            if order.setting is not None:
                await driver.apply_setting(order.setting)
            await driver.wake()
        case OrderKind.RESTART:
            # Writing a frequency restarts the mining software with it; else a plain restart.
            if order.setting is not None:
                await driver.apply_setting(order.setting)
            else:
                await driver.restart_mining()
        case OrderKind.CANCEL:
            pass
