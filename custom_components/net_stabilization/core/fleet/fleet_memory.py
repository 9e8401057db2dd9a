"""What the fleet controller keeps across a restart: what it learnt of its miners (their draw,
their transitions' timings), what it was told (`FleetSettings`), and the notes it leaves in the
command history about what it did on its own.

`FleetController` mixes this in; the state it works on is the controller's own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from .command_log import CommandRecord, ParameterValue
from .commands import CommandResult, CommandSource
from .config import ControlConfig
from .fleet_commands import FleetCommands
from .model import MinerOverride
from .settings import FleetSettings
from .timings import TimingSample

_LOGGER = logging.getLogger(__name__)


class FleetMemory(FleetCommands):
    """Learnt and commanded state, for storage and for a restart."""

    _config: ControlConfig

    def power_scale(self, mac: str) -> float | None:
        """A miner's learnt draw over the power curve's (1.0 until it was seen mining steadily),
        None for an unknown miner."""
        m = self._roster.get(mac)
        return m.calibration.scale if m is not None else None

    def calibration(self) -> dict[str, float]:
        """Each calibrated miner's learnt draw over the curve's (MAC → ratio), to be stored and
        given back to `restore_calibration` after a restart."""
        return {
            m.mac: round(m.calibration.scale, 4) for m in self._roster if m.calibration.calibrated
        }

    def restore_calibration(self, scales: Mapping[str, object]) -> int:
        """Take back what was learnt before a restart, so a fleet in service does not start
        cold. Implausible values and unknown miners are skipped; returns how many were taken."""
        limits = self._config.calibration
        taken = 0
        for mac, value in scales.items():
            m = self._roster.get(mac)
            if m is not None and m.calibration.restore(value, limits):
                taken += 1
        if taken:
            self._roster.update_prior()
            self._publish()
        return taken

    def timing_summary(self) -> dict[str, dict[str, dict[str, float | int]]]:
        """What the fleet measured of its transitions, per kind of miner (driver and model)
        and transition: samples, failures, median and longest duration, longest pause."""
        return self._roster.timings.summary()

    def take_timings(self) -> list[TimingSample]:
        """The transitions timed since the last call, to be stored and given back to
        `restore_timings` after a restart."""
        return self._roster.timings.drain()

    def restore_timings(self, samples: Iterable[TimingSample]) -> int:
        """Take back the timed transitions stored before a restart, so deadlines and the plan's
        costs do not start from the drivers' claims again; returns how many were taken."""
        return self._roster.timings.restore(samples)

    def restore_last_command(self, record: CommandRecord | None) -> None:
        """Show the last command from the history after a restart (nothing is re-run)."""
        if record is not None and self._recorder.last is None:
            self._recorder.last = record
            self._publish()

    async def note(
        self,
        command: str,
        params: Mapping[str, ParameterValue],
        message: str,
        source: CommandSource | str = CommandSource.SETUP,
    ) -> None:
        """Record something the fleet did on its own (a miner joined, a stale target dropped)
        in the command history, so that the history explains every change."""
        await self._recorder.record(command, source, params, CommandResult.ok(message))
        self._publish()

    async def drop_restored_target(self, downtime_s: float) -> None:
        """After a long downtime the EMS target restored from before is not resumed: the
        fleet waits for the EMS in standby, and what it ran goes to sleep."""
        async with self._command_lock:
            kw = kilowatts(self._ems_target_w)
            if kw is None or self._override_enabled:
                return
            minutes = downtime_s / 60
            message = (
                f"the EMS target of {kw:g} kW is from {minutes:.0f} min ago: "
                "standby until the EMS sends a new one"
            )
            _LOGGER.warning("Not resuming the fleet's target: %s", message)
            params: dict[str, ParameterValue] = {"downtime_min": round(minutes, 1)}
            now = self._clock.monotonic()
            await self._deactivate_now("deactivate", CommandSource.SETUP, params, now, message)

    # --- what was commanded ------------------------------------------------------------------

    def settings(self) -> FleetSettings:
        """The commanded state, to be stored and given back to `restore` after a restart."""
        miners = list(self._roster)
        return FleetSettings(
            mode=self._mode,
            ems_target_kw=kilowatts(self._ems_target_w),
            dispatch_enabled=self._dispatch_enabled,
            override_enabled=self._override_enabled,
            override_target_kw=kilowatts(self._override_target_w),
            excluded=frozenset(m.mac for m in miners if m.excluded),
            miner_overrides={m.mac: m.override for m in miners if m.override is not None},
            miner_pins={m.mac: m.pin_setting for m in miners if m.pin_setting is not None},
            keep_asleep=self._keep_asleep,
            dispatched=frozenset(m.mac for m in miners if m.dispatched),
            strategy_enabled=self._strategy is None or self._strategy.enabled,
            strategy_target_kw=self._strategy_view().target_kw,
        )

    def restore(self, settings: FleetSettings, *, resume_target: bool = True) -> None:
        """Resume a commanded state after a restart (not a command: nothing is recorded).

        Plans from what the miners do now, so miners already running as commanded keep running;
        with no target in force nothing is touched. Call after a first `poll()`. Without
        `resume_target` the target is left to `drop_restored_target` (the miners the fleet
        ran are known as its own, to be put to sleep).
        """
        now = self._clock.monotonic()
        self._mode = settings.mode
        self._dispatch_enabled = settings.dispatch_enabled
        self._ems_target_w = watts(settings.ems_target_kw)
        self._override_enabled = settings.override_enabled
        self._override_target_w = (
            watts(settings.override_target_kw) if settings.override_enabled else None
        )
        self._keep_asleep = settings.keep_asleep
        if self._strategy is not None:
            self._strategy.enabled = settings.strategy_enabled
            if settings.strategy_target_kw is not None and self._strategy_decides():
                self._strategy.strategy.resume(now, settings.strategy_target_kw * 1000.0)
        for m in self._roster:
            override = settings.miner_overrides.get(m.mac)
            pin = settings.miner_pins.get(m.mac) if override is MinerOverride.ON else None
            m.restore(
                m.mac in settings.excluded,
                override,
                pin if pin is None or m.capabilities.can_set_frequency else None,
            )
        cfg = self._config
        for m in self._roster:
            # Orders are re-sent only where the miner is not already doing what it was told.
            if m.override is MinerOverride.ON:
                self._dispatch.submit(m, m.force_on(now, m.pin_setting))
            elif m.override is MinerOverride.OFF and m.hashing():
                self._dispatch.submit(m, m.force_off(now, cfg))
        if self.target_w is not None and self.target_w > 0:
            for m in self._roster:
                if m.mac in settings.dispatched:
                    m.resume_after_restart(now)  # still booting: a wake, not an offline miner
            if resume_target or self._override_enabled:
                self._act_on_target(now)
        self._publish()


def watts(kw: float | None) -> float | None:
    """Kilowatts in watts; None stays None."""
    return None if kw is None else kw * 1000.0


def kilowatts(w: float | None) -> float | None:
    """Watts in kilowatts; None stays None."""
    return None if w is None else w / 1000.0
