"""Time for the fleet controller: injected so tests and benchmarks can drive it by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the controller gets time from. It never sleeps on it; the caller paces `poll()`."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for timers and deadlines)."""
        ...

    def now(self) -> datetime:
        """Wall-clock time in UTC (for timestamps people read)."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds from `time.monotonic()`."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests and time-compressed benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._elapsed = 0.0
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        return self._elapsed

    def now(self) -> datetime:
        """The start time plus the seconds advanced so far."""
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (never backwards)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += seconds


class FunctionClock:
    """A clock made of two functions, e.g. to share a simulator's time with the controller."""

    def __init__(self, monotonic: Callable[[], float], wall: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._wall = wall

    def monotonic(self) -> float:
        """Seconds from the first function."""
        return self._monotonic()

    def now(self) -> datetime:
        """UTC time from the second function (Unix seconds)."""
        return datetime.fromtimestamp(self._wall(), UTC)
