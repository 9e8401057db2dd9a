"""Hold Python's cyclic garbage collector back while a fleet-wide burst of orders goes out.

A thousand orders allocate hundreds of thousands of short-lived objects; the collector then
runs dozens of young collections in the middle of the burst, and now and then a full one that
walks Home Assistant's whole heap (about 0.6 s at 1,000 miners) while the last miners wait for
their order. Held back, the same work runs once the orders are out. The pause is bounded in
time, touches nothing when the collector was already off, and gives it back only if it is still
off: whoever switched it meanwhile keeps their choice.
"""

from __future__ import annotations

import asyncio
import gc

# Bursts this large are worth it; the loop's usual few orders are not.
MIN_ORDERS = 100
# The longest the collector waits, whatever happens to the orders.
MAX_PAUSE_S = 2.0


class CollectorPause:
    """Pauses the collector for one burst at a time."""

    def __init__(self, max_pause_s: float = MAX_PAUSE_S) -> None:
        self._max_pause_s = max_pause_s
        self._timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        """Whether this pause holds the collector now."""
        return self._timer is not None

    def hold(self) -> None:
        """Stop the collector until `release`, for `max_pause_s` at most."""
        if self._timer is not None or not gc.isenabled():
            return
        gc.disable()
        self._timer = asyncio.get_running_loop().call_later(self._max_pause_s, self.release)

    def release(self) -> None:
        """Give the collector back (only if this pause took it and it is still off)."""
        timer, self._timer = self._timer, None
        if timer is None:
            return
        timer.cancel()
        if not gc.isenabled():
            gc.enable()
