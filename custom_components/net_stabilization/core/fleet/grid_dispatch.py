"""A grid operator's or aggregator's dispatch (OpenADR events) as a source of the fleet's target.

Precedence, highest first: safety trip > site limits (the site's own and the dispatch's caps:
an import-capacity limit, an emergency shed) > manual override > grid dispatch > EMS > local
strategy. The dispatch ranks above the EMS because it is a committed programme: the aggregator
settles it, and the site's EMS gets its target back as soon as the event ends (its target is
kept meanwhile). Its caps are limits like the site's own: the lower cap holds.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass

from .clock import Clock
from .command_log import ParameterValue
from .commands import CommandResult, CommandSource
from .limits import SiteLimits


@dataclass(frozen=True, slots=True)
class GridDispatch:
    """What the grid's events ask now: a target and a cap, either None when none holds."""

    target_w: float | None = None
    cap_w: float | None = None
    events: str = ""  # which events ask it, for the history

    def __post_init__(self) -> None:
        for name in ("target_w", "cap_w"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite power of 0 W or more, not {value}")


NO_GRID_DISPATCH = GridDispatch()


def merged_limits(site: SiteLimits, dispatch: GridDispatch) -> SiteLimits:
    """The site's limits with the dispatch's cap: the lower cap holds."""
    if dispatch.cap_w is None:
        return site
    cap = dispatch.cap_w if site.cap_w is None else min(site.cap_w, dispatch.cap_w)
    return SiteLimits(tripped=site.tripped, cap_w=cap)


class GridDispatchControl:
    """The grid dispatch's side of the fleet controller (mixed into `FleetController`)."""

    _grid: GridDispatch
    _site_limits: SiteLimits
    _limits: SiteLimits
    _keep_asleep: bool
    _override_enabled: bool
    _clock: Clock
    _command_lock: asyncio.Lock

    @property
    def target_w(self) -> float | None:
        raise NotImplementedError

    def _act_on_target(self, now: float) -> str:
        raise NotImplementedError

    async def _done(
        self,
        command: str,
        source: CommandSource | str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> CommandResult:
        raise NotImplementedError

    @property
    def grid_dispatch(self) -> GridDispatch:
        """What the grid's events ask now."""
        return self._grid

    def _grid_decides(self) -> bool:
        return not self._override_enabled and self._grid.target_w is not None

    async def set_grid_dispatch(
        self, dispatch: GridDispatch, source: CommandSource | str = CommandSource.OPENADR
    ) -> CommandResult | None:
        """Take what the grid's events ask now; re-plans when the target in force changes.
        None when nothing changed."""
        async with self._command_lock:
            if dispatch == self._grid:
                return None
            now = self._clock.monotonic()
            before = self.target_w
            self._grid = dispatch
            self._limits = merged_limits(self._site_limits, dispatch)
            if dispatch.target_w is not None:
                self._keep_asleep = dispatch.target_w == 0
            params: dict[str, ParameterValue] = {
                "targetKw": _kw(dispatch.target_w),
                "capKw": _kw(dispatch.cap_w),
                "events": dispatch.events or None,
            }
            after = self.target_w
            if after != before:
                if after is None:
                    self._keep_asleep = True  # released with nothing else in force: standby
                summary = self._act_on_target(now)
            else:
                summary = "target in force unchanged"
            if dispatch.target_w is None and dispatch.cap_w is None:
                message = f"grid dispatch released ({summary})"
            else:
                parts = []
                if dispatch.target_w is not None:
                    parts.append(f"target {dispatch.target_w / 1e3:g} kW")
                if dispatch.cap_w is not None:
                    parts.append(f"cap {dispatch.cap_w / 1e3:g} kW")
                shown = " and ".join(parts)
                message = f"grid dispatch {shown} from {dispatch.events or 'an event'} ({summary})"
            return await self._done(
                "grid_dispatch", source, params, CommandResult.ok(message, summary)
            )


def _kw(watts: float | None) -> float | None:
    return None if watts is None else round(watts / 1000.0, 3)
