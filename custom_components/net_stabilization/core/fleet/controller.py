"""The fleet controller: the only part that talks to miners and owns time.

Commands (activate, deactivate, mode, override...) validate, plan, record and hand the miner
orders to the background actuator, then return at once. `poll()` reads every miner, supervises
transitions (wake deadlines, back-off, failures, overheating, shedding) and regulates: it
re-plans from the present state when the expected power has left the band for long enough.
Along the way it learns what the fleet is like: each miner's own draw (and the fleet's bias, for
miners not seen mining yet), how often a wake starts mining and how long the mining software
takes to come up after the reboot (`wakes`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Final

from ..miners.base import MinerDriver, MinerError, MinerReading, MiningState
from .actuator import Actuator, Order, OrderKind
from .clock import Clock, SystemClock
from .command_log import CommandLog, CommandRecord, InMemoryCommandLog, ParameterValue
from .commands import (
    CommandReason,
    CommandResult,
    InvalidPowerError,
    exceeds_rated,
    parse_power_kw,
)
from .config import ControlConfig
from .model import (
    FleetSnapshot,
    MinerOverride,
    MinerState,
    PowerMode,
    active_power_kw,
    derive_fleet_state,
    is_available_for_dispatch,
    rated_power_kw,
    running_status,
)
from .planner import (
    Action,
    DispatchPlan,
    PlanMiner,
    TargetPolicy,
    plan_dispatch,
    present_power_w,
)
from .settings import FleetSettings
from .tracking import Phase, TrackedMiner
from .wakes import WakeStats

_LOGGER = logging.getLogger(__name__)

type SiteMeter = Callable[[], float | None]
"""Returns the site's present consumption in kW, or None when the value is stale."""

SOURCE_EMS: Final = "ems"
_POLL_GAPS_KEPT: Final = 12  # recent poll intervals, for timing what is only seen at polls


class FleetController:
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
    ) -> None:
        self._clock = clock or SystemClock()
        self._config = config or ControlConfig()
        self._log: CommandLog = command_log if command_log is not None else InMemoryCommandLog()
        self._site_meter = site_meter
        self._mode = mode
        self._dispatch_enabled = dispatch_enabled
        self._curve = self._config.planner.curve
        self._miners: dict[str, TrackedMiner] = {}
        self._actuator = Actuator(self._config.max_concurrent_commands, self._order_done)
        self._command_lock = asyncio.Lock()
        self._poll_lock = asyncio.Lock()
        self._ems_target_w: float | None = None
        self._override_enabled = False
        self._override_target_w: float | None = None
        self._plan: DispatchPlan | None = None
        self._meter_kw: float | None = None
        self._meter_gap_w = 0.0
        self._deviation_since: float | None = None
        self._last_action_at = -math.inf
        self._transition_ended_at = -math.inf
        self._last_poll_at: float | None = None
        self._structural_change = False  # a dispatched miner was lost: re-plan without delay
        self._last_command: CommandRecord | None = None
        self._wakes = WakeStats(self._config.wakes)
        self._poll_gaps: deque[float] = deque(maxlen=_POLL_GAPS_KEPT)
        self._prior_scale = 1.0  # draw over the curve's assumed for miners not yet calibrated
        self._snapshot = self._build_snapshot()

    # --- miners ------------------------------------------------------------------------------

    def add_miner(self, driver: MinerDriver) -> None:
        """Take a miner into the fleet. Its driver must know its identity (MAC)."""
        identity = driver.identity
        if identity is None:
            raise ValueError(f"{driver.host}: identify the miner before adding it")
        known = self._miners.get(identity.mac)
        if known is not None:
            known.driver = driver  # same miner at a new address
            known.identity = identity
            return
        self._miners[identity.mac] = TrackedMiner(driver, identity, driver.capabilities)

    def remove_miner(self, mac: str) -> None:
        """Forget a miner (it is left in whatever state it is in)."""
        self._miners.pop(mac, None)

    @property
    def macs(self) -> tuple[str, ...]:
        """MACs of the known miners."""
        return tuple(self._miners)

    def power_scale(self, mac: str) -> float | None:
        """A miner's learnt draw over the power curve's (1.0 until it was seen mining steadily),
        None for an unknown miner."""
        m = self._miners.get(mac)
        return m.power_scale if m is not None else None

    def calibration(self) -> dict[str, float]:
        """Each calibrated miner's learnt draw over the curve's (MAC → ratio), to be stored and
        given back to `restore_calibration` after a restart."""
        return {
            mac: round(m.power_scale, 4) for mac, m in self._miners.items() if m.power_samples > 0
        }

    def restore_calibration(self, scales: Mapping[str, object]) -> int:
        """Take back what was learnt before a restart, so a fleet in service does not start
        cold (in frequency mode a cold miner costs one more restart to trim). A stored ratio
        counts as one reading: the next steady readings refine it. Implausible values and
        unknown miners are skipped; returns how many were taken."""
        cfg = self._config
        taken = 0
        for mac, value in scales.items():
            m = self._miners.get(mac)
            if m is None or m.power_samples > 0:
                continue  # unknown, or already learnt afresh
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not (math.isfinite(value) and cfg.power_scale_min <= value <= cfg.power_scale_max):
                continue
            m.power_scale = float(value)
            m.power_samples = 1
            taken += 1
        if taken:
            self._update_prior()
            self._publish()
        return taken

    @property
    def prior_power_scale(self) -> float:
        """Draw over the curve's assumed for miners not calibrated yet (the fleet's bias)."""
        return self._prior_scale

    @property
    def wake_start_rate(self) -> float:
        """Learnt share of wakes that start mining."""
        return self._wakes.start_rate

    @property
    def wake_api_grace_s(self) -> float:
        """How long a woken miner's web may be up without its mining software, as learnt."""
        return self._wakes.api_grace_s(self._config.wake_api_grace_s, self._poll_gap_s)

    def driver(self, mac: str) -> MinerDriver | None:
        """The driver of a known miner."""
        m = self._miners.get(mac)
        return m.driver if m is not None else None

    # --- what was commanded ------------------------------------------------------------------

    def settings(self) -> FleetSettings:
        """The commanded state, to be stored and given back to `restore` after a restart."""
        return FleetSettings(
            mode=self._mode,
            ems_target_kw=None if self._ems_target_w is None else self._ems_target_w / 1000.0,
            dispatch_enabled=self._dispatch_enabled,
            override_enabled=self._override_enabled,
            override_target_kw=(
                None if self._override_target_w is None else self._override_target_w / 1000.0
            ),
            excluded=frozenset(mac for mac, m in self._miners.items() if m.excluded),
            miner_overrides={
                mac: m.override for mac, m in self._miners.items() if m.override is not None
            },
            miner_pins={
                mac: m.pin_mhz
                for mac, m in self._miners.items()
                if m.pin_mhz is not None and m.override is MinerOverride.ON
            },
        )

    def restore(self, settings: FleetSettings) -> None:
        """Resume a commanded state after a restart (not a command: nothing is recorded).

        Plans from what the miners do now, so miners already running as commanded keep running;
        with no target in force nothing is touched. Call after a first `poll()`.
        """
        now = self._clock.monotonic()
        self._mode = settings.mode
        self._dispatch_enabled = settings.dispatch_enabled
        self._ems_target_w = _watts(settings.ems_target_kw)
        self._override_enabled = settings.override_enabled
        self._override_target_w = (
            _watts(settings.override_target_kw) if settings.override_enabled else None
        )
        for mac, m in self._miners.items():
            m.excluded = mac in settings.excluded
            m.override = settings.miner_overrides.get(mac)
            pin = settings.miner_pins.get(mac) if m.override is MinerOverride.ON else None
            m.pin_mhz = pin if pin is None or m.capabilities.can_set_frequency else None
        for m in self._miners.values():
            # Orders are re-sent only where the miner is not already doing what it was told.
            if m.override is MinerOverride.ON:
                self._run_forced(m, now)
            elif m.override is MinerOverride.OFF and m.hashing():
                self._order_sleep(m, now)
        if self.target_w is not None and self.target_w > 0:
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
        """The target in force (the override's while it is on), None when there is none."""
        if self._override_enabled:
            return self._override_target_w
        return self._ems_target_w

    async def recent_commands(self, limit: int = 50) -> list[CommandRecord]:
        """Command history, newest first."""
        return list(await self._log.recent(limit))

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
            miners = list(self._miners.values())
            results = await self._read_all(miners)
            async with self._command_lock:
                now = self._clock.monotonic()
                for miner, (reading, error) in zip(miners, results, strict=True):
                    miner.ingest(reading, error)
                self._count_runtime(now)
                self._read_meter()
                self._supervise(now)
                self._calibrate()
                self._learn_meter_gap(now)
                self._regulate(now)
                self._last_poll_at = now
                self._publish()
        return self._snapshot

    async def _read_all(
        self, miners: list[TrackedMiner]
    ) -> list[tuple[MinerReading | None, str | None]]:
        """Read every miner, `max_concurrent_reads` at a time. A few workers take the miners in
        turn: a task per miner would have the event loop step through a thousand at once."""
        results: list[tuple[MinerReading | None, str | None]] = [(None, None)] * len(miners)
        queue = iter(enumerate(miners))

        async def worker() -> None:
            for index, m in queue:
                results[index] = await self._read(m.driver)

        workers = min(self._config.max_concurrent_reads, len(miners))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return results

    async def _read(self, driver: MinerDriver) -> tuple[MinerReading | None, str | None]:
        try:
            return await driver.read(), None
        except MinerError as err:
            return None, str(err) or type(err).__name__
        except Exception as err:  # a driver bug must not stop the fleet's poll
            _LOGGER.exception("reading %s failed unexpectedly", driver.host)
            return None, f"unexpected error: {err!r}"

    def _count_runtime(self, now: float) -> None:
        if self._last_poll_at is None:
            return
        elapsed = max(0.0, now - self._last_poll_at)
        for m in self._miners.values():
            if m.fresh and m.state(now, self._offline_after) is MinerState.MINING:
                m.runtime_s += elapsed

    def _read_meter(self) -> None:
        if self._site_meter is None:
            self._meter_kw = None
            return
        try:
            value = self._site_meter()
        except Exception:  # an unreadable meter is a stale meter
            _LOGGER.exception("reading the site power meter failed")
            value = None
        fine = value is not None and not isinstance(value, bool) and math.isfinite(value)
        self._meter_kw = float(value) if fine and value is not None else None

    # --- supervision -------------------------------------------------------------------------

    @property
    def _offline_after(self) -> int:
        return self._config.offline_after_failures

    @property
    def _poll_gap_s(self) -> float:
        return max(self._poll_gaps, default=0.0)

    def _supervise(self, now: float) -> None:
        cfg = self._config
        if self._last_poll_at is not None:
            self._poll_gaps.append(now - self._last_poll_at)
        for m in self._miners.values():
            if m.wake_failures >= cfg.max_wake_failures and now >= m.failed_until:
                # Cool-down over: back in rotation, as a last resort and not toward rated
                # power until it mines again; one more failed wake fails it again.
                m.wake_failures = cfg.max_wake_failures - 1
            self._check_temperature(m, now)
            self._check_transition(m, now)
            self._check_shedding(m, now)
            if m.dispatched and m.phase is None and not m.dispatchable(now, self._offline_after):
                # Gone offline, excluded or overridden while running for us: replace it.
                m.dispatched = False
                self._structural_change = True

    def _check_temperature(self, m: TrackedMiner, now: float) -> None:
        reading = m.reading
        if reading is None or not m.fresh or reading.chip_temp_c is None:
            return
        if reading.chip_temp_c < self._config.temp_limit_c or not m.hashing():
            return
        if not m.overheated(now):
            _LOGGER.warning(
                "%s chip at %.0f °C (limit %.0f °C): stopping it",
                m.mac,
                reading.chip_temp_c,
                self._config.temp_limit_c,
            )
        m.overheated_until = now + self._config.overheat_cooldown_s
        m.last_error = f"chip temperature {reading.chip_temp_c:.0f} °C over the limit"
        if m.dispatched or m.phase is not None:
            self._structural_change = True
        if m.capabilities.can_sleep and m.shed_deadline is None:
            self._order_sleep(m, now)  # safety wins over overrides and exclusion

    def _check_transition(self, m: TrackedMiner, now: float) -> None:
        if m.phase is None:
            return
        cfg = self._config
        if m.fresh_hashing():
            if not m.hashing_seen and m.phase is Phase.WAKING:
                self._wake_started(m, now)
            m.hashing_seen = True
        if m.transition_done(now):
            m.phase = None
            m.wake_failures = 0
            m.transition_ended_at = now
            self._transition_ended_at = now  # the ramp's last part is still to come
            return
        elapsed = now - m.phase_started
        if m.phase is Phase.WAKING:
            if self._never_started(m, now):
                self._wake_failed(m, now, "web came back after the wake's reboot, mining did not")
            elif not m.hashing_seen and elapsed >= cfg.wake_start_timeout_s:
                self._wake_failed(m, now, "did not start mining after a wake")
            elif elapsed >= cfg.wake_timeout_s:
                self._wake_failed(m, now, "did not reach full hashrate after a wake")
        elif elapsed >= cfg.retune_timeout_s:
            self._wake_failed(m, now, "did not come back after a frequency change")

    def _never_started(self, m: TrackedMiner, now: float) -> bool:
        """Evidence that a wake will not produce mining, long before its deadline: the miner went
        down for the wake's reboot, its web came back, and the mining software still refuses
        well past the time it needs to start."""
        if m.hashing_seen or self._actuator.pending(m.mac):
            return False
        if not m.fresh:
            if m.read_failures > 0:
                m.down_seen = True  # rebooting: web and API down
            m.up_without_api_since = None
            return False
        if not m.down_seen or m.reading is None or m.reading.state is not MiningState.SLEEPING:
            return False
        if m.up_without_api_since is None:
            m.up_without_api_since = now
        return now - m.up_without_api_since >= self.wake_api_grace_s

    def _wake_started(self, m: TrackedMiner, now: float) -> None:
        """The mining software of a woken miner came up: learn how long that took after its
        web was back, and that the wake worked."""
        if m.up_without_api_since is not None:
            self._wakes.start_delay(now - m.up_without_api_since)
        if m.wake_outcome_due:
            m.wake_outcome_due = False
            self._wakes.started()

    def _calibrate(self) -> None:
        """Learn each miner's own power from its steady readings (`TrackedMiner.learn_power`),
        and the fleet's bias from the calibrated ones, for the others."""
        cfg = self._config
        for m in self._miners.values():
            m.learn_power(
                self._curve,
                steady_tolerance=cfg.power_steady_tolerance,
                smoothing=cfg.power_smoothing,
                lowest=cfg.power_scale_min,
                highest=cfg.power_scale_max,
            )
        self._update_prior()

    def _update_prior(self) -> None:
        cfg = self._config
        learnt = [m.power_scale for m in self._miners.values() if m.power_samples > 0]
        self._prior_scale = _fleet_bias(
            learnt, cfg.power_prior_min_samples, cfg.power_prior_significance
        )

    def _scale(self, m: TrackedMiner) -> float:
        """A miner's draw over the curve's: its own once calibrated, else the fleet's."""
        return m.power_scale if m.power_samples > 0 else self._prior_scale

    def _wake_failed(self, m: TrackedMiner, now: float, reason: str) -> None:
        """A wake or restart that did not produce mining: rest, or fail after repeated tries."""
        cfg = self._config
        if m.phase is Phase.WAKING and m.wake_outcome_due and not m.hashing_seen:
            self._wakes.failed()
        m.wake_outcome_due = False
        m.wake_failures += 1
        m.last_error = reason
        if m.wake_failures >= cfg.max_wake_failures:
            m.failed_until = now + cfg.failed_cooldown_s
            _LOGGER.warning("%s failed %d wakes in a row: resting", m.mac, m.wake_failures)
        else:
            m.resting_until = now + cfg.wake_backoff_s * 2 ** (m.wake_failures - 1)
        m.phase = None
        m.dispatched = False
        m.target_mhz = None
        self._structural_change = True
        if m.capabilities.can_sleep:
            self._order_sleep(m, now)  # back to a known state; it must not surprise us later

    def _check_shedding(self, m: TrackedMiner, now: float) -> None:
        """Make sure what the fleet put to sleep stays asleep.

        A sleep sent while a miner reboots is lost (its web server is down, or the mining
        software is not up to hear it), so anything seen hashing within the keep-asleep window
        is told again. A miner that keeps hashing through repeated orders is a fault.
        """
        if m.read_failures >= self._offline_after:
            m.shed_deadline = None  # cannot be seen; the window still catches it coming back
            return
        if not m.fresh:
            return
        if not m.hashing():
            m.shed_deadline = None
            m.shed_attempts = 0
            m.shed_fault = False
            return
        ours_to_stop = (
            now < m.keep_asleep_until
            and not m.dispatched
            and m.phase is None
            and m.override is not MinerOverride.ON
        )
        if not ours_to_stop:
            return
        if m.shed_deadline is None:
            m.shed_deadline = now + self._config.shed_timeout_s  # it came up after all
        elif now >= m.shed_deadline:
            m.shed_attempts += 1
            if m.shed_attempts >= self._config.max_shed_attempts and not m.shed_fault:
                _LOGGER.error("%s keeps mining after %d sleep orders", m.mac, m.shed_attempts)
                m.shed_fault = True
            m.shed_deadline = now + self._config.shed_timeout_s
        else:
            return
        self._actuator.submit(m.mac, m.driver, Order(OrderKind.SLEEP))

    def _order_done(self, mac: str, order: Order, error: MinerError | None) -> None:
        m = self._miners.get(mac)
        if m is None:
            return
        if error is None:
            if order.mhz is not None:
                m.configured_mhz = order.mhz
            return
        m.last_error = f"{order.kind} failed: {error}"
        now = self._clock.monotonic()
        if order.kind is OrderKind.WAKE and m.phase is Phase.WAKING:
            self._wake_failed(m, now, m.last_error)
        elif order.kind is OrderKind.RETUNE and m.phase is Phase.CHANGING:
            m.phase = None
            m.target_mhz = m.configured_mhz
            self._structural_change = True
        # A failed sleep is retried by the shedding check.

    # --- meter -------------------------------------------------------------------------------

    def _learn_meter_gap(self, now: float) -> None:
        """Learn what the model misses (PSU spread, auxiliaries) while nothing is moving."""
        if self._meter_kw is None:
            return  # stale: hold what was learnt
        cfg = self._config
        settled = (
            not self._settling(now)  # nothing moving, every running miner calibrated
            and now - self._last_action_at >= cfg.meter_settle_s
            and now - self._transition_ended_at >= cfg.meter_settle_s
            and all(
                m.phase is None and m.shed_deadline is None and (m.fresh or m.reading is None)
                for m in self._miners.values()
            )
        )
        if not settled:
            return
        model_w = present_power_w(
            self._mode, self._plan_inputs(now, lock=False), self._config.planner
        )
        gap = self._meter_kw * 1000.0 - model_w
        self._meter_gap_w += cfg.meter_smoothing * (gap - self._meter_gap_w)

    def _correction_w(self) -> float:
        return self._meter_gap_w if self._site_meter is not None else 0.0

    # --- regulation --------------------------------------------------------------------------

    def _regulate(self, now: float) -> None:
        target = self.target_w
        structural, self._structural_change = self._structural_change, False
        if target is None:
            self._deviation_since = None
            return
        inputs = self._plan_inputs(now, lock=True)
        limits = self._config.planner
        present = present_power_w(self._mode, inputs, limits, fixed_w=self._correction_w())
        error = present - target
        band = self._band_w(inputs)
        if band is None or -band[0] <= error <= band[1]:
            self._deviation_since = None
            return
        if error > band[1] and self._excess_may_vanish(inputs, target, band[1]):
            # Starts under way were counted at their expected share; the early ones are seen
            # mining before a failure shows. Stopping miners now would be undone once it does.
            self._deviation_since = None
            return
        if not structural and self._settling(now) and abs(error) < self._step_w():
            # Miners are still on their way or not yet calibrated: correcting now would be
            # corrected again once they are. Only a miss of a whole miner cannot wait.
            self._deviation_since = None
            return
        if not structural:
            if self._deviation_since is None:
                self._deviation_since = now
            if now - self._deviation_since < self._config.persistence_s:
                return
            if now - self._last_action_at < self._config.lockout_s:
                return
        plan = plan_dispatch(target, self._mode, inputs, limits, fixed_w=self._correction_w())
        if plan.transitions:
            self._apply(plan, now)
            self._deviation_since = None

    def _step_w(self) -> float:
        """What one miner adds at full power: the on/off resolution."""
        return self._curve.nominal_w - self._curve.standby_w

    def _settling(self, now: float) -> bool:
        """Whether the fleet's power is still finding its level: orders in flight, miners
        waking or changing, or miners that just got there and are not calibrated yet."""
        if self._actuator.busy:
            return True
        wait = self._config.calibrate_wait_s
        for m in self._miners.values():
            if m.phase is not None:
                return True
            if (
                m.dispatched
                and m.power_samples == 0
                and m.hashing()
                and now - m.transition_ended_at < wait
            ):
                return True
        return False

    def _excess_may_vanish(self, inputs: list[PlanMiner], target_w: float, above_w: float) -> bool:
        """Whether an excess may still vanish: it does if the starts under way that are not
        yet seen mining (counted at their expected share) all fail."""
        uncertain = [i.running and i.available and i.arrival < 1.0 for i in inputs]
        if not any(uncertain):
            return False
        failing = [
            replace(i, arrival=0.0) if u else i for i, u in zip(inputs, uncertain, strict=True)
        ]
        limits = self._config.planner
        worst = present_power_w(self._mode, failing, limits, fixed_w=self._correction_w())
        return worst - target_w <= above_w

    def _band_w(self, inputs: list[PlanMiner]) -> tuple[float, float] | None:
        """How far (below, above) the target the fleet may be; None when nothing is left to
        plan (and so nothing to regulate)."""
        limits = self._config.planner
        factor = self._config.band_factor
        if self._mode is PowerMode.FREQUENCY:
            below = above = limits.frequency_tolerance_w * factor
        else:
            step = self._curve.nominal_w - self._curve.standby_w
            above, below = step / 2 * factor, step / 2 * factor
            if limits.policy is TargetPolicy.NEVER_ABOVE:
                below = step * factor
        if limits.policy is TargetPolicy.NEVER_ABOVE:
            above = 0.5  # watts: rounding only
        if not any(i.available and not i.locked for i in inputs):
            return None
        return below, above

    def _plan_inputs(self, now: float, *, lock: bool) -> list[PlanMiner]:
        inputs = []
        offline_after = self._offline_after
        dwell = self._config.min_dwell_s
        start_rate = self._wakes.start_rate
        for m in self._miners.values():
            available = m.plannable(now, offline_after)
            running = m.running()
            # A start, to come or under way and not yet seen mining, may fail like others did.
            unproven = not running or (m.phase is Phase.WAKING and not m.hashing_seen)
            inputs.append(
                PlanMiner(
                    mac=m.mac,
                    running=running,
                    mhz=m.running_mhz() if running else None,
                    runtime_s=m.runtime_s,
                    available=available,
                    # Regulation leaves alone what it just switched or what is still busy.
                    locked=lock
                    and available
                    and (now - m.switched_at < dwell or self._actuator.pending(m.mac)),
                    power_scale=self._scale(m),
                    standby_w=m.capabilities.standby_w,
                    present_w=self._expected_w(m, now),
                    can_set_frequency=m.capabilities.can_set_frequency,
                    wake_failures=m.wake_failures,
                    arrival=start_rate if unproven else 1.0,
                )
            )
        return inputs

    def _expected_w(self, m: TrackedMiner, now: float) -> float:
        """Draw of a miner the planner may not touch, once pending safety orders are done."""
        if m.shed_deadline is not None or m.overheated(now):
            return m.capabilities.standby_w
        if (
            m.override is MinerOverride.ON
            and m.read_failures < self._offline_after
            and (m.hashing() or now - m.switched_at < self._config.wake_timeout_s)
        ):
            # Forced on: counted at the power it runs at once its wake or change is done.
            return self._scale(m) * self._curve.power_w(m.expected_mhz(self._curve))
        return m.consumption_w(self._curve, self._offline_after)

    # --- acting ------------------------------------------------------------------------------

    def _apply(self, plan: DispatchPlan, now: float) -> None:
        for a in plan.assignments:
            m = self._miners.get(a.mac)
            if m is None:
                continue
            match a.action:
                case Action.START:
                    self._order_start(m, a.mhz, now)
                case Action.STOP:
                    self._order_sleep(m, now)
                case Action.RETUNE:
                    self._order_retune(m, a.mhz, now)
                case Action.KEEP:
                    if a.mhz is not None:
                        m.dispatched = True  # adopt a miner that already runs
                        m.target_mhz = a.mhz
        self._plan = plan
        if plan.transitions:
            self._last_action_at = now

    def _order_start(
        self, m: TrackedMiner, mhz: float | None, now: float, *, force_frequency: bool = False
    ) -> None:
        m.dispatched = True
        m.target_mhz = mhz
        m.phase = Phase.WAKING
        m.phase_started = now
        m.hashing_seen = False
        m.down_seen = False
        m.up_without_api_since = None
        # Only wakes of miners in good standing make the start rate: retries of failed ones are
        # a last resort, and counting them would make the healthy ones look worse.
        m.wake_outcome_due = m.wake_failures == 0
        m.switched_at = now
        m.shed_deadline = None
        m.keep_asleep_until = -math.inf
        # On/off leaves an unknown frequency alone (it is nominal unless we changed it, and
        # then we know it); frequency mode must be sure.
        if m.configured_mhz is None:
            needs_frequency = mhz is not None and (
                force_frequency or self._mode is PowerMode.FREQUENCY
            )
        else:
            needs_frequency = mhz is not None and abs(m.configured_mhz - mhz) >= 0.5
        order_mhz = mhz if needs_frequency and m.capabilities.can_set_frequency else None
        self._actuator.submit(m.mac, m.driver, Order(OrderKind.WAKE, order_mhz))

    def _order_retune(self, m: TrackedMiner, mhz: float | None, now: float) -> None:
        m.dispatched = True
        m.target_mhz = mhz
        m.phase = Phase.CHANGING
        m.phase_started = now
        m.hashing_seen = False
        m.switched_at = now
        self._actuator.submit(m.mac, m.driver, Order(OrderKind.RETUNE, mhz))

    def _order_sleep(self, m: TrackedMiner, now: float) -> None:
        m.dispatched = False
        m.phase = None
        m.wake_outcome_due = False  # a wake called off tells nothing
        m.target_mhz = None
        m.switched_at = now
        m.shed_deadline = now + self._config.shed_timeout_s
        m.shed_attempts = 0
        m.keep_asleep_until = now + self._config.wake_timeout_s  # covers a reboot in progress
        self._actuator.submit(m.mac, m.driver, Order(OrderKind.SLEEP))

    def _shed_all(self, now: float) -> int:
        """Deactivate's fast path: every miner the fleet runs goes to sleep at once."""
        count = 0
        for m in self._miners.values():
            if (m.dispatched or m.phase is not None) and m.capabilities.can_sleep:
                self._order_sleep(m, now)
                count += 1
        self._plan = None
        self._last_action_at = now
        return count

    def _act_on_target(self, now: float) -> str:
        """Re-plan from the present state for the target in force (no dwell locks: a command
        may undo what the loop just did). Returns the plan summary."""
        target = self.target_w
        if target is None or target <= 0:
            count = self._shed_all(now)
            return f"{count} miners going to sleep" if count else "all dispatched miners asleep"
        plan = plan_dispatch(
            target,
            self._mode,
            self._plan_inputs(now, lock=False),
            self._config.planner,
            fixed_w=self._correction_w(),
        )
        self._apply(plan, now)
        self._deviation_since = None
        return plan.summary

    # --- commands ----------------------------------------------------------------------------

    async def activate(self, target_kw: object, source: str = SOURCE_EMS) -> CommandResult:
        """Run the fleet at `target_kw` (0 means deactivate). Returns once the orders are out."""
        params: dict[str, ParameterValue] = {"activationPowerInKw": _param(target_kw)}
        async with self._command_lock:
            now = self._clock.monotonic()
            try:
                kw = parse_power_kw(target_kw)
            except InvalidPowerError as err:
                return await self._done(
                    "activate",
                    source,
                    params,
                    CommandResult.refused(CommandReason.INVALID, str(err)),
                )
            refusal = self._dispatch_refusal(deactivating=kw == 0)
            if refusal is not None:
                return await self._done("activate", source, params, refusal)
            if kw == 0:
                return await self._deactivate_now("activate", source, params, now)
            rated = self._rated_kw(now)
            if exceeds_rated(kw, rated):
                message = f"{kw:g} kW exceeds rated power {rated:.2f} kW"
                return await self._done(
                    "activate",
                    source,
                    params,
                    CommandResult.refused(CommandReason.EXCEEDS_RATED, message),
                )
            self._ems_target_w = kw * 1000.0
            plan = plan_dispatch(
                self._ems_target_w,
                self._mode,
                self._plan_inputs(now, lock=False),
                self._config.planner,
                fixed_w=self._correction_w(),
            )
            result = CommandResult.ok(plan.summary, plan.summary)
            await self._record("activate", source, params, result)  # durable before acting
            self._apply(plan, now)
            self._deviation_since = None
            self._publish()
            return result

    async def deactivate(self, source: str = SOURCE_EMS) -> CommandResult:
        """Put every miner the fleet runs to sleep. Idempotent; refused only during override."""
        async with self._command_lock:
            now = self._clock.monotonic()
            refusal = self._dispatch_refusal(deactivating=True)
            if refusal is not None:
                return await self._done("deactivate", source, {}, refusal)
            return await self._deactivate_now("deactivate", source, {}, now)

    async def _deactivate_now(
        self, command: str, source: str, params: dict[str, ParameterValue], now: float
    ) -> CommandResult:
        was_active = self._ems_target_w is not None
        self._ems_target_w = None
        count = self._shed_all(now)  # safety first: the orders go out before the bookkeeping
        if count:
            message = f"deactivating: {count} miners going to sleep"
        elif was_active:
            message = "deactivated"
        else:
            message = "already deactivated"
        result = CommandResult.ok(message, "all miners asleep")
        await self._record(command, source, params, result)
        self._publish()
        return result

    async def set_mode(self, mode: object, source: str = "service") -> CommandResult:
        """Switch between `on_off` and `frequency`; re-plans a target in force."""
        params: dict[str, ParameterValue] = {"mode": _param(mode)}
        async with self._command_lock:
            try:
                new_mode = PowerMode(mode if isinstance(mode, str) else "")
            except ValueError:
                choices = ", ".join(m.value for m in PowerMode)
                result = CommandResult.refused(
                    CommandReason.INVALID, f"mode must be one of {choices}"
                )
                return await self._done("set_mode", source, params, result)
            if new_mode is self._mode:
                return await self._done(
                    "set_mode", source, params, CommandResult.ok(f"mode is already {new_mode}")
                )
            self._mode = new_mode
            summary = None
            if self.target_w is not None:
                summary = self._act_on_target(self._clock.monotonic())
            message = f"mode set to {new_mode}" + (f": {summary}" if summary else "")
            return await self._done("set_mode", source, params, CommandResult.ok(message, summary))

    async def set_override(
        self, enabled: object, target_kw: object = None, source: str = "service"
    ) -> CommandResult:
        """Manual override: the operator's target replaces the EMS's, which gets 409 meanwhile.
        Releasing it returns to the last EMS target."""
        params: dict[str, ParameterValue] = {
            "enabled": _param(enabled),
            "target_power_kw": _param(target_kw),
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
                        result = CommandResult.refused(CommandReason.INVALID, str(err))
                        return await self._done("set_override", source, params, result)
                    rated = self._rated_kw(now)
                    if exceeds_rated(kw, rated):
                        result = CommandResult.refused(
                            CommandReason.EXCEEDS_RATED,
                            f"{kw:g} kW exceeds rated power {rated:.2f} kW",
                        )
                        return await self._done("set_override", source, params, result)
                    target_w = kw * 1000.0
                self._override_enabled = True
                self._override_target_w = target_w
            else:
                self._override_enabled = False
                self._override_target_w = None
            summary = self._act_on_target(now)
            state = "on" if enabled else "off"
            result = CommandResult.ok(f"manual override {state}: {summary}", summary)
            return await self._done("set_override", source, params, result)

    async def set_dispatch_enabled(self, enabled: object, source: str = "service") -> CommandResult:
        """Allow or refuse EMS activation (the fleet keeps its present target either way)."""
        params: dict[str, ParameterValue] = {"enabled": _param(enabled)}
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
        self, mac: str, excluded: object, source: str = "service"
    ) -> CommandResult:
        """Take a miner out of dispatch (it is left as it is) or give it back."""
        params: dict[str, ParameterValue] = {"mac": mac, "excluded": _param(excluded)}
        async with self._command_lock:
            m = self._miners.get(mac)
            if m is None:
                result = CommandResult.refused(CommandReason.NOT_FOUND, f"no miner {mac}")
            elif not isinstance(excluded, bool):
                result = CommandResult.refused(
                    CommandReason.INVALID, "excluded must be true or false"
                )
            else:
                m.excluded = excluded
                if excluded and (m.dispatched or m.phase is not None):
                    m.dispatched = False
                    m.phase = None
                    self._structural_change = True
                word = "excluded from" if excluded else "included in"
                result = CommandResult.ok(f"{mac} {word} dispatch")
            return await self._done("set_excluded", source, params, result)

    async def set_miner_override(
        self,
        mac: str,
        override: object,
        source: str = "service",
        *,
        mhz: object = None,
    ) -> CommandResult:
        """Force one miner on or off (`"on"`, `"off"`), or give it back to the fleet (None).

        With `"on"`, `mhz` pins its frequency: it is woken at that frequency, or retuned if it
        already runs. The planner counts it as fixed draw at that frequency.
        """
        params: dict[str, ParameterValue] = {"mac": mac, "override": _param(override)}
        if mhz is not None:
            params["mhz"] = _param(mhz)
        async with self._command_lock:
            now = self._clock.monotonic()
            m = self._miners.get(mac)
            if m is None:
                result = CommandResult.refused(CommandReason.NOT_FOUND, f"no miner {mac}")
                return await self._done("set_miner_override", source, params, result)
            try:
                wanted = None if override is None else MinerOverride(str(override))
            except ValueError:
                result = CommandResult.refused(
                    CommandReason.INVALID, "override must be 'on', 'off' or none"
                )
                return await self._done("set_miner_override", source, params, result)
            if wanted is not None and not m.capabilities.can_sleep:
                result = CommandResult.refused(
                    CommandReason.CONFLICT, f"{mac} cannot be switched (firmware without sleep)"
                )
                return await self._done("set_miner_override", source, params, result)
            pin: float | None = None
            if mhz is not None:
                checked = self._check_pin(m, wanted, mhz)
                if isinstance(checked, CommandResult):
                    return await self._done("set_miner_override", source, params, checked)
                pin = checked
            if wanted is MinerOverride.ON and m.overheated(now):
                result = CommandResult.refused(
                    CommandReason.CONFLICT, f"{mac} is cooling down after overheating"
                )
                return await self._done("set_miner_override", source, params, result)
            m.override = wanted
            m.pin_mhz = pin
            if wanted is not None and (m.dispatched or m.phase is not None):
                self._structural_change = True
            if wanted is MinerOverride.ON:
                self._run_forced(m, now)
            elif wanted is MinerOverride.OFF:
                self._order_sleep(m, now)
            elif m.hashing() and self.target_w is not None:
                m.dispatched = True  # released while running: the fleet adopts it
            self._structural_change = True
            word = str(wanted or "released")
            if pin is not None:
                word += f" at {pin:g} MHz"
            result = CommandResult.ok(f"{mac} override {word}")
            return await self._done("set_miner_override", source, params, result)

    def _check_pin(
        self, m: TrackedMiner, wanted: MinerOverride | None, mhz: object
    ) -> float | CommandResult:
        """Validate a frequency pin: only with "on", a number within what curve and miner allow,
        on firmware that can set the frequency."""
        if wanted is not MinerOverride.ON:
            return CommandResult.refused(
                CommandReason.INVALID, "a frequency can be pinned only with override 'on'"
            )
        if isinstance(mhz, bool) or not isinstance(mhz, int | float) or not math.isfinite(mhz):
            return CommandResult.refused(CommandReason.INVALID, "mhz must be a finite number")
        if not m.capabilities.can_set_frequency:
            return CommandResult.refused(
                CommandReason.CONFLICT, f"{m.mac} cannot set its frequency (firmware)"
            )
        lo = max(self._curve.min_mhz, m.capabilities.min_mhz)
        hi = min(self._curve.max_mhz, m.capabilities.max_mhz)
        if not lo <= mhz <= hi:
            return CommandResult.refused(
                CommandReason.INVALID, f"mhz must be between {lo:g} and {hi:g}, got {mhz:g}"
            )
        return float(round(mhz))

    def _run_forced(self, m: TrackedMiner, now: float) -> None:
        """Carry out an operator's "on": wake it (at its pinned frequency), or retune it if it
        runs elsewhere. The miner is the operator's, not the fleet's: no phase, not dispatched."""
        pin = m.pin_mhz
        if not m.hashing():
            self._order_start(m, pin, now, force_frequency=True)
        elif pin is not None and (m.configured_mhz is None or abs(m.configured_mhz - pin) >= 0.5):
            m.switched_at = now
            self._actuator.submit(m.mac, m.driver, Order(OrderKind.RETUNE, pin))
        m.dispatched = False
        m.phase = None
        m.target_mhz = pin

    async def reboot_miner(self, mac: str, source: str = "service") -> CommandResult:
        """Reboot one miner and keep it in the state the fleet wants once it is back up."""
        params: dict[str, ParameterValue] = {"mac": mac}
        async with self._command_lock:
            now = self._clock.monotonic()
            m = self._miners.get(mac)
            if m is None:
                result = CommandResult.refused(CommandReason.NOT_FOUND, f"no miner {mac}")
                return await self._done("reboot_miner", source, params, result)
            if m.dispatched:
                # Back up it mines again: watch it like a wake, so a miner that stays down is
                # noticed and replaced.
                m.phase = Phase.WAKING
                m.phase_started = now
                m.hashing_seen = False
                m.down_seen = False
                m.up_without_api_since = None
                m.wake_outcome_due = False  # the operator's reboot, not a wake
            elif m.override is not MinerOverride.ON:
                # A Vnish S9 boots into mining; one the fleet keeps asleep is put back to sleep.
                m.keep_asleep_until = now + self._config.wake_timeout_s
            self._structural_change = True
            self._actuator.submit(m.mac, m.driver, Order(OrderKind.REBOOT))
            result = CommandResult.ok(f"{mac} is rebooting")
            return await self._done("reboot_miner", source, params, result)

    def _dispatch_refusal(self, *, deactivating: bool) -> CommandResult | None:
        """The contract's 409 and 503 rows. Deactivate is refused only during override."""
        if self._override_enabled:
            return CommandResult.refused(CommandReason.CONFLICT, "manual override is active")
        if deactivating:
            return None
        conflict = self._conflict()
        if conflict is not None:
            return CommandResult.refused(CommandReason.CONFLICT, conflict)
        now = self._clock.monotonic()
        miners = self._miners.values()
        unreachable = (MinerState.OFFLINE, MinerState.FAILED)
        if all(m.state(now, self._offline_after) in unreachable for m in miners):
            return CommandResult.refused(CommandReason.UNAVAILABLE, "no miner reachable")
        if not any(m.dispatchable(now, self._offline_after) for m in miners):
            return CommandResult.refused(CommandReason.UNAVAILABLE, "no dispatchable miner")
        return None

    def _conflict(self) -> str | None:
        if not self._dispatch_enabled:
            return "EMS dispatch is disabled"
        faults = self._faults()
        if faults:
            return "fleet in fault: " + "; ".join(faults)
        return None

    async def _done(
        self,
        command: str,
        source: str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> CommandResult:
        await self._record(command, source, params, result)
        self._publish()
        return result

    async def _record(
        self,
        command: str,
        source: str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> None:
        entry = CommandRecord(
            timestamp=self._clock.now(),
            source=source,
            command=command,
            parameters=dict(params),
            accepted=result.accepted,
            reason=result.reason.value,
            message=result.message,
            plan_summary=result.plan_summary,
        )
        self._last_command = entry
        try:
            await self._log.record(entry)
        except Exception:  # history is not worth refusing (or stalling) dispatch for
            _LOGGER.exception("recording %s from %s failed", command, source)

    # --- snapshot ----------------------------------------------------------------------------

    def _rated_kw(self, now: float) -> float:
        """Full power of the healthy dispatchable miners, as each was measured to draw. A miner
        whose last wake failed counts again only once it has mined."""
        full_w = self._curve.power_w(self._config.planner.full_mhz(self._mode))
        return rated_power_kw(
            self._scale(m) * full_w
            for m in self._miners.values()
            if m.dispatchable(now, self._offline_after) and m.wake_failures == 0
        )

    def _faults(self) -> list[str]:
        return [
            f"{m.mac} keeps mining after sleep orders"
            for m in self._miners.values()
            if m.shed_fault
        ]

    def _publish(self) -> None:
        self._snapshot = self._build_snapshot()

    def _build_snapshot(self) -> FleetSnapshot:
        now = self._clock.monotonic()
        offline_after = self._offline_after
        miners = tuple(
            m.snapshot(now, offline_after, self._curve)
            for m in sorted(self._miners.values(), key=lambda m: m.mac)
        )
        faults = self._faults()
        target = self.target_w
        target_kw = None if target is None else round(target / 1000.0, 3)
        ours = [m for m in self._miners.values() if m.dispatched or m.shed_deadline is not None]
        dispatched_mining = sum(1 for m in ours if m.hashing() and m.reading is not None)
        settling = any(m.phase is not None for m in self._miners.values())
        shedding = any(m.shed_deadline is not None and m.hashing() for m in self._miners.values())
        # Available only with a healthy one: a miner whose last wake failed counts once it mined.
        dispatchable = sum(1 for s in miners if s.dispatchable and s.wake_failures == 0)
        if target is None:
            summary = "standby"
        elif self._plan is not None:
            summary = self._plan.summary
        else:
            summary = ""
        return FleetSnapshot(
            state=derive_fleet_state(
                override_enabled=self._override_enabled,
                fault=bool(faults),
                target_kw=target_kw,
                settling=settling,
                shedding=shedding,
            ),
            mode=self._mode,
            available=is_available_for_dispatch(
                dispatch_enabled=self._dispatch_enabled,
                override_enabled=self._override_enabled,
                fault=bool(faults),
                dispatchable_miners=dispatchable,
            ),
            running_status=running_status(target_kw=target_kw, dispatched_mining=dispatched_mining),
            rated_power_kw=self._rated_kw(now),
            active_power_kw=active_power_kw((s.consumption_w for s in miners), self._meter_kw),
            target_kw=target_kw,
            dispatch_enabled=self._dispatch_enabled,
            override_enabled=self._override_enabled,
            override_target_kw=(
                round(self._override_target_w / 1000.0, 3)
                if self._override_enabled and self._override_target_w is not None
                else None
            ),
            plan_summary=summary,
            hashrate_ths=round(sum(s.hashrate_ths or 0.0 for s in miners if not s.stale), 3),
            power_source="meter" if self._meter_kw is not None else "miners",
            updated_at=self._clock.now(),
            miners=miners,
            faults=tuple(faults),
            last_command=self._last_command,
        )


def _fleet_bias(scales: list[float], min_samples: int, significance: float) -> float:
    """The draw over the curve's to assume for an uncalibrated miner: the median of the
    calibrated ones when they are enough and it stands out from the curve by more than
    `significance` standard errors (robust ones, from the median absolute deviation), else
    the curve's."""
    if len(scales) < max(1, min_samples):
        return 1.0
    median = statistics.median(scales)
    spread = 1.4826 * statistics.median(abs(s - median) for s in scales)
    standard_error = 1.2533 * spread / math.sqrt(len(scales))
    return median if abs(median - 1.0) > significance * standard_error else 1.0


def _watts(kw: float | None) -> float | None:
    return None if kw is None else kw * 1000.0


def _param(value: object) -> ParameterValue:
    """A command parameter as it can be stored: JSON scalars as they are, anything else as text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return repr(value)


def miners_by_state(snapshot: FleetSnapshot) -> dict[MinerState, int]:
    """How many miners are in each state (for status pages)."""
    counts = dict.fromkeys(MinerState, 0)
    for m in snapshot.miners:
        counts[m.state] += 1
    return counts
