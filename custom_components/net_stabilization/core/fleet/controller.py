"""The fleet controller: the only part that talks to miners and owns time.

Commands (activate, deactivate, mode, override, per-miner orders) validate, plan, record and
hand the miner orders to the background actuator, then return at once; the newest command wins
and is planned from the present state. `poll()` reads every miner, lets each miner's lifecycle
take in what it saw (`lifecycle`), supervises them (`supervision`), learns their draw
(`calibration`) and regulates between commands (`regulation`). The local strategy's side
(when it decides, its switch, the notes of each change of source) is in `strategy_control`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ..miners.base import MinerDriver, MinerError, MinerReading
from .actuator import Actuator, Order, OrderKind
from .clock import Clock, SystemClock
from .command_log import (
    CommandLog,
    CommandRecord,
    CommandRecorder,
    InMemoryCommandLog,
    ParameterValue,
    parameter,
)
from .commands import (
    CommandReason,
    CommandResult,
    CommandSource,
    InvalidPowerError,
    above_rated,
    exceeds_rated,
    parse_power_kw,
)
from .config import ControlConfig
from .dispatch import Dispatcher
from .limits import SiteLimits, TargetSource
from .miner_commands import MinerCommands
from .model import FleetSnapshot, MinerOverride, MinerState, PowerMode
from .regulation import Regulator
from .roster import Roster
from .settings import FleetSettings
from .snapshot import Commanded, build_snapshot, fault_lines
from .strategy import StrategySeat
from .strategy_control import StrategyControl
from .supervision import Supervisor

_LOGGER = logging.getLogger(__name__)

type SiteMeter = Callable[[], float | None]
"""Returns the site's present consumption in kW, or None when the value is stale."""

SOURCE_EMS = CommandSource.EMS


class FleetController(StrategyControl):
    """Owns the fleet: its miners, its target and the loop that keeps them together."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        config: ControlConfig | None = None,
        command_log: CommandLog | None = None,
        site_meter: SiteMeter | None = None,
        mode: PowerMode = PowerMode.ON_OFF,
        dispatch_enabled: bool = True,
        strategy: StrategySeat | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._config = config or ControlConfig()
        self._roster = Roster(self._config)
        self._actuator = Actuator(
            self._config.max_concurrent_commands,
            self._order_done,
            retry_s=self._config.order_retry_s,
            retry_for_s=self._config.order_retry_for_s,
        )
        self._dispatch = Dispatcher(self._roster, self._actuator)
        self._supervisor = Supervisor(self._roster, self._dispatch)
        self._regulator = Regulator(self._roster, self._dispatch, self._actuator)
        self._regulator.metered = site_meter is not None
        self._recorder = CommandRecorder(
            command_log if command_log is not None else InMemoryCommandLog(), self._clock.now
        )
        self._site_meter = site_meter
        self._mode = mode
        self._dispatch_enabled = dispatch_enabled
        self._command_lock = asyncio.Lock()
        self._poll_lock = asyncio.Lock()
        self._ems_target_w: float | None = None
        self._override_enabled = False
        self._override_target_w: float | None = None
        self._limits = SiteLimits()
        # The local strategy: it decides only while neither the EMS nor the override does.
        self._strategy = strategy
        self._source_seen = TargetSource.NONE  # the source last recorded in the history
        self._last_poll_at: float | None = None
        self._structural_change = False  # a miner of the plan was lost: re-plan without delay
        self._keep_asleep = False  # deactivated: miners coming up on their own go back to sleep
        self._miner_commands = MinerCommands(
            self._roster, self._dispatch, self._recorder, self._clock, self._changed
        )
        self._snapshot = self._build_snapshot()

    # --- miners ------------------------------------------------------------------------------

    def add_miner(self, driver: MinerDriver) -> None:
        """Take a miner into the fleet. Its driver must know its identity (MAC)."""
        self._roster.add(driver)

    def remove_miner(self, mac: str) -> None:
        """Forget a miner (it is left in whatever state it is in)."""
        self._roster.remove(mac)

    @property
    def macs(self) -> tuple[str, ...]:
        """MACs of the known miners."""
        return tuple(self._roster.miners)

    def driver(self, mac: str) -> MinerDriver | None:
        """The driver of a known miner."""
        m = self._roster.get(mac)
        return m.driver if m is not None else None

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
            kw = _kw(self._ems_target_w)
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

    @property
    def prior_power_scale(self) -> float:
        """Draw over the curve's assumed for miners not calibrated yet (the fleet's bias)."""
        return self._roster.prior_scale

    @property
    def wake_start_rate(self) -> float:
        """Learnt share of wakes that start mining."""
        return self._roster.wakes.start_rate

    @property
    def wake_api_grace_s(self) -> float:
        """How long a woken miner's web may be up without its mining software, as learnt."""
        return self._roster.api_grace_s

    # --- what was commanded ------------------------------------------------------------------

    def settings(self) -> FleetSettings:
        """The commanded state, to be stored and given back to `restore` after a restart."""
        miners = list(self._roster)
        return FleetSettings(
            mode=self._mode,
            ems_target_kw=_kw(self._ems_target_w),
            dispatch_enabled=self._dispatch_enabled,
            override_enabled=self._override_enabled,
            override_target_kw=_kw(self._override_target_w),
            excluded=frozenset(m.mac for m in miners if m.excluded),
            miner_overrides={m.mac: m.override for m in miners if m.override is not None},
            miner_pins={m.mac: m.pin_mhz for m in miners if m.pin_mhz is not None},
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
        self._ems_target_w = _watts(settings.ems_target_kw)
        self._override_enabled = settings.override_enabled
        self._override_target_w = (
            _watts(settings.override_target_kw) if settings.override_enabled else None
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
                self._dispatch.submit(m, m.force_on(now, m.pin_mhz))
            elif m.override is MinerOverride.OFF and m.hashing():
                self._dispatch.submit(m, m.force_off(now, cfg))
        if self.target_w is not None and self.target_w > 0:
            for m in self._roster:
                if m.mac in settings.dispatched:
                    m.resume_after_restart(now)  # still booting: a wake, not an offline miner
            if resume_target or self._override_enabled:
                self._act_on_target(now)
        self._publish()

    # --- state -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> FleetSnapshot:
        """The latest fleet snapshot (never waits on a miner)."""
        return self._snapshot

    @property
    def mode(self) -> PowerMode:
        """The power mode in force."""
        return self._mode

    @property
    def target_w(self) -> float | None:
        """The target in force: the override's while it is on, else the EMS's, capped by the
        site's limits (0 while a safety trip holds); None when there is none."""
        return self._limits.effective_w(self._commanded_w())

    def _commanded_w(self) -> float | None:
        if self._override_enabled:
            return self._override_target_w
        if self._ems_target_w is not None:
            return self._ems_target_w
        if self._strategy_decides():
            assert self._strategy is not None
            return self._strategy.strategy.target_w
        return None

    @property
    def limits(self) -> SiteLimits:
        """The site's limits in force."""
        return self._limits

    @property
    def nominal_rated_kw(self) -> float:
        """Rated power before the site's limits (what a limit in % is a share of)."""
        return self._roster.rated_kw(self._clock.monotonic(), self._mode)

    def _rated_kw(self, now: float) -> float:
        """Rated power as far as the site's limits leave it."""
        return self._limits.rated_kw(self._roster.rated_kw(now, self._mode))

    async def set_limits(
        self, limits: SiteLimits, source: CommandSource | str = CommandSource.LIMITS
    ) -> CommandResult | None:
        """Take the site's limits. A safety trip sheds every miner at once and holds them
        asleep; a cap below the target re-plans at once; the commanded target is kept and
        comes back when the limits allow. None when nothing changed."""
        async with self._command_lock:
            if limits == self._limits:
                return None
            now = self._clock.monotonic()
            before = self.target_w
            self._limits = limits
            params: dict[str, ParameterValue] = {
                "tripped": limits.tripped,
                "capKw": None if limits.cap_w is None else round(limits.cap_w / 1000.0, 3),
            }
            if limits.tripped:
                message = "safety trip: " + self._act_on_target(now)
            elif self.target_w != before and self.target_w is not None:
                message = "site limits changed: " + self._act_on_target(now)
            elif limits.cap_w is not None:
                message = f"site limit {limits.cap_w / 1000.0:g} kW"
            else:
                message = "no site limit"
            return await self._done("site_limits", source, params, CommandResult.ok(message))

    async def recent_commands(self, limit: int = 50) -> list[CommandRecord]:
        """Command history, newest first."""
        return await self._recorder.recent(limit)

    @property
    def orders_waiting(self) -> int:
        """Miner orders not yet sent."""
        return self._actuator.waiting

    async def wait_orders_sent(self) -> None:
        """Wait until every miner order given so far is on its way to its miner."""
        await self._actuator.wait_started()

    async def wait_idle(self) -> None:
        """Wait until every miner order sent so far has been carried out."""
        await self._actuator.drain()

    async def close(self) -> None:
        """Stop sending orders (calls in flight are cancelled)."""
        await self._actuator.close()

    # --- polling -----------------------------------------------------------------------------

    async def poll(self) -> FleetSnapshot:
        """Read every miner, supervise transitions and regulate; returns the new snapshot."""
        async with self._poll_lock:
            miners = list(self._roster)
            results = await self._read_all([m.driver for m in miners])
            async with self._command_lock:
                now = self._clock.monotonic()
                roster = self._roster
                elapsed = 0.0 if self._last_poll_at is None else max(0.0, now - self._last_poll_at)
                if self._last_poll_at is not None:
                    roster.poll_gap(elapsed)
                for m, (reading, error) in zip(miners, results, strict=True):
                    news = m.observe(reading, error, now)
                    if news is not None:
                        if news.delay_s is not None:
                            roster.wakes.start_delay(news.delay_s)
                        if news.counts:
                            roster.wakes.started()
                    if m.transition_ended_at == now:
                        self._regulator.transition_ended(now)
                    m.count_runtime(elapsed, now, roster.offline_after)
                self._read_meter()
                self._structural_change |= self._supervisor.supervise(now)
                if (self._keep_asleep or self._limits.tripped) and not self.target_w:
                    self._put_strays_to_sleep(now)
                for m in roster:
                    m.learn_power(roster.curve_of(m), self._config.calibration)
                roster.update_prior()
                self._regulator.learn_meter_gap(now, self._mode)
                await self._follow_strategy(now)
                structural, self._structural_change = self._structural_change, False
                self._regulator.regulate(self.target_w, self._mode, now, structural=structural)
                self._last_poll_at = now
                self._publish()
                await self._note_source()
        return self._snapshot

    async def _read_all(
        self, drivers: list[MinerDriver]
    ) -> list[tuple[MinerReading | None, str | None]]:
        """Read every miner, `max_concurrent_reads` at a time. A few workers take the miners in
        turn: a task per miner would have the event loop step through a thousand at once. While
        miner orders wait to be sent, the readers hold back."""
        results: list[tuple[MinerReading | None, str | None]] = [(None, None)] * len(drivers)
        queue = iter(enumerate(drivers))

        actuator = self._actuator

        async def worker() -> None:
            for index, driver in queue:
                # Orders first: a command's orders reach their miners before the poll reads on.
                await actuator.wait_quiet()
                results[index] = await _read(driver)

        workers = min(self._config.max_concurrent_reads, len(drivers))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return results

    def _read_meter(self) -> None:
        if self._site_meter is None:
            self._regulator.read_meter(None)
            return
        try:
            value = self._site_meter()
        except Exception:  # an unreadable meter is a stale meter
            _LOGGER.exception("reading the site power meter failed")
            value = None
        self._regulator.read_meter(value)

    def _order_done(self, mac: str, order: Order, error: Exception | None) -> None:
        m = self._roster.get(mac)
        if m is None:
            return
        follow = m.order_done(order, error, self._clock.monotonic(), self._config)
        self._dispatch.submit(m, follow)
        if error is not None and order.kind is OrderKind.RETUNE:
            self._structural_change = True  # it stays where it was: plan around it

    # --- acting ------------------------------------------------------------------------------

    def _act_on_target(self, now: float) -> str:
        """Re-plan from the present state for the target in force (no dwell locks: a command
        may undo what the loop just did). Returns the plan summary."""
        target = self.target_w
        if target is None or target <= 0:
            count = self._dispatch.shed_all(now)
            return f"{count} miners going to sleep" if count else "all dispatched miners asleep"
        plan = self._dispatch.make_plan(
            target, self._mode, now, self._regulator.correction_w, lock=False
        )
        self._dispatch.apply(plan, self._mode, now)
        self._regulator.acted()
        return self._describe_plan(plan.summary, plan.planned_w, target)

    def _put_strays_to_sleep(self, now: float) -> None:
        """A deactivation holds: what comes up on its own is put back to sleep at once."""
        roster = self._roster
        for m in roster:
            if m.strays(now, roster.offline_after):
                _LOGGER.info("%s came up mining while the fleet is deactivated: sleeping it", m.mac)
                self._dispatch.submit(m, m.keep_asleep(now, roster.config))

    def _describe_plan(self, summary: str, planned_w: float, target_w: float) -> str:
        """The plan's summary; when the fleet cannot draw the target, it says so."""
        if target_w - planned_w > self._roster.step_w() / 2:
            return f"{summary}: the most the fleet can draw now"
        return summary

    def _changed(self) -> None:
        """A per-miner command changed what the plan can count on."""
        self._structural_change = True

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
            message = prefix + self._describe_plan(plan.summary, plan.planned_w, target_w)
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
                result = CommandResult.refused(
                    CommandReason.INVALID, "enabled must be true or false"
                )
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
                result = CommandResult.refused(
                    CommandReason.INVALID, "enabled must be true or false"
                )
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

    # --- snapshot ----------------------------------------------------------------------------

    def _publish(self) -> None:
        self._snapshot = self._build_snapshot()

    def _build_snapshot(self) -> FleetSnapshot:
        commanded = Commanded(
            mode=self._mode,
            target_w=self.target_w,
            dispatch_enabled=self._dispatch_enabled,
            override_enabled=self._override_enabled,
            override_target_w=self._override_target_w,
            plan=self._dispatch.plan,
            last_command=self._recorder.last,
            limits=self._limits,
            source=self._limits.source(
                self._commanded_w(),
                override=self._override_enabled,
                strategy=self._ems_target_w is None and self._strategy_decides(),
            ),
            strategy=self._strategy_view(),
        )
        return build_snapshot(
            self._roster,
            commanded,
            now=self._clock.monotonic(),
            wall=self._clock.now(),
            meter_kw=self._regulator.meter_kw,
        )


async def _read(driver: MinerDriver) -> tuple[MinerReading | None, str | None]:
    try:
        return await driver.read(), None
    except MinerError as err:
        return None, str(err) or type(err).__name__
    except Exception as err:  # a driver bug must not stop the fleet's poll
        _LOGGER.exception("reading %s failed unexpectedly", driver.host)
        return None, f"unexpected error: {err!r}"


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


def _watts(kw: float | None) -> float | None:
    return None if kw is None else kw * 1000.0


def _kw(watts: float | None) -> float | None:
    return None if watts is None else watts / 1000.0
