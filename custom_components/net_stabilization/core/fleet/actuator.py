"""Sends orders to miners in the background with bounded concurrency; the newest order wins.

Each miner has at most one call in flight. An order that arrives while one is running replaces
any order still waiting for that miner, so a burst of commands ends with the miner doing what
the last one asked, without ever cutting an HTTP exchange with a miner in half.
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
        self._slots = asyncio.Semaphore(max_concurrency)
        self._on_done = on_done
        self._waiting: dict[str, tuple[MinerDriver, Order]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def submit(self, mac: str, driver: MinerDriver, order: Order) -> None:
        """Queue `order` for the miner; returns at once."""
        self._waiting[mac] = (driver, order)
        if mac not in self._workers:
            self._workers[mac] = asyncio.create_task(
                self._work(mac), name=f"net_stabilization order {mac}"
            )

    def pending(self, mac: str) -> bool:
        """Whether the miner has an order queued or in flight."""
        return mac in self._workers

    @property
    def busy(self) -> int:
        """Miners with an order queued or in flight."""
        return len(self._workers)

    async def drain(self) -> None:
        """Wait until every order has been carried out."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        """Drop waiting orders and cancel calls in flight."""
        self._waiting.clear()
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()

    async def _work(self, mac: str) -> None:
        try:
            while (job := self._waiting.pop(mac, None)) is not None:
                await self._run(mac, *job)
        finally:
            # No await between finding the queue empty and leaving: a later submit starts anew.
            self._workers.pop(mac, None)

    async def _run(self, mac: str, driver: MinerDriver, order: Order) -> None:
        error: MinerError | None = None
        async with self._slots:
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
