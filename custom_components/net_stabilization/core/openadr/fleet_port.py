"""What the VEN needs of the fleet, and the fleet controller seen that way."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..fleet import FleetController, GridDispatch
from ..power_curve import S9_CURVE

STANDBY_KW = S9_CURVE.standby_w / 1000.0  # a sleeping miner's draw


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

    def reading(self) -> FleetReading:
        """The controller's latest snapshot."""
        snap = self._controller.snapshot
        return FleetReading(
            power_kw=snap.active_power_kw,
            rated_kw=self._controller.nominal_rated_kw,
            standby_kw=round(len(snap.miners) * STANDBY_KW, 3),
            target_kw=snap.target_kw,
            source=snap.target_source,
            available=snap.available,
            miners=len(snap.miners),
        )

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
