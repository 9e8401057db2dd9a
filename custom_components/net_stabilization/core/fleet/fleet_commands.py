"""The commands of the fleet controller: the EMS's activate and deactivate, the operator's
mode, override and switches, and the per-miner commands. Each validates, plans from the
present state, records (durable first) and hands the orders out, then returns at once.

`FleetController` mixes this in; the state it works on is the controller's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from .command_log import ParameterValue, parameter
from .commands import (
    CommandReason,
    CommandResult,
    CommandSource,
    InvalidPowerError,
    above_rated,
    exceeds_rated,
    parse_power_kw,
)
from .dispatch import Dispatcher
from .limits import SiteLimits
from .miner_commands import MinerCommands
from .model import MinerState, PowerMode
from .planner import DispatchPlan
from .regulation import Regulator
from .roster import Roster
from .snapshot import fault_lines
from .strategy_control import StrategyControl

SOURCE_EMS = CommandSource.EMS


class FleetCommands(StrategyControl):
    """The commands the EMS, the operator and the HTTP API give the fleet."""

    _dispatch: Dispatcher
    _regulator: Regulator
    _miner_commands: MinerCommands
    _limits: SiteLimits
    _dispatch_enabled: bool
    _override_target_w: float | None

    @property
    def target_w(self) -> float | None:
        """The target in force (the controller's)."""
        raise NotImplementedError

    def _rated_kw(self, now: float) -> float:
        raise NotImplementedError

    def _describe_plan(self, plan: DispatchPlan, target_w: float) -> str:
        raise NotImplementedError

    # --- commands ----------------------------------------------------------------------------

    async def activate(
        self, target_kw: object, source: CommandSource | str = SOURCE_EMS
    ) -> CommandResult:
        """Run the fleet at `target_kw` (0 means deactivate). Returns once the orders are out.

        A target a little above rated power (`commands.RATED_TOLERANCE`) is taken and met as
        far as the fleet can; the answer says so."""
        params: dict[str, ParameterValue] = {"activationPowerInKw": parameter(target_kw)}
        async with self._command_lock:
            now = self._clock.monotonic()
            try:
                kw = parse_power_kw(target_kw)
            except InvalidPowerError as err:
                refused = CommandResult.invalid_power(err)
                return await self._done("activate", source, params, refused)
            refusal = self._dispatch_refusal(deactivating=kw == 0)
            if refusal is not None:
                return await self._done("activate", source, params, refusal)
            if kw == 0:
                return await self._deactivate_now("activate", source, params, now)
            rated = self._rated_kw(now)
            if exceeds_rated(kw, rated):
                message = f"{kw:g} kW exceeds rated power {rated:.2f} kW"
                refused = CommandResult.refused(
                    CommandReason.EXCEEDS_RATED,
                    message,
                    "exceeds_rated",
                    requested=kw,
                    rated=f"{rated:.2f}",
                )
                return await self._done("activate", source, params, refused)
            prefix = ""
            if self._grid.target_w is not None:
                prefix = "kept until the grid's event ends, which decides now: "
            if above_rated(kw, rated):
                prefix = f"{kw:g} kW is above rated power {rated:.2f} kW, running at rated: "
                kw = rated
            self._ems_target_w = kw * 1000.0
            self._keep_asleep = False
            target_w = self.target_w
            assert target_w is not None
            plan = self._dispatch.make_plan(
                target_w, self._mode, now, self._regulator.correction_w, lock=False
            )
            message = prefix + self._describe_plan(plan, target_w)
            result = CommandResult.ok(message, plan.summary)
            await self._recorder.record("activate", source, params, result)  # durable first
            self._dispatch.apply(plan, self._mode, now)
            self._regulator.acted()
            self._publish()
            await self._note_source()  # after the orders are out: they do not wait for it
            return result

    async def deactivate(self, source: CommandSource | str = SOURCE_EMS) -> CommandResult:
        """Put every miner the fleet runs to sleep. Idempotent; refused only during override."""
        async with self._command_lock:
            now = self._clock.monotonic()
            refusal = self._dispatch_refusal(deactivating=True)
            if refusal is not None:
                return await self._done("deactivate", source, {}, refusal)
            return await self._deactivate_now("deactivate", source, {}, now)

    async def _deactivate_now(
        self,
        command: str,
        source: CommandSource | str,
        params: dict[str, ParameterValue],
        now: float,
        why: str | None = None,
    ) -> CommandResult:
        was_active = self._ems_target_w is not None
        self._ems_target_w = None
        self._keep_asleep = True
        # The grid's event holds its target: only the EMS's goes.
        if not self._override_enabled and self._grid.target_w is not None:
            summary = self._act_on_target(now)
            message = f"EMS target cleared; the grid's event decides: {summary}"
            return await self._done(command, source, params, CommandResult.ok(message, summary))
        count = self._dispatch.shed_all(now)  # safety first: orders out before the bookkeeping
        if count:
            message = f"deactivating: {count} miners going to sleep"
        elif was_active:
            message = "deactivated"
        else:
            message = "already deactivated"
        if why is not None:
            message = f"{why} ({message})"
        return await self._done(
            command, source, params, CommandResult.ok(message, "all miners asleep")
        )

    async def set_mode(
        self, mode: object, source: CommandSource | str = CommandSource.ACTION
    ) -> CommandResult:
        """Switch between `on_off` and `frequency`; re-plans a target in force."""
        params: dict[str, ParameterValue] = {"mode": parameter(mode)}
        async with self._command_lock:
            try:
                new_mode = PowerMode(mode if isinstance(mode, str) else "")
            except ValueError:
                choices = ", ".join(m.value for m in PowerMode)
                result = CommandResult.refused(
                    CommandReason.INVALID, f"mode must be one of {choices}", "invalid_mode"
                )
                return await self._done("set_mode", source, params, result)
            if new_mode is self._mode:
                result = CommandResult.ok(f"mode is already {new_mode}")
                return await self._done("set_mode", source, params, result)
            self._mode = new_mode
            summary = None
            if self.target_w is not None:
                summary = self._act_on_target(self._clock.monotonic())
            message = f"mode set to {new_mode}" + (f": {summary}" if summary else "")
            return await self._done("set_mode", source, params, CommandResult.ok(message, summary))

    async def set_override(
        self,
        enabled: object,
        target_kw: object = None,
        source: CommandSource | str = CommandSource.ACTION,
    ) -> CommandResult:
        """Manual override: the operator's target replaces the EMS's, which gets 409 meanwhile.
        Releasing it returns to the last EMS target."""
        params: dict[str, ParameterValue] = {
            "enabled": parameter(enabled),
            "target_power_kw": parameter(target_kw),
        }
        async with self._command_lock:
            now = self._clock.monotonic()
            if not isinstance(enabled, bool):
                result = CommandResult.not_a_flag("enabled")
                return await self._done("set_override", source, params, result)
            if enabled:
                if target_kw is None:
                    target_w = self.target_w  # hold whatever is in force
                else:
                    try:
                        kw = parse_power_kw(target_kw, "target_power_kw")
                    except InvalidPowerError as err:
                        result = CommandResult.invalid_power(err)
                        return await self._done("set_override", source, params, result)
                    rated = self._roster.rated_kw(now, self._mode)
                    if exceeds_rated(kw, rated):
                        result = CommandResult.refused(
                            CommandReason.EXCEEDS_RATED,
                            f"{kw:g} kW exceeds rated power {rated:.2f} kW",
                            "exceeds_rated",
                            requested=kw,
                            rated=f"{rated:.2f}",
                        )
                        return await self._done("set_override", source, params, result)
                    target_w = min(kw, rated) * 1000.0
                self._override_enabled = True
                self._override_target_w = target_w
            else:
                self._override_enabled = False
                self._override_target_w = None
            summary = self._act_on_target(now)
            state = "on" if enabled else "off"
            result = CommandResult.ok(f"manual override {state}: {summary}", summary)
            return await self._done("set_override", source, params, result)

    async def set_dispatch_enabled(
        self, enabled: object, source: CommandSource | str = CommandSource.ACTION
    ) -> CommandResult:
        """Allow or refuse EMS activation (the fleet keeps its present target either way)."""
        params: dict[str, ParameterValue] = {"enabled": parameter(enabled)}
        async with self._command_lock:
            if not isinstance(enabled, bool):
                result = CommandResult.not_a_flag("enabled")
                return await self._done("set_dispatch_enabled", source, params, result)
            self._dispatch_enabled = enabled
            message = "EMS dispatch enabled" if enabled else "EMS dispatch disabled"
            return await self._done(
                "set_dispatch_enabled", source, params, CommandResult.ok(message)
            )

    async def set_excluded(
        self, mac: str, excluded: object, source: CommandSource | str = CommandSource.ACTION
    ) -> CommandResult:
        """Take a miner out of dispatch (it is left as it is) or give it back."""
        async with self._command_lock:
            result = await self._miner_commands.set_excluded(mac, excluded, source)
            self._publish()
            return result

    async def set_miner_override(
        self,
        mac: str,
        override: object,
        source: CommandSource | str = CommandSource.ACTION,
        *,
        mhz: object = None,
        power_w: object = None,
    ) -> CommandResult:
        """Force one miner on or off (`"on"`, `"off"`), or give it back to the fleet (None).
        With `"on"`, `mhz` pins an S9's frequency, `power_w` the power target or preset of a
        miner set by power."""
        async with self._command_lock:
            result = await self._miner_commands.set_override(
                mac,
                override,
                source,
                mhz=mhz,
                power_w=power_w,
                adopt=self.target_w is not None,
            )
            self._publish()
            return result

    async def reboot_miner(
        self, mac: str, source: CommandSource | str = CommandSource.ACTION
    ) -> CommandResult:
        """Reboot one miner and keep it in the state the fleet wants once it is back up."""
        async with self._command_lock:
            result = await self._miner_commands.reboot(mac, source)
            self._publish()
            return result

    def _dispatch_refusal(self, *, deactivating: bool) -> CommandResult | None:
        """The contract's 409 and 503 rows. Deactivate is refused only during override."""
        if self._override_enabled:
            return CommandResult.refused(
                CommandReason.CONFLICT, "manual override is active", "override_active"
            )
        if deactivating:
            return None
        if self._limits.tripped:
            return CommandResult.refused(
                CommandReason.CONFLICT, "the site's safety trip holds the fleet off", "safety_trip"
            )
        if not self._dispatch_enabled:
            return CommandResult.refused(
                CommandReason.CONFLICT, "EMS dispatch is disabled", "dispatch_disabled"
            )
        faults = fault_lines(self._roster)
        if faults:
            return CommandResult.refused(
                CommandReason.CONFLICT,
                "fleet in fault: " + "; ".join(faults),
                "fleet_fault",
                count=len(faults),
            )
        now = self._clock.monotonic()
        roster = self._roster
        if not roster.reachable(now):
            return CommandResult.refused(
                CommandReason.UNAVAILABLE, "no miner reachable", "no_miner_reachable"
            )
        if not any(roster.in_good_standing(m, now) for m in roster):
            return CommandResult.refused(
                CommandReason.CONFLICT,
                _why_none_available(roster, now),
                "no_miner_available",
                count=len(roster),
            )
        return None

    async def _done(
        self,
        command: str,
        source: CommandSource | str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> CommandResult:
        await self._recorder.record(command, source, params, result)
        self._publish()
        await self._note_source()
        return result


def _why_none_available(roster: Roster, now: float) -> str:
    counts: dict[str, int] = {}
    for m in roster:
        state = m.state(now, roster.offline_after)
        if m.excluded:
            key = "excluded"
        elif m.override is not None:
            key = "overridden"
        elif m.overheated(now):
            key = "overheated"
        elif state is MinerState.FAILED or m.wake_failures:
            key = "failed"
        elif state is MinerState.OFFLINE:
            key = "offline"
        elif not m.capabilities.can_sleep:
            key = "read-only"
        else:
            key = "resting"
        counts[key] = counts.get(key, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    return f"no miner is available for dispatch ({detail})"
