"""The local strategy's side of the fleet controller: when it decides, what it decides, the
operator's switch, and the history's notes of every change of the source in force.

`FleetController` mixes this in; the state it works on (the EMS's and the override's targets,
the roster, the recorder) is the controller's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ..strategies import SiteInputs
from .clock import Clock
from .command_log import SOURCE_CHANGE, CommandRecorder, ParameterValue, parameter
from .commands import CommandReason, CommandResult, CommandSource
from .grid_dispatch import GridDispatch
from .limits import TargetSource
from .model import FleetSnapshot, PowerMode
from .roster import Roster
from .strategy import StrategySeat, StrategyStatus, StrategyView

_LOGGER = logging.getLogger(__name__)


class StrategyControl:
    """Runs the local strategy for the controller."""

    _strategy: StrategySeat | None
    _ems_target_w: float | None
    _grid: GridDispatch
    _override_enabled: bool
    _keep_asleep: bool
    _roster: Roster
    _mode: PowerMode
    _recorder: CommandRecorder
    _snapshot: FleetSnapshot
    _clock: Clock
    _command_lock: asyncio.Lock
    _source_seen: TargetSource

    def _act_on_target(self, now: float) -> str:
        raise NotImplementedError

    def _publish(self) -> None:
        raise NotImplementedError

    async def _done(
        self,
        command: str,
        source: CommandSource | str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> CommandResult:
        raise NotImplementedError

    def _strategy_decides(self) -> bool:
        seat = self._strategy
        return seat is not None and seat.may_decide(
            ems_active=self._ems_active(), override=self._override_enabled
        )

    def _ems_active(self) -> bool:
        # A grid event's target holds the strategy back like an EMS activation.
        return self._ems_target_w is not None or self._grid.target_w is not None

    @property
    def strategy_seat(self) -> StrategySeat | None:
        """The local strategy and its inputs, if one is configured."""
        return self._strategy

    @property
    def strategy_status(self) -> StrategyStatus:
        """What the local strategy is doing now."""
        seat = self._strategy
        if seat is None:
            return StrategyStatus.NONE
        return seat.status(
            ems_active=self._ems_active(),
            override=self._override_enabled,
            holding=seat.strategy.holding,
        )

    async def _follow_strategy(self, now: float, *, between_polls: bool = False) -> None:
        """The strategy's target, while it may decide; a strategy switched off (or blocked)
        while it ran the fleet stands the fleet down like a deactivation."""
        seat = self._strategy
        if seat is None:
            return
        strategy = seat.strategy
        if not self._strategy_decides():
            ran = strategy.target_w
            strategy.reset()
            if ran and not self._ems_active() and not self._override_enabled:
                self._keep_asleep = True
                summary = self._act_on_target(now)
                await self._record_strategy(0.0, f"strategy off ({summary})", summary)
            return
        try:
            inputs = seat.read_inputs()
        except Exception:  # an unreadable input is a missing one
            _LOGGER.exception("reading the strategy's inputs failed")
            inputs = SiteInputs()
        roster = self._roster
        fleet_w = sum(m.consumption_w(roster.curve_of(m), roster.offline_after) for m in roster)
        # Its wish is capped by the limits like any other source's (and shown as capped by them).
        rated_w = roster.rated_kw(now, self._mode) * 1000.0
        view = seat.fleet_view(fleet_w, rated_w, self._snapshot.miners)
        before = strategy.target_w
        if between_polls and before is None:
            return  # it decides first at a poll, from fresh readings
        wanted = strategy.decide(now, inputs, view, between_polls=between_polls)
        if wanted == before:
            return
        self._keep_asleep = wanted == 0.0
        if before and wanted and abs(wanted - before) < roster.step_w():
            # Less than a miner's worth (a noisy frequency, a passing cloud): the regulator
            # meets it at the poll with its band and dwell, instead of a re-plan per wobble.
            return
        summary = self._act_on_target(now)
        await self._record_strategy(
            wanted,
            f"{strategy.name} {wanted / 1000.0:.2f} kW: {strategy.reason} ({summary})",
            summary,
        )

    async def _record_strategy(self, wanted_w: float, message: str, summary: str) -> None:
        assert self._strategy is not None
        params: dict[str, ParameterValue] = {
            "strategy": self._strategy.strategy.name,
            "targetKw": round(wanted_w / 1000.0, 3),
        }
        await self._recorder.record(
            "strategy_target", CommandSource.STRATEGY, params, CommandResult.ok(message, summary)
        )

    def start_strategy(self) -> None:
        """Let the local strategy decide from the next poll on (after `restore`)."""
        if self._strategy is not None:
            self._strategy.started = True
            self._publish()

    async def follow_strategy_now(self) -> None:
        """An input of the strategy changed: decide at once, not at the next poll (a frequency
        excursion is answered within moments)."""
        if self._strategy is None:
            return
        async with self._command_lock:
            await self._follow_strategy(self._clock.monotonic(), between_polls=True)
            self._publish()
            await self._note_source()

    async def set_strategy_enabled(
        self, enabled: object, source: CommandSource | str = CommandSource.ACTION
    ) -> CommandResult:
        """Switch the local strategy on or off. Off, it stands down the miners it ran."""
        params: dict[str, ParameterValue] = {"enabled": parameter(enabled)}
        async with self._command_lock:
            if not isinstance(enabled, bool):
                result = CommandResult.not_a_flag("enabled")
                return await self._done("set_strategy_enabled", source, params, result)
            seat = self._strategy
            if seat is None:
                result = CommandResult.refused(
                    CommandReason.INVALID, "no local strategy is configured", "no_strategy"
                )
                return await self._done("set_strategy_enabled", source, params, result)
            seat.enabled = enabled
            await self._follow_strategy(self._clock.monotonic())
            result = CommandResult.ok(f"local strategy {'on' if enabled else 'off'}")
            return await self._done("set_strategy_enabled", source, params, result)

    def _strategy_view(self) -> StrategyView:
        seat = self._strategy
        if seat is None:
            return StrategyView()
        deciding = self._strategy_decides()
        target = seat.strategy.target_w if deciding else None
        return StrategyView(
            name=seat.strategy.name,
            status=self.strategy_status,
            target_kw=None if target is None else round(target / 1000.0, 3),
            reason=seat.strategy.reason if deciding else "",
        )

    async def _note_source(self) -> None:
        """A change of the source in force goes into the history (and so out as an event)."""
        source = TargetSource(self._snapshot.target_source)
        if source is self._source_seen:
            return
        previous, self._source_seen = self._source_seen, source
        params: dict[str, ParameterValue] = {"from": previous.value, "to": source.value}
        result = CommandResult.ok(f"target source {previous.value} -> {source.value}")
        await self._recorder.record(
            SOURCE_CHANGE, CommandSource.SYSTEM, params, result, as_last=False
        )
