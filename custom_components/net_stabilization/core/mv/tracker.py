"""Every dispatch of the fleet measured, whoever sent it: an EMS activation and an OpenADR event
alike.

Fed at each poll with who decides the target and what it is (the snapshot's `target_source` and
`target_kw`) and the fleet's draw. A dispatch begins when a measured source (`MEASURED`) starts
deciding or changes its target, and ends when the source or its target changes again; the
figures of each finished dispatch are handed to `on_done` (to be stored) and kept for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .performance import DispatchMeter, Performance, PowerHistory

MEASURED = ("ems", "openadr")
KEEP = 20  # finished dispatches kept in memory


@dataclass(frozen=True, slots=True)
class _Key:
    source: str
    target_kw: float


class DispatchTracker:
    """Opens, follows and closes a `DispatchMeter` per dispatch."""

    def __init__(self, on_done: Callable[[Performance], None] | None = None) -> None:
        """`on_done` gets each finished dispatch's figures."""
        self.history = PowerHistory()
        self._on_done = on_done
        self._key: _Key | None = None
        self._meter: DispatchMeter | None = None
        self._count = 0
        self.finished: list[Performance] = []

    @property
    def current(self) -> Performance | None:
        """The running dispatch's figures so far."""
        return self._meter.performance() if self._meter is not None else None

    @property
    def last(self) -> Performance | None:
        """The last finished dispatch's figures."""
        return self.finished[-1] if self.finished else None

    def observe(self, t: float, source: str, target_kw: float | None, power_kw: float) -> None:
        """One poll: who decides, what it asks, what the fleet draws (Unix s, kW)."""
        key = (
            _Key(source, round(target_kw, 3))
            if source in MEASURED and target_kw is not None
            else None
        )
        if key != self._key:
            self._close(t)
            self._key = key
            if key is not None:
                self._count += 1
                self._meter = DispatchMeter(
                    f"{key.source}-{int(t)}-{self._count}",
                    key.source,
                    t,
                    key.target_kw,
                    self.history,
                )
        if self._meter is not None:
            self._meter.sample(t, power_kw)
        self.history.add(t, power_kw)

    def _close(self, t: float) -> None:
        if self._meter is None:
            return
        done = self._meter.end(t)
        self._meter = None
        self.finished.append(done)
        del self.finished[:-KEEP]
        if self._on_done is not None:
            self._on_done(done)
