"""Signs that a transition is moving: the web going down or coming back, the firmware's state
changing, power or hashrate rising (or, for a move down, power falling) past what was seen, or
the firmware saying it is still on its way (initialising, ramping, tuning, stabilising its
temperatures: `MinerReading.settling`). A Braiins OS+ miner holds each step of a new power
target for minutes while its temperatures settle, its power flat all the while.

A transition is judged by these, not by a clock set in advance: one that keeps moving is on its
way however long it takes (up to a hard ceiling), one that stopped moving for longer than its
kind was seen to pause has failed. The longest pause of a transition that arrived is what the
fleet learns (`timings`).
"""

from __future__ import annotations

import math

from ..miners.base import MinerReading, MiningState
from .timings import Transition

# A change of power smaller than this share of the power it heads to (or 15 W) is noise.
_POWER_SHARE = 0.02
_MIN_POWER_W = 15.0
_HASHRATE_SHARE = 0.02
_MIN_HASHRATE_THS = 0.2
# A drop this many steps below the peak (or to this share of its hashrate) is a restart, after
# which a rise counts again; smaller ones are noise.
_REBASE_STEPS = 10
_REBASE_SHARE = 0.5

type Timed = tuple[Transition, float, float, bool]
"""A timed transition: what, seconds, longest pause without progress, arrived (or failed)."""


class Progress:
    """The progress of one transition, from its start."""

    __slots__ = (
        "_anchor",
        "_last_at",
        "_longest",
        "_peak_ths",
        "_peak_w",
        "_state",
        "_trough_w",
        "heading_w",
        "start_w",
        "timed",
        "timed_wake",
    )

    def __init__(self) -> None:
        self._anchor = -math.inf
        self._last_at = -math.inf
        self._longest = 0.0
        self._peak_w: float | None = None
        self._trough_w: float | None = None
        self._peak_ths: float | None = None
        self._state: MiningState | None = None
        self.start_w: float | None = None
        # The power the transition heads to (None: not known, so it ends on the firmware's
        # word alone); whether the wake under way is ours from its start (then it is timed);
        # the transitions timed since the fleet last took them.
        self.heading_w: float | None = None
        self.timed_wake = False
        self.timed: list[Timed] = []

    @property
    def anchor(self) -> float:
        """When the transition under watch started."""
        return self._anchor

    def start(self, at: float, reading: MinerReading | None) -> None:
        """Watch a transition that started at `at` from the state `reading` shows."""
        self._anchor = self._last_at = at
        self._longest = 0.0
        power = reading.power_w if reading is not None else None
        self.start_w = self._peak_w = self._trough_w = power
        self._peak_ths = reading.hashrate_ths if reading is not None else None
        self._state = reading.state if reading is not None else None

    def moved(self, now: float) -> None:
        """A sign of progress seen at `now` (the web went down or came back)."""
        self._longest = max(self._longest, now - self._last_at)
        self._last_at = max(self._last_at, now)

    def observe(self, reading: MinerReading, now: float, heading_w: float | None) -> bool:
        """Take a reading; returns whether it shows progress. The firmware's own word that it
        is still settling counts: only the hard ceiling bounds a firmware that says so forever."""
        moved = reading.state is not self._state or reading.settling is True
        self._state = reading.state
        power = reading.power_w
        if power is not None:
            scale = heading_w if heading_w is not None and heading_w > 0 else power
            step = max(_MIN_POWER_W, _POWER_SHARE * scale)
            falling = self._falling(heading_w)
            if self._peak_w is None or power > self._peak_w + step:
                moved = moved or not falling
                self._peak_w = power
            elif not falling and power < self._peak_w - _REBASE_STEPS * step:
                self._peak_w = power  # a restart: the next rise counts from here, not noise
            if self._trough_w is None or power < self._trough_w - step:
                moved = moved or falling
                self._trough_w = power
            elif falling and power > self._trough_w + _REBASE_STEPS * step:
                self._trough_w = power
        ths = reading.hashrate_ths
        if ths is not None:
            step = max(_MIN_HASHRATE_THS, _HASHRATE_SHARE * (self._peak_ths or ths))
            if self._peak_ths is None or ths > self._peak_ths + step:
                moved = True
                self._peak_ths = ths
            elif ths < _REBASE_SHARE * self._peak_ths:
                self._peak_ths = ths  # a restart: the next rise counts from here
        if moved:
            self.moved(now)
        return moved

    @property
    def falling(self) -> bool:
        """The transition under watch heads to less power than it started from."""
        return self._falling(self.heading_w)

    def _falling(self, heading_w: float | None) -> bool:
        """The transition heads down (a change to less power, or a stop)."""
        return heading_w is not None and self.start_w is not None and heading_w < self.start_w

    def stalled_s(self, now: float) -> float:
        """How long nothing moved."""
        return now - self._last_at

    def longest_pause_s(self, now: float) -> float:
        """The longest stretch without progress so far, the present one included."""
        return max(self._longest, now - self._last_at)
