"""What the VEN needs of the fleet, and the fleet controller seen that way.

The fleet's standby (what it would draw with every miner asleep) bounds what it can shed: the
`LOAD_SHED_DELTA_AVAILABLE` and `UP_REGULATION_AVAILABLE` reports are its draw above standby.
Miners differ (an S9's control board draws about 50 W, a modern miner's paused hash boards less
or more), so each miner counts with the draw it reported the last time the fleet saw it asleep;
one never seen asleep counts with its driver's figure for the model, else an S9's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..fleet import FleetController, GridDispatch, MinerSnapshot, MinerState
from ..power_curve import S9_CURVE

STANDBY_KW = S9_CURVE.standby_w / 1000.0  # a sleeping miner's draw, when nothing better is known


@dataclass(frozen=True, slots=True)
class FleetReading:
    """The fleet now, as the VEN sees it."""

    power_kw: float  # what it draws
    rated_kw: float  # what it could draw, before the site's limits
    standby_kw: float  # what it draws with every miner asleep
    target_kw: float | None  # the target in force
    source: str  # what decides that target (`TargetSource`)
    available: bool  # it accepts a dispatch now
    miners: int


class FleetPort(Protocol):
    """The fleet as a VEN drives it."""

    def reading(self) -> FleetReading:
        """The fleet now."""
        ...

    async def dispatch(self, dispatch: GridDispatch) -> None:
        """Hand the fleet what the events ask now."""
        ...

    def other_load_kw(self) -> float | None:
        """What the rest of the site draws (for an import limit); None when unknown."""
        ...


class ControllerPort:
    """A `FleetController` as the VEN's fleet."""

    def __init__(
        self,
        controller: FleetController,
        other_load_kw: Callable[[], float | None] | None = None,
    ) -> None:
        """`other_load_kw` reads the rest of the site's draw (import less the fleet's); without
        it an import limit caps the fleet alone."""
        self._controller = controller
        self._other = other_load_kw
        self._asleep_w: dict[str, float] = {}  # by MAC: the draw last reported asleep

    def reading(self) -> FleetReading:
        """The controller's latest snapshot."""
        snap = self._controller.snapshot
        return FleetReading(
            power_kw=snap.active_power_kw,
            rated_kw=self._controller.nominal_rated_kw,
            standby_kw=self._standby_kw(snap.miners),
            target_kw=snap.target_kw,
            source=snap.target_source,
            available=snap.available,
            miners=len(snap.miners),
        )

    def _standby_kw(self, miners: tuple[MinerSnapshot, ...]) -> float:
        """What the miners would draw asleep; an offline one draws nothing now and counts 0."""
        total_w = 0.0
        for m in miners:
            if _reported_asleep(m):
                assert m.power_w is not None
                self._asleep_w[m.mac] = m.power_w
            if m.state is MinerState.OFFLINE:
                continue
            known = self._asleep_w.get(m.mac)
            if known is None:
                known = m.standby_w if m.standby_w > 0 else STANDBY_KW * 1000.0
            total_w += known
        present = {m.mac for m in miners}
        if not present.issuperset(self._asleep_w):  # forget miners removed from the fleet
            self._asleep_w = {k: v for k, v in self._asleep_w.items() if k in present}
        return round(total_w / 1000.0, 3)

    async def dispatch(self, dispatch: GridDispatch) -> None:
        """The controller takes it (nothing happens when nothing changed)."""
        await self._controller.set_grid_dispatch(dispatch)

    def other_load_kw(self) -> float | None:
        """The rest of the site, if a reader was given and it has a sane value."""
        if self._other is None:
            return None
        try:
            value = self._other()
        except Exception:  # an unreadable meter is an unknown load
            return None
        return value if value is not None and math.isfinite(value) else None


def _reported_asleep(m: MinerSnapshot) -> bool:
    """A fresh reading of a sleeping miner with a power its firmware reported (not a nameplate
    figure, not a value from before a failed read)."""
    power = m.power_w
    return (
        m.state is MinerState.SLEEPING
        and not m.stale
        and not m.hot
        and m.power_source == "reported"
        and power is not None
        and math.isfinite(power)
        and power >= 0.0
        and (m.nominal_w <= 0.0 or power <= m.nominal_w)
    )
