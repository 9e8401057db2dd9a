"""The fleet controller: the only part that talks to miners and owns time.

Commands (activate, deactivate, mode, override, per-miner orders; `fleet_commands`) validate,
plan, record and hand the miner orders to the background actuator, then return at once; the
newest command wins and is planned from the present state. `poll()` reads every miner, lets
each miner's lifecycle take in what it saw (`lifecycle`), supervises them (`supervision`),
learns their draw (`calibration`) and their transitions' timings (`timings`), and regulates
between commands (`regulation`). What is kept across a restart is in `fleet_memory`; the local
strategy's side (when it decides, its switch, the notes of each change of source) is in
`strategy_control`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..miners.base import MinerDriver, MinerError, MinerReading
from .actuator import Actuator, Order, OrderKind
from .clock import Clock, SystemClock
from .command_log import (
    CommandLog,
    CommandRecord,
    CommandRecorder,
    InMemoryCommandLog,
    ParameterValue,
)
from .commands import (
    CommandResult,
    CommandSource,
)
from .config import ControlConfig
from .dispatch import Dispatcher
from .fleet_memory import FleetMemory
from .grid_dispatch import NO_GRID_DISPATCH, GridDispatchControl, merged_limits
from .limits import SiteLimits, TargetSource
from .miner_commands import MinerCommands
from .model import FleetSnapshot, PowerMode
from .planner import DispatchPlan
from .regulation import Regulator
from .roster import Roster
from .snapshot import Commanded, build_snapshot
from .strategy import StrategySeat
from .supervision import Supervisor

_LOGGER = logging.getLogger(__name__)

type SiteMeter = Callable[[], float | None]
"""Returns the site's present consumption in kW, or None when the value is stale."""

SOURCE_EMS = CommandSource.EMS  # the source of commands that come from the EMS


class FleetController(FleetMemory, GridDispatchControl):
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
        self._limits = SiteLimits()  # in force: the site's own merged with the grid's caps
        self._site_limits = SiteLimits()
        self._grid = NO_GRID_DISPATCH  # what the grid's events (OpenADR) ask now
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
        if self._grid.target_w is not None:
            return self._grid.target_w
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
            if limits == self._site_limits:
                return None
            now = self._clock.monotonic()
            before = self.target_w
            self._site_limits = limits
            self._limits = merged_limits(limits, self._grid)
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
                    news = m.observe(
                        reading, error, now, curve=roster.curve_of(m), scale=roster.scale(m)
                    )
                    if news is not None:
                        if news.delay_s is not None:
                            roster.wakes.start_delay(news.delay_s)
                        if news.counts:
                            roster.wakes.started()
                    if m.transition_ended_at == now:
                        self._regulator.transition_ended(now)
                        m.hold_if_short(now, roster.deadlines(m))
                    m.count_runtime(elapsed)
                self._read_meter()
                self._structural_change |= self._supervisor.supervise(now)
                for m in roster:
                    roster.take_timings(m)
                if (self._keep_asleep or self._limits.tripped) and not self.target_w:
                    self._put_strays_to_sleep(now)
                calibration = self._config.calibration
                for m in roster:
                    if m.calibration_held(now, calibration.steady_tolerance):
                        m.calibration.interrupt()
                    else:
                        m.learn_power(roster.curve_of(m), calibration)
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
        if error is not None and order.kind is OrderKind.CHANGE:
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
        return self._describe_plan(plan, target)

    def _put_strays_to_sleep(self, now: float) -> None:
        """A deactivation holds: what comes up on its own is put back to sleep at once."""
        roster = self._roster
        for m in roster:
            if m.strays(now, roster.offline_after):
                _LOGGER.info("%s came up mining while the fleet is deactivated: sleeping it", m.mac)
                self._dispatch.submit(m, m.keep_asleep(now, roster.config))

    def _describe_plan(self, plan: DispatchPlan, target_w: float) -> str:
        """The plan's summary; when it falls short of the target, it says why: the fleet
        cannot draw more now, or the next step up would overshoot by more."""
        half_step = self._roster.step_w() / 2
        short_w = target_w - plan.planned_w
        if short_w <= half_step:
            return plan.summary
        if plan.most_w - plan.planned_w <= half_step:
            return f"{plan.summary}: the most the fleet can draw now"
        return f"{plan.summary}: {short_w / 1000.0:.2f} kW short, the closest the fleet comes now"

    def _changed(self) -> None:
        """A per-miner command changed what the plan can count on."""
        self._structural_change = True

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
                grid=self._grid_decides(),
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
