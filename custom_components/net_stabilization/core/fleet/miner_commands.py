"""The operator's per-miner commands: exclude from dispatch, force on or off, pin a frequency,
reboot. Each validates, records and returns its result like the fleet commands do."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..miners.base import SettingUnit
from .clock import Clock
from .command_log import CommandRecorder, ParameterValue, parameter
from .commands import CommandReason, CommandResult, CommandSource
from .dispatch import Dispatcher
from .lifecycle import FleetMiner
from .model import MinerOverride
from .roster import Roster


class MinerCommands:
    """Runs per-miner commands (the caller holds the command lock and publishes)."""

    def __init__(
        self,
        roster: Roster,
        dispatcher: Dispatcher,
        recorder: CommandRecorder,
        clock: Clock,
        changed: Callable[[], None],
    ) -> None:
        self._roster = roster
        self._dispatch = dispatcher
        self._recorder = recorder
        self._clock = clock
        self._changed = changed  # the plan lost or gained a miner: re-plan at the next poll

    async def set_excluded(
        self, mac: str, excluded: object, source: CommandSource | str
    ) -> CommandResult:
        """Take a miner out of dispatch (it is left as it is) or give it back."""
        params: dict[str, ParameterValue] = {"mac": mac, "excluded": parameter(excluded)}
        m = self._roster.get(mac)
        if m is None:
            result = _not_found(mac)
        elif not isinstance(excluded, bool):
            result = CommandResult.not_a_flag("excluded")
        else:
            if m.set_excluded(excluded):
                self._changed()
            word = "excluded from" if excluded else "included in"
            result = CommandResult.ok(f"{mac} {word} dispatch")
        return await self._recorder.record("set_excluded", source, params, result)

    async def set_override(
        self,
        mac: str,
        override: object,
        source: CommandSource | str,
        *,
        mhz: object,
        adopt: bool,
        power_w: object = None,
    ) -> CommandResult:
        """Force one miner on or off, or give it back to the fleet (None). With "on", `mhz`
        pins the frequency of a miner set by frequency (an S9), `power_w` the power target or
        preset of one set by power: it is woken at that setting, or changed if it already
        runs; the planner counts it as fixed draw there. A miner given back while it runs is
        adopted when a target is in force (`adopt`)."""
        params: dict[str, ParameterValue] = {"mac": mac, "override": parameter(override)}
        pin: _Pin | None = None
        if mhz is not None:
            params["mhz"] = parameter(mhz)
            pin = _Pin(mhz, SettingUnit.MHZ)
        if power_w is not None:
            params["power_w"] = parameter(power_w)
            pin = _Pin(power_w, SettingUnit.WATT) if pin is None else _Pin(None, None)
        result = self._refusal(mac, override, pin)
        if result is None:
            m = self._roster.get(mac)
            assert m is not None  # checked by `_refusal`
            result = self._apply(m, override, pin, adopt)
        return await self._recorder.record("set_miner_override", source, params, result)

    def _refusal(self, mac: str, override: object, pin: _Pin | None) -> CommandResult | None:
        m = self._roster.get(mac)
        if m is None:
            return _not_found(mac)
        try:
            wanted = None if override is None else MinerOverride(str(override))
        except ValueError:
            return CommandResult.refused(
                CommandReason.INVALID, "override must be 'on', 'off' or none", "invalid_override"
            )
        if wanted is not None and not m.capabilities.can_sleep:
            return CommandResult.refused(
                CommandReason.CONFLICT,
                f"{mac} cannot be switched (firmware without sleep)",
                "miner_read_only",
                mac=mac,
            )
        if pin is not None:
            checked = self._check_pin(m, wanted, pin)
            if isinstance(checked, CommandResult):
                return checked
        if wanted is MinerOverride.ON and m.overheated(self._clock.monotonic()):
            return CommandResult.refused(
                CommandReason.CONFLICT,
                f"{mac} is cooling down after overheating",
                "miner_cooling_down",
                mac=mac,
            )
        return None

    def _apply(
        self, m: FleetMiner, override: object, pin_asked: _Pin | None, adopt: bool
    ) -> CommandResult:
        now = self._clock.monotonic()
        wanted = None if override is None else MinerOverride(str(override))
        pin = self._check_pin(m, wanted, pin_asked) if pin_asked is not None else None
        assert pin is None or isinstance(pin, float)
        config = self._roster.config
        if wanted is MinerOverride.ON:
            self._dispatch.submit(m, m.force_on(now, pin))
        elif wanted is MinerOverride.OFF:
            self._dispatch.submit(m, m.force_off(now, config))
        else:
            m.release_override(adopt)
        self._changed()
        word = str(wanted or "released")
        if pin is not None:
            word += f" at {pin:g} {m.capabilities.points.unit.value}"
        return CommandResult.ok(f"{m.mac} override {word}")

    def _check_pin(
        self, m: FleetMiner, wanted: MinerOverride | None, pin: _Pin
    ) -> float | CommandResult:
        """Validate a pin: only with "on", one finite number in the miner's own unit, within
        what its curve and firmware allow, on firmware that can change its setting."""
        if wanted is not MinerOverride.ON:
            return CommandResult.refused(
                CommandReason.INVALID,
                "a frequency can be pinned only with override 'on'",
                "pin_needs_on",
            )
        value = pin.value
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return CommandResult.refused(
                CommandReason.INVALID, "mhz must be a finite number", "pin_not_a_number"
            )
        if not m.capabilities.can_set_frequency:
            return CommandResult.refused(
                CommandReason.CONFLICT,
                f"{m.mac} cannot set its frequency (firmware)",
                "pin_not_supported",
                mac=m.mac,
            )
        points = m.capabilities.points
        if pin.unit is not points.unit:
            return CommandResult.refused(
                CommandReason.INVALID,
                f"{m.mac} is set in {points.unit.value}, not {pin.unit_name}",
                "pin_wrong_unit",
                mac=m.mac,
                unit=points.unit.value,
            )
        curve = self._roster.curve_of(m)
        lo = max(curve.lowest_setting, m.capabilities.min_mhz)
        hi = min(curve.highest_setting, m.capabilities.max_mhz)
        if not lo <= value <= hi:
            return CommandResult.refused(
                CommandReason.INVALID,
                f"the setting must be between {lo:g} and {hi:g} {points.unit.value}, got {value:g}",
                "pin_out_of_range",
                low=lo,
                high=hi,
                mhz=value,
                unit=points.unit.value,
            )
        if points.levels:
            return float(points.snap(value))
        return float(round(value))

    async def reboot(self, mac: str, source: CommandSource | str) -> CommandResult:
        """Reboot one miner; it is brought back to what the fleet wants once it is up."""
        params: dict[str, ParameterValue] = {"mac": mac}
        m = self._roster.get(mac)
        if m is None:
            result = _not_found(mac)
        else:
            self._dispatch.submit(m, m.reboot(self._clock.monotonic(), self._roster.config))
            self._changed()
            result = CommandResult.ok(f"{mac} is rebooting")
        return await self._recorder.record("reboot_miner", source, params, result)


@dataclass(frozen=True, slots=True)
class _Pin:
    """A setting asked for one miner, in the unit it was asked in (None: asked in two)."""

    value: object
    unit: SettingUnit | None

    @property
    def unit_name(self) -> str:
        return self.unit.value if self.unit is not None else "two units at once"


def _not_found(mac: str) -> CommandResult:
    return CommandResult.refused(
        CommandReason.NOT_FOUND, f"no miner {mac}", "unknown_miner", mac=mac
    )
