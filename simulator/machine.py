"""What every simulated miner shares: lazy transitions on simulated time, ground truth, faults.

Subclasses keep `_state`, `_deadline` and `_t` and implement the firmware's own states:
`_enter` (switch state and schedule what follows), `_on_deadline`, `_integrate` (temperatures
and counters up to a time), `_power_at` and `_hashrate_at`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from random import Random

from .clock import Clock
from .faults import Fault, FaultOptions


class MinerMachine:
    """The parts of a simulated miner that do not depend on its firmware."""

    clock: Clock
    faults: FaultOptions
    rng: Random
    jitter: float
    password: str
    on_change: Callable[[], None] | None
    _state: str
    _deadline: float | None
    _waiters: list[asyncio.Future[None]]

    # ----------------------------------------------------------------- ground truth

    @property
    def machine_state(self) -> str:
        """State of the hardware, ignoring network reachability."""
        self.advance_to(self.clock.now())
        return self._state

    @property
    def state(self) -> str:
        """ "offline" while the OFFLINE fault is active, else the machine state."""
        machine = self.machine_state
        return "offline" if Fault.OFFLINE in self.faults else machine

    @property
    def power_w(self) -> float:
        """True instantaneous wall power (ground truth)."""
        now = self.clock.now()
        self.advance_to(now)
        return self._power_at(now)

    @property
    def hashrate_ths(self) -> float:
        """True instantaneous hashrate in TH/s."""
        now = self.clock.now()
        self.advance_to(now)
        return self._hashrate_at(now)

    @property
    def next_deadline(self) -> float | None:
        """Simulated time of the next scheduled transition, if any."""
        return self._deadline

    @property
    def effective_password(self) -> str:
        """The password the miner really accepts (differs under WRONG_PASSWORD)."""
        if Fault.WRONG_PASSWORD in self.faults:
            return self.faults.wrong_password
        return self.password

    # ----------------------------------------------------------------- faults

    def set_fault(
        self,
        fault: Fault | str,
        *,
        delay_s: float | None = None,
        powered: bool | None = None,
        hang: bool | None = None,
        dead_chain: int | None = None,
    ) -> None:
        """Switch a fault on (parameters apply to SLOW, OFFLINE and DEAD_BOARD)."""
        fault = Fault(fault)
        now = self.clock.now()
        self.advance_to(now)
        if delay_s is not None:
            self.faults.delay_s = delay_s
        if powered is not None:
            self.faults.powered = powered
        if hang is not None:
            self.faults.hang = hang
        if dead_chain is not None:
            self._set_dead_chain(dead_chain)
        self.faults.active.add(fault)
        if fault is Fault.OFFLINE and not (self.faults.powered or self.faults.hang):
            self._enter("off", now)
        self._changed()

    def clear_fault(self, fault: Fault | str) -> None:
        """Switch a fault off; clearing a power-loss OFFLINE boots the miner."""
        fault = Fault(fault)
        now = self.clock.now()
        self.advance_to(now)
        self.faults.active.discard(fault)
        if fault is Fault.OFFLINE and self._state == "off":
            self._enter("booting", now)
        self._changed()

    def clear_faults(self) -> None:
        """Switch all faults off."""
        for fault in list(self.faults.active):
            self.clear_fault(fault)

    def _set_dead_chain(self, chain: int) -> None:
        """Which board the DEAD_BOARD fault kills (a model with chain numbers overrides)."""
        del chain

    async def wait_state_change(self) -> None:
        """Resolve at the next state transition (used to hold slow replies)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        await fut

    # ----------------------------------------------------------------- time

    def advance_to(self, now: float) -> None:
        """Apply due transitions at their deadlines and integrate physics up to `now`."""
        while self._deadline is not None and self._deadline <= now:
            t = self._deadline
            self._integrate(t)
            self._on_deadline(t)
        self._integrate(now)

    def _jittered(self, seconds: float) -> float:
        return seconds * (1.0 + self.rng.uniform(-self.jitter, self.jitter))

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # ----------------------------------------------------------------- the firmware's

    def _enter(self, state: str, t: float) -> None:
        raise NotImplementedError

    def _on_deadline(self, t: float) -> None:
        raise NotImplementedError

    def _integrate(self, t1: float) -> None:
        raise NotImplementedError

    def _power_at(self, t: float) -> float:
        raise NotImplementedError

    def _hashrate_at(self, t: float) -> float:
        raise NotImplementedError
