"""Sends orders to miners in the background with bounded concurrency; the newest order wins.

Each miner has at most one call in flight. An order that arrives while one is running replaces
any order still waiting for that miner, so a burst of commands ends with the miner doing what
the last one asked, without ever cutting an HTTP exchange with a miner in half.

A small pool of workers takes the waiting orders in turn: a burst of a thousand orders starts
at most `max_concurrency` tasks, so the event loop never has to step through a thousand new
tasks at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..miners.base import MinerDriver, MinerError

_LOGGER = logging.getLogger(__name__)


class OrderKind(StrEnum):
    """What to tell a miner."""

    WAKE = "wake"  # optionally set the frequency first, then wake
    SLEEP = "sleep"
    RETUNE = "retune"  # set the frequency of a running miner
    REBOOT = "reboot"  # the operator's: restart the whole miner


@dataclass(frozen=True, slots=True)
class Order:
    """One instruction for one miner."""

    kind: OrderKind
    mhz: float | None = None  # frequency to set (WAKE: only when it must change)


type OrderDone = Callable[[str, Order, MinerError | None], None]


class Actuator:
    """Runs orders against drivers; reports each outcome through `on_done`."""

    def __init__(self, max_concurrency: int, on_done: OrderDone) -> None:
        self._max_workers = max(1, max_concurrency)
        self._on_done = on_done
        # Waiting orders in arrival order (a newer order for a miner keeps its place).
        self._waiting: dict[str, tuple[MinerDriver, Order]] = {}
        self._in_flight: set[str] = set()
        self._workers: set[asyncio.Task[None]] = set()

    def submit(self, mac: str, driver: MinerDriver, order: Order) -> None:
        """Queue `order` for the miner; returns at once."""
        self._waiting[mac] = (driver, order)
        if len(self._workers) < self._max_workers and mac not in self._in_flight:
            self._workers.add(asyncio.create_task(self._work(), name="net_stabilization orders"))

    def pending(self, mac: str) -> bool:
        """Whether the miner has an order queued or in flight."""
        return mac in self._waiting or mac in self._in_flight

    @property
    def busy(self) -> int:
        """Miners with an order queued or in flight."""
        return len(self._in_flight | self._waiting.keys())

    async def drain(self) -> None:
        """Wait until every order has been carried out."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)

    async def close(self) -> None:
        """Drop waiting orders and cancel calls in flight."""
        self._waiting.clear()
        tasks = list(self._workers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._in_flight.clear()

    def _next(self) -> tuple[str, MinerDriver, Order] | None:
        """The oldest waiting order of a miner without a call in flight."""
        for mac in self._waiting:
            if mac not in self._in_flight:
                driver, order = self._waiting.pop(mac)
                return mac, driver, order
        return None

    async def _work(self) -> None:
        try:
            while (job := self._next()) is not None:
                mac = job[0]
                self._in_flight.add(mac)
                try:
                    await self._run(*job)
                finally:
                    self._in_flight.discard(mac)
        finally:
            # No await between finding nothing to do and leaving the pool: a submit right
            # after sees the free place and starts a worker.
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)

    async def _run(self, mac: str, driver: MinerDriver, order: Order) -> None:
        error: MinerError | None = None
        try:
            await _carry_out(driver, order)
        except MinerError as err:
            error = err
        try:
            self._on_done(mac, order, error)
        except Exception:  # a bookkeeping bug must not stop later orders
            _LOGGER.exception("handling the result of %s for %s failed", order.kind, mac)


async def _carry_out(driver: MinerDriver, order: Order) -> None:
    match order.kind:
        case OrderKind.SLEEP:
            await driver.sleep()
        case OrderKind.RETUNE:
            if order.mhz is not None:
                await driver.set_frequency(order.mhz)
        case OrderKind.REBOOT:
            await driver.reboot()
        case OrderKind.WAKE:
            # The frequency is stored in the config, which the wake's reboot then uses.
            if order.mhz is not None:
                await driver.set_frequency(order.mhz)
            await driver.wake()
