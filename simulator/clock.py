"""Simulated time sources: a manual clock for tests and a scaled real clock for demos."""

from __future__ import annotations

import time

# Simulated wall-clock epoch used by ManualClock so `When=` fields are stable in tests.
DEFAULT_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Clock:
    """Base class: simulated seconds (`now`) and simulated Unix time (`wall`)."""

    manual: bool = False

    def now(self) -> float:
        """Return simulated monotonic seconds."""
        raise NotImplementedError

    def wall(self) -> float:
        """Return simulated Unix time in seconds."""
        raise NotImplementedError

    def to_real(self, sim_seconds: float) -> float:
        """Convert a simulated duration to real seconds (for waits)."""
        raise NotImplementedError


class ManualClock(Clock):
    """A clock that only moves when told to; use `SimulatedFleet.advance` to drive it."""

    manual = True

    def __init__(self, start: float = 0.0, epoch: float = DEFAULT_EPOCH) -> None:
        self._now = start
        self._epoch = epoch

    def now(self) -> float:
        """Return the current simulated time."""
        return self._now

    def wall(self) -> float:
        """Return the simulated Unix time."""
        return self._epoch + self._now

    def advance(self, seconds: float) -> None:
        """Move time forward; state transitions are applied by the fleet, not here."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._now += seconds

    def to_real(self, sim_seconds: float) -> float:
        """Manual time never elapses on its own, so there is no real equivalent."""
        return float("inf")


class ScaledClock(Clock):
    """Real time multiplied by `time_scale` (10 means a 60 s boot takes 6 real seconds)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        """Return simulated seconds since the clock was created."""
        return (time.monotonic() - self._mono0) * self.time_scale

    def wall(self) -> float:
        """Return simulated Unix time (runs faster than the host clock when scaled)."""
        return self._wall0 + self.now()

    def to_real(self, sim_seconds: float) -> float:
        """Return how many real seconds a simulated duration lasts."""
        return sim_seconds / self.time_scale
