"""One miner's life as the fleet sees it: an explicit state machine, its transitions as methods.

    sleeping ─wake→ waking (booting → starting → ramping) ─full hashrate seen→ mining
    mining ─retune→ changing ─new frequency seen→ mining
    any ─sleep→ stopping ─sleep heard and seen asleep→ sleeping

Only `FleetMiner` writes its fields. The controller feeds it readings (`observe`) and order
results (`order_done`), asks it what is due (`check`, `follow_up`) and calls its transitions;
every transition returns the order (if any) to send.

Two things the rest of the fleet relies on:

- A transition cancelled by a newer command is not a failure. A wake called off is left
  uncounted; a sleep ordered while the wake's reboot is still under way is held and sent once
  the miner's web interface answers again. Until the mining software hashes, it cannot hear a
  sleep, so that order stops the mining software instead (`OrderKind.STOP`), before it ramps.
- Failures come only from real evidence: an accepted wake with no mining by its deadline, a
  miner whose web came back while the mining software never started, or a reply error.
"""

from __future__ import annotations

import math
from enum import StrEnum

from ..miners.base import Capabilities, MinerDriver, MinerReading, MiningState
from ..miners.base import MinerUnreachableError as _Unreachable
from ..power_curve import PowerCurve
from .actuator import Order, OrderKind
from .calibration import CalibrationLimits, MinerCalibration
from .config import ControlConfig
from .model import MinerOverride, MinerSnapshot, MinerState, is_dispatchable

_HASHING = (MiningState.MINING, MiningState.STARTING)
# This many failed reads in a row, then an answer: the miner was down (a power cut or a reboot).
_OFFLINE_STRETCH = 3
# A reported frequency this close to the commanded one means the change took.
_FREQUENCY_MATCH_MHZ = 5.0


class Stage(StrEnum):
    """Where a miner is in its life, as far as the fleet knows."""

    SLEEPING = "sleeping"  # not hashing, nothing of ours under way
    MINING = "mining"  # hashing, nothing of ours under way
    WAKING = "waking"  # our wake (a reboot on Vnish 3.9) is under way
    CHANGING = "changing"  # our frequency change: the mining software restarts
    STOPPING = "stopping"  # our sleep: ordered, not yet heard or not yet seen to take


class WakeStep(StrEnum):
    """How far a wake has come."""

    BOOTING = "booting"  # rebooting: web and API down
    STARTING = "starting"  # web back, mining software not hashing yet
    RAMPING = "ramping"  # hashing, not yet at full rate


class WakeNews:
    """The mining software of a woken miner came up: what the fleet learns from it."""

    __slots__ = ("counts", "delay_s")

    def __init__(self, delay_s: float | None, counts: bool) -> None:
        self.delay_s = delay_s  # from the web seen back to the mining software seen up
        self.counts = counts  # the wake's outcome belongs in the fleet's start rate


class FleetMiner:
    """One miner of the fleet: what it reported, what it was told and where that stands."""

    def __init__(self, driver: MinerDriver) -> None:
        identity = driver.identity
        if identity is None:
            raise ValueError(f"{driver.host}: identify the miner before adding it")
        self.driver = driver
        self.identity = identity
        self.capabilities: Capabilities = driver.capabilities
        self._reading: MinerReading | None = None
        self._read_failures = 0
        self._last_error: str | None = None
        self._configured_mhz: float | None = None  # last seen hashing at, or last set
        self._runtime_s = 0.0
        # The operator's.
        self._excluded = False
        self._override: MinerOverride | None = None
        self._pin_mhz: float | None = None
        # The fleet's.
        self._dispatched = False
        self._target_mhz: float | None = None
        # The stage and its transition.
        self._stage = Stage.SLEEPING
        self._since = -math.inf
        self._step = WakeStep.BOOTING
        self._heard = False  # the stage's order was heard (after the reboot, for a sleep)
        self._heard_at = -math.inf
        self._reply_error: str | None = None  # the miner refused the stage's order
        self._wake_mhz: float | None = None  # frequency the wake order sets, for a resend
        self._rebooting = False  # a reboot of ours may be under way (booting or starting)
        self._stop_not_sleep = False  # the mining software may be (re)starting: stop it
        self._retune_due = False  # a frequency asked for while it booted: set once it answers
        self._back_from_offline = False  # answers again after a stretch offline: it rebooted
        self._reboot_at = -math.inf
        self._down_seen = False  # the reboot took the miner down
        self._web_back_at: float | None = None
        self._outcome_due = False  # this wake counts in the fleet's start rate
        self._seq = 0  # the latest order given
        self._awaiting = False  # the latest order was not reported back yet
        self._switched_at = -math.inf
        self._ended_at = -math.inf
        # Health.
        self._wake_failures = 0
        self._resting_until = -math.inf
        self._failed_until = -math.inf
        self._overheated_until = -math.inf
        # Keeping it asleep.
        self._shed_deadline: float | None = None
        self._shed_attempts = 0
        self._shed_fault = False
        self._keep_asleep_until = -math.inf
        self._calibration = MinerCalibration()
        # A hot reserve: its mining software stopped by us instead of sleep mode, so a restart
        # of the mining software brings it back without the reboot a wake from sleep is.
        self._hot = False
        self._want_hot = False  # the sleep under way is to leave it stopped, not asleep
        self._wake_kind = OrderKind.WAKE  # what the wake under way sends (or a restart)
        self.hot_standby_w: float | None = None  # what it draws stopped (measured, configured)

    # --- what is known ------------------------------------------------------------------------

    @property
    def mac(self) -> str:
        """The miner's identity."""
        return self.identity.mac

    @property
    def stage(self) -> Stage:
        """Where the miner is in its life."""
        return self._stage

    @property
    def reading(self) -> MinerReading | None:
        """The latest good reading."""
        return self._reading

    @property
    def fresh(self) -> bool:
        """The latest read succeeded."""
        return self._reading is not None and self._read_failures == 0

    @property
    def read_failures(self) -> int:
        """Failed reads in a row."""
        return self._read_failures

    def hashing(self) -> bool:
        """The latest good reading shows the mining software running."""
        return self._reading is not None and self._reading.state in _HASHING

    @property
    def configured_mhz(self) -> float | None:
        """The frequency it was last seen hashing at, or last set to."""
        return self._configured_mhz

    @property
    def excluded(self) -> bool:
        """Taken out of dispatch by the operator."""
        return self._excluded

    @property
    def override(self) -> MinerOverride | None:
        """The operator's forced on/off."""
        return self._override

    @property
    def pin_mhz(self) -> float | None:
        """The operator's frequency for a miner forced on."""
        return self._pin_mhz if self._override is MinerOverride.ON else None

    @property
    def dispatched(self) -> bool:
        """The fleet runs it (or is bringing it up)."""
        return self._dispatched

    @property
    def wake_failures(self) -> int:
        """Wakes in a row that did not produce mining."""
        return self._wake_failures

    @property
    def runtime_s(self) -> float:
        """Mining time seen by this controller, for wear levelling."""
        return self._runtime_s

    @property
    def switched_at(self) -> float:
        """When the fleet last changed this miner."""
        return self._switched_at

    @property
    def transition_ended_at(self) -> float:
        """When the last wake or frequency change was seen done."""
        return self._ended_at

    @property
    def awaiting_order(self) -> bool:
        """The latest order has not been reported back yet."""
        return self._awaiting

    @property
    def shed_fault(self) -> bool:
        """Keeps hashing through repeated sleep orders."""
        return self._shed_fault

    @property
    def shedding(self) -> bool:
        """Told to sleep and not yet seen asleep."""
        return self._stage is Stage.STOPPING

    @property
    def hot(self) -> bool:
        """Stopped by us, not asleep: a start is a restart of its mining software."""
        return self._hot and self._stage is Stage.SLEEPING

    @property
    def in_reserve(self) -> bool:
        """In the hot reserve, or on its way there."""
        return self.hot or (self._stage is Stage.STOPPING and self._want_hot)

    @property
    def in_transition(self) -> bool:
        """A wake or frequency change of ours is under way."""
        return self._stage in (Stage.WAKING, Stage.CHANGING)

    @property
    def calibration(self) -> MinerCalibration:
        """What it was learnt to draw."""
        return self._calibration

    def rebooting_for_us(self) -> bool:
        """Unreachable because of a reboot the fleet started (not offline)."""
        if self._stage is Stage.WAKING:
            return self._step is WakeStep.BOOTING
        return self._stage is Stage.STOPPING and self._rebooting and self._web_back_at is None

    def overheated(self, now: float) -> bool:
        """Resting after a chip went over the limit."""
        return now < self._overheated_until

    def state(self, now: float, offline_after: int) -> MinerState:
        """The fleet's view of this miner."""
        if now < self._failed_until:
            return MinerState.FAILED
        if self._stage is Stage.WAKING or self.rebooting_for_us():
            return MinerState.WAKING
        if self._stage is Stage.CHANGING:
            return MinerState.CHANGING
        if self._reading is None or self._read_failures >= offline_after:
            return MinerState.OFFLINE
        if self._reading.state is MiningState.MINING:
            return MinerState.MINING
        if self._reading.state is MiningState.STARTING:
            return MinerState.WAKING  # ramping up, whoever started it
        return MinerState.SLEEPING

    def dispatchable(self, now: float, offline_after: int) -> bool:
        """May be planned by the fleet; not while resting after a failed wake."""
        return now >= self._resting_until and is_dispatchable(
            state=self.state(now, offline_after),
            excluded=self._excluded,
            override=self._override,
            overheated=self.overheated(now),
            can_sleep=self.capabilities.can_sleep,
        )

    def plannable(self, now: float, offline_after: int) -> bool:
        """Dispatchable and safe to act on now: freshly read, or in a transition we started
        (a rebooting miner does not answer)."""
        return self.dispatchable(now, offline_after) and (
            self.fresh or self.in_transition or self.rebooting_for_us()
        )

    def running(self) -> bool:
        """Hashing, or on its way there because we asked; never while told to sleep."""
        if self._stage is Stage.STOPPING:
            return False
        return self.in_transition or self.hashing()

    def _setting(self, reading: MinerReading | None) -> float | None:
        """The setting a reading shows, in this miner's unit."""
        if reading is None:
            return None
        return reading.setting_in(self.capabilities.points.unit)

    def running_mhz(self) -> float | None:
        """The frequency it runs at or heads to, as far as we know."""
        if self._target_mhz is not None and (self._dispatched or self.in_transition):
            return self._target_mhz
        setting = self._setting(self._reading)
        if setting is not None:
            return float(round(setting))
        return None

    def resume_mhz(self) -> float | None:
        """For a miner told to sleep that could still be given back to the fleet without a
        new wake (its wake's reboot still under way, or the sleep not heard yet while it
        hashes): the frequency it would run at. None when a start needs a real wake."""
        if self._stage is not Stage.STOPPING or self._heard:
            return None
        if self._rebooting or self.hashing():
            return self._configured_mhz
        return None

    def expected_mhz(self, curve: PowerCurve) -> float:
        """Frequency it will run at once what was ordered is done."""
        if self.pin_mhz is not None:
            return self.pin_mhz
        mhz = self.running_mhz()
        return mhz if mhz is not None else curve.nominal_mhz

    def consumption_w(self, curve: PowerCurve, offline_after: int) -> float:
        """What it adds to the fleet's draw: reported power, else an estimate from its last
        known state; an offline miner draws nothing."""
        reading = self._reading
        if reading is None or (
            self._read_failures >= offline_after
            and not self.in_transition
            and not self.rebooting_for_us()
        ):
            return 0.0
        if self.hot and self.hot_standby_w is not None:
            return self.hot_standby_w  # the firmware's figure is its sleep draw
        if reading.power_w is not None:
            return reading.power_w
        if reading.state in _HASHING:
            mhz = self._setting(reading) or curve.nominal_mhz
            return self._calibration.scale * curve.power_w(mhz)
        return self.capabilities.standby_w

    # --- readings -----------------------------------------------------------------------------

    def observe(
        self, reading: MinerReading | None, error: str | None, now: float
    ) -> WakeNews | None:
        """Take one poll result (a failed read keeps the previous values, marked stale)."""
        if reading is None or not reading.online or reading.state is MiningState.OFFLINE:
            self._read_failures += 1
            if error:
                self._last_error = error
            self._calibration.interrupt()
            if (self._stage is Stage.WAKING and self._heard) or self._rebooting:
                self._down_seen = True  # the reboot took it down
                self._web_back_at = None
            return None
        self._back_from_offline = self._read_failures >= _OFFLINE_STRETCH
        self._reading = reading
        self._read_failures = 0
        hashing = reading.state in _HASHING
        if hashing:
            self._hot = False  # running again, whatever started it
        setting = self._setting(reading)
        if hashing and setting is not None:
            self._configured_mhz = float(round(setting))
        if self._down_seen and not hashing and self._web_back_at is None:
            self._web_back_at = now
        match self._stage:
            case Stage.SLEEPING | Stage.MINING:
                self._stage = Stage.MINING if hashing else Stage.SLEEPING
            case Stage.WAKING:
                return self._wake_progress(reading, now)
            case Stage.CHANGING:
                if self._change_done(reading, now):
                    self._finish(now)
            case Stage.STOPPING:
                pass  # `follow_up` judges whether the sleep took
        return None

    def _wake_progress(self, reading: MinerReading, now: float) -> WakeNews | None:
        news = None
        if reading.state in _HASHING and self._step is not WakeStep.RAMPING:
            delay = None if self._web_back_at is None else now - self._web_back_at
            news = WakeNews(delay, self._outcome_due)
            self._outcome_due = False
            self._step = WakeStep.RAMPING
        elif self._web_back_at is not None and self._step is WakeStep.BOOTING:
            self._step = WakeStep.STARTING
        if reading.state is MiningState.MINING:
            self._finish(now)
        return news

    def _change_done(self, reading: MinerReading, now: float) -> bool:
        """Mining again, with evidence the change took: the new frequency, or a restart since
        we asked."""
        if reading.state is not MiningState.MINING:
            return False
        setting = self._setting(reading)
        if (
            self._target_mhz is not None
            and setting is not None
            and abs(setting - self._target_mhz) <= _FREQUENCY_MATCH_MHZ
        ):
            return True
        return reading.uptime_s is not None and reading.uptime_s < now - self._since

    def _finish(self, now: float) -> None:
        self._stage = Stage.MINING
        self._wake_failures = 0
        self._ended_at = now
        self._reply_error = None
        self._rebooting = self._down_seen = False

    def count_runtime(self, elapsed_s: float, now: float, offline_after: int) -> None:
        """Add mining time for wear levelling."""
        if self.fresh and self.state(now, offline_after) is MinerState.MINING:
            self._runtime_s += elapsed_s

    def learn_power(self, curve: PowerCurve, limits: CalibrationLimits) -> bool:
        """Learn its own draw from the latest reading, if fresh and steady (`calibration`)."""
        if not self.fresh or self._reading is None:
            return False
        steady = self._stage in (Stage.MINING, Stage.SLEEPING)
        return self._calibration.learn(
            self._reading,
            self._setting(self._reading),
            steady_state=steady,
            curve=curve,
            limits=limits,
        )

    # --- supervision --------------------------------------------------------------------------

    def check(self, now: float, config: ControlConfig, api_grace_s: float) -> str | None:
        """Why the wake or frequency change under way failed, if it did (None: not failed)."""
        if self._reply_error is not None:
            return self._reply_error
        if self._stage is Stage.CHANGING:
            if now - self._since >= config.retune_timeout_s:
                return "did not come back after a frequency change"
            return None
        if self._stage is not Stage.WAKING:
            return None
        if not self._heard:
            if now - self._since >= config.wake_start_timeout_s and self.fresh:
                return "the wake could not be delivered"
            return None
        elapsed = now - self._heard_at
        if self._step is not WakeStep.RAMPING:
            back = self._web_back_at
            if (
                self.fresh
                and back is not None
                and self._reading is not None
                and self._reading.state is MiningState.SLEEPING
                and now - back >= api_grace_s
            ):
                return "web came back after the wake's reboot, mining did not"
            if elapsed >= config.wake_start_timeout_s:
                return "did not start mining after a wake"
        if elapsed >= config.wake_timeout_s:
            return "did not reach full hashrate after a wake"
        return None

    def unheard_and_gone(self, offline_after: int) -> bool:
        """A wake that never reached the miner, which stopped answering: it is offline, not
        a miner whose wake failed."""
        return (
            self._stage is Stage.WAKING
            and not self._heard
            and not self._awaiting
            and self._read_failures >= offline_after
        )

    def end_cooldown(self, now: float, config: ControlConfig) -> None:
        """After the failed cool-down it is back in rotation, as a last resort and not toward
        rated power until it mines again; one more failed wake fails it again."""
        if self._wake_failures >= config.max_wake_failures and now >= self._failed_until:
            self._wake_failures = config.max_wake_failures - 1

    def strays(self, now: float, offline_after: int) -> bool:
        """Up on its own although the fleet keeps it asleep (a power cut or a reboot brought
        it back): hashing, or just back and about to start (a Vnish S9 boots into mining).
        Not the fleet's, not the operator's, in no transition."""
        return (
            self._stage in (Stage.MINING, Stage.SLEEPING)
            and self.fresh
            and (self.hashing() or self._back_from_offline)
            and not self._dispatched
            and self._override is None
            and self.dispatchable(now, offline_after)
        )

    def keep_asleep(self, now: float, config: ControlConfig) -> Order | None:
        """Put a stray back to sleep; one just back from a reboot has its starting mining
        software stopped before it ramps."""
        if not self.hashing() and self._back_from_offline:
            self._back_from_offline = False
            self._enter_stopping(now, config, rebooting=False)
            self._stop_not_sleep = True
            self._dispatched = False
            return self._order(OrderKind.STOP)
        return self.sleep(now, config)

    def too_hot(self, limit_c: float) -> bool:
        """Its hottest chip is at or over the limit while it hashes (fresh reading)."""
        reading = self._reading
        return (
            self.fresh
            and reading is not None
            and reading.chip_temp_c is not None
            and reading.chip_temp_c >= limit_c
            and self.hashing()
        )

    def follow_up(self, now: float, config: ControlConfig) -> Order | None:
        """What its stage needs sent now: a wake or sleep not heard yet once the miner
        answers, and a sleep again for one seen hashing when it should not."""
        if self._retune_due and self._stage in (Stage.WAKING, Stage.MINING):
            return self._due_retune(now)
        match self._stage:
            case Stage.WAKING:
                if not self._heard and not self._awaiting and self.fresh:
                    return self._order(self._wake_kind, self._wake_mhz)
            case Stage.STOPPING:
                return self._follow_sleep(now, config)
            case Stage.SLEEPING | Stage.MINING:
                if (
                    self.fresh
                    and self.hashing()
                    and now < self._keep_asleep_until
                    and not self._dispatched
                    and self._override is not MinerOverride.ON
                ):
                    # It came up after all (a reboot, or a sleep lost): tell it again.
                    self._enter_stopping(now, config, rebooting=False)
                    self._shed_attempts = 1
                    return self._order(OrderKind.SLEEP)
            case Stage.CHANGING:
                pass
        return None

    def _follow_sleep(self, now: float, config: ControlConfig) -> Order | None:
        if (
            self._rebooting
            and not self._down_seen
            and now - self._reboot_at >= config.reboot_down_s
        ):
            self._rebooting = False  # no reboot came: an ordinary sleep
        if not self.fresh:
            return None
        if self._heard and not self.hashing():
            self._stage = Stage.SLEEPING
            self._hot = self._want_hot
            self._want_hot = False
            self._shed_deadline = None
            self._shed_attempts = 0
            self._shed_fault = False
            self._rebooting = self._down_seen = False
            self._outcome_due = False
            self._keep_asleep_until = max(self._keep_asleep_until, now + config.wake_timeout_s)
            return None
        if self._rebooting and not self._down_seen and not self.hashing():
            # Wait for the reboot: a sleep heard before it would be lost. One seen hashing
            # is told at once (and again after the reboot, should one still come).
            return None
        if not self._heard:
            if self._awaiting:
                return None
            # Not hashing, but maybe starting: after a reboot, or back after a stretch offline
            # (a Vnish S9 boots into mining), only a stop keeps it from ramping.
            starting = self._rebooting or self._stop_not_sleep or self._back_from_offline
            stop = (starting and not self.hashing()) or self._want_hot
            return self._order(OrderKind.STOP if stop else OrderKind.SLEEP)
        # Heard, still hashing.
        if self._shed_deadline is not None and now < self._shed_deadline:
            return None
        self._shed_attempts += 1
        if self._shed_attempts >= config.max_shed_attempts:
            self._shed_fault = True
        self._shed_deadline = now + config.shed_timeout_s
        self._heard = False
        return self._order(OrderKind.STOP if self._want_hot else OrderKind.SLEEP)

    # --- transitions --------------------------------------------------------------------------

    def wake(self, now: float, mhz: float | None, order_mhz: float | None) -> Order | None:
        """Run for the fleet at `mhz` (`order_mhz`: the frequency the order must set first).
        A miner told to sleep whose wake's reboot is still under way, or which still hashes,
        is simply given back (no new wake)."""
        self._dispatched = True
        self._keep_asleep_until = -math.inf
        if self.in_transition:
            return None
        if self._resumable():
            return self._resume()
        self._target_mhz = mhz
        return self._start_wake(now, order_mhz)

    def _resumable(self) -> bool:
        return (
            self._stage is Stage.STOPPING
            and not self._heard
            and (self._rebooting or self.hashing())
        )

    def _resume(self) -> Order:
        """Call off a sleep not heard yet: the reboot under way goes on (deadlines from its
        start), or the miner simply keeps hashing."""
        self._target_mhz = self._configured_mhz
        self._shed_deadline = None
        if self._rebooting:
            self._stage = Stage.WAKING
            self._step = WakeStep.STARTING if self._web_back_at is not None else WakeStep.BOOTING
            self._heard = True
            self._heard_at = self._reboot_at
        else:
            self._stage = Stage.MINING
        return self._order(OrderKind.CANCEL)

    def _start_wake(self, now: float, order_mhz: float | None) -> Order:
        restart = self.hot and self.fresh
        self._hot = self._want_hot = False
        self._wake_kind = OrderKind.RESTART if restart else OrderKind.WAKE
        self._retune_due = False
        self._stage = Stage.WAKING
        self._since = now
        self._step = WakeStep.BOOTING
        self._heard = False
        self._heard_at = -math.inf
        self._reply_error = None
        self._wake_mhz = order_mhz
        self._rebooting = self._down_seen = False
        self._web_back_at = None
        # Only wakes of miners in good standing make the start rate: retries of failed ones
        # are a last resort, and counting them would make the healthy ones look worse.
        self._outcome_due = self._wake_failures == 0
        self._switched_at = now
        self._shed_deadline = None
        self._keep_asleep_until = -math.inf
        self._calibration.interrupt()
        if restart:
            # No reboot: the web stays up, the mining software starts again at once.
            self._step = WakeStep.STARTING
        return self._order(self._wake_kind, order_mhz)

    def retune(self, now: float, mhz: float) -> Order | None:
        """Move a running miner to another frequency (its mining software restarts). One
        still booting from its wake cannot be told yet: the frequency is set once its web
        answers, while the mining software starts anyway."""
        self._dispatched = True
        self._target_mhz = mhz
        self._switched_at = now
        self._reply_error = None
        if self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING:
            self._retune_due = True
            return self._due_retune(now)
        self._retune_due = False
        self._stage = Stage.CHANGING
        self._since = now
        self._calibration.interrupt()
        return self._order(OrderKind.RETUNE, mhz)

    def _due_retune(self, now: float) -> Order | None:
        """The deferred frequency, once the miner answers and nothing else is out."""
        if not self._retune_due or not self.fresh or self._awaiting or self._target_mhz is None:
            return None
        if self._configured_mhz is not None and abs(self._configured_mhz - self._target_mhz) < 0.5:
            self._retune_due = False
            return None
        if self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING:
            if self._step is WakeStep.BOOTING:
                return None  # still down: its last reading is from before the reboot
            # The wake goes on; setting the frequency restarts the starting mining software,
            # so its start is timed from now.
            self._web_back_at = now
            return self._order(OrderKind.RETUNE, self._target_mhz)
        return self.retune(now, self._target_mhz)

    def adopt(self, mhz: float) -> None:
        """Keep a running miner as part of the plan at `mhz`."""
        self._dispatched = True
        self._target_mhz = mhz

    def sleep(self, now: float, config: ControlConfig, *, hot: bool = False) -> Order | None:
        """Stop hashing. While the mining software is (re)starting it cannot hear a sleep, so
        it is stopped instead; while the wake's reboot keeps the miner down that order waits
        (parked by the actuator, and sent again by `follow_up`) until the web answers. With
        `hot`, its mining software is stopped rather than put to sleep: a hot reserve."""
        self._dispatched = False
        self._target_mhz = None
        self._switched_at = now
        if self._stage is Stage.STOPPING:
            return None  # already on its way
        wake_heard = (
            self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING and self._heard
        )
        restarting = self._stage is Stage.CHANGING
        self._enter_stopping(now, config, rebooting=wake_heard)
        self._want_hot = hot
        self._stop_not_sleep = wake_heard or restarting or hot
        return self._order(OrderKind.STOP if self._stop_not_sleep else OrderKind.SLEEP)

    def _enter_stopping(self, now: float, config: ControlConfig, *, rebooting: bool) -> None:
        self._retune_due = False
        self._stage = Stage.STOPPING
        self._since = now
        self._heard = False
        self._reply_error = None
        if rebooting and not self._rebooting:
            self._reboot_at = self._heard_at if self._heard_at > -math.inf else now
        self._rebooting = rebooting
        self._stop_not_sleep = False
        self._want_hot = False
        if not rebooting:
            self._down_seen = False
        self._shed_deadline = now + config.shed_timeout_s
        self._shed_attempts = 0
        self._calibration.interrupt()

    def resume_after_restart(self, now: float) -> None:
        """The fleet ran this miner before a restart: one that hashes is kept, one that does
        not (rebooting on a wake, or its mining software starting) is watched like a wake
        that started now; its outcome is not counted (the wake was the earlier run's)."""
        self._dispatched = True
        if self.hashing() and self.fresh:
            return
        self._start_wake(now, None)
        self._heard = True
        self._heard_at = now
        self._outcome_due = False
        self._awaiting = False
        if self.fresh:
            self._down_seen = True  # up again: its mining software is still to start
            self._web_back_at = now
            self._step = WakeStep.STARTING
        else:
            self._down_seen = True

    def release(self) -> None:
        """The fleet lets go (excluded, overridden, or gone): it is left as it is. A sleep
        under way is carried through; a wake or change is no longer ours to watch."""
        self._dispatched = False
        self._target_mhz = None
        self._retune_due = False
        if self.in_transition:
            self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
            self._outcome_due = False
            self._rebooting = self._down_seen = False

    def fail_wake(
        self, now: float, reason: str, config: ControlConfig
    ) -> tuple[bool, Order | None]:
        """The wake or frequency change under way failed: rest, or fail after repeated tries,
        and go back to a known state. Returns whether it counts against the start rate, and
        the order that puts the miner to sleep."""
        counts = (
            self._stage is Stage.WAKING and self._outcome_due and self._step is not WakeStep.RAMPING
        )
        self._outcome_due = False
        self._wake_failures += 1
        self._last_error = reason
        if self._wake_failures >= config.max_wake_failures:
            self._failed_until = now + config.failed_cooldown_s
        else:
            self._resting_until = now + config.wake_backoff_s * 2 ** (self._wake_failures - 1)
        self._dispatched = False
        self._target_mhz = None
        self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
        self._rebooting = self._down_seen = False
        if not self.capabilities.can_sleep:
            return counts, None
        # Back to a known state: a miner that never hashed may still be starting.
        never_hashed = not self.hashing()
        self._enter_stopping(now, config, rebooting=False)
        return counts, self._order(OrderKind.STOP if never_hashed else OrderKind.SLEEP)

    def overheat(self, now: float, config: ControlConfig) -> Order | None:
        """A chip over the limit: rest it and put it to sleep (safety wins over overrides)."""
        reading = self._reading
        temp = reading.chip_temp_c if reading is not None else None
        self._overheated_until = now + config.overheat_cooldown_s
        shown = "unknown" if temp is None else f"{temp:.0f} °C"
        self._last_error = f"chip temperature {shown} over the limit"
        if not self.capabilities.can_sleep:
            return None
        return self.sleep(now, config)

    def reboot(self, now: float, config: ControlConfig) -> Order:
        """The operator's reboot. One the fleet runs is watched like a wake (it must come back
        mining); one it keeps asleep is put back to sleep once its web answers again (a Vnish
        S9 boots into mining)."""
        if self._dispatched:
            self._start_wake(now, None)
            self._outcome_due = False  # the operator's reboot, not a wake
            self._heard = True
            self._heard_at = now
        elif self._override is not MinerOverride.ON and self.capabilities.can_sleep:
            self._enter_stopping(now, config, rebooting=True)
            self._reboot_at = now
        return self._order(OrderKind.REBOOT)

    # --- the operator's -----------------------------------------------------------------------

    def set_excluded(self, excluded: bool) -> bool:
        """Take it out of dispatch or give it back; returns whether the fleet lost it."""
        self._excluded = excluded
        if excluded and (self._dispatched or self.in_transition):
            self.release()
            return True
        return False

    def force_on(self, now: float, pin_mhz: float | None) -> Order | None:
        """The operator's "on": wake it (at its pinned frequency), or retune it if it runs
        elsewhere. It is the operator's, not the fleet's: not dispatched."""
        self._override = MinerOverride.ON
        self._pin_mhz = pin_mhz
        self._dispatched = False
        self._keep_asleep_until = -math.inf
        if self.in_transition:
            self._target_mhz = pin_mhz if pin_mhz is not None else self._target_mhz
            return None  # already on its way up
        if self._resumable():
            return self._resume()
        self._target_mhz = pin_mhz
        if not self.hashing():
            configured = self._configured_mhz
            set_first = pin_mhz is not None and (
                configured is None or abs(configured - pin_mhz) >= 0.5
            )
            return self._start_wake(now, pin_mhz if set_first else None)
        if pin_mhz is not None and (
            self._configured_mhz is None or abs(self._configured_mhz - pin_mhz) >= 0.5
        ):
            order = self.retune(now, pin_mhz)
            self._dispatched = False
            return order
        return None

    def force_off(self, now: float, config: ControlConfig) -> Order | None:
        """The operator's "off": put it to sleep and keep it there."""
        self._override = MinerOverride.OFF
        self._pin_mhz = None
        return self.sleep(now, config)

    def release_override(self, adopt: bool) -> None:
        """Give it back to the fleet; one that runs is adopted when a target is in force."""
        self._override = None
        self._pin_mhz = None
        if adopt and self.hashing():
            self._dispatched = True

    def restore(
        self, excluded: bool, override: MinerOverride | None, pin_mhz: float | None
    ) -> None:
        """Take back the operator's settings after a restart (nothing is sent)."""
        self._excluded = excluded
        self._override = override
        self._pin_mhz = pin_mhz if override is MinerOverride.ON else None

    # --- order results ------------------------------------------------------------------------

    def order_done(
        self, order: Order, error: Exception | None, now: float, config: ControlConfig
    ) -> Order | None:
        """Take the result of an order; returns a follow-up order if one is needed."""
        current = order.seq == self._seq
        if current:
            self._awaiting = False
        if error is None:
            if order.mhz is not None and order.kind in (
                OrderKind.WAKE,
                OrderKind.RETUNE,
                OrderKind.RESTART,
            ):
                self._configured_mhz = order.mhz
                if order.kind is OrderKind.RETUNE and current:
                    self._retune_due = False
            if order.kind in (OrderKind.WAKE, OrderKind.REBOOT):
                return self._reboot_heard(now, current)
            if order.kind is OrderKind.RESTART:
                if self._stage is Stage.WAKING and current:
                    # Up all along: the mining software's start is timed from now.
                    self._heard = True
                    self._heard_at = now
                    self._down_seen = True
                    self._web_back_at = now
                return None
            if order.kind in (OrderKind.SLEEP, OrderKind.STOP):
                return self._sleep_heard(now, current, config)
            return None
        self._order_failed(order, error, current)
        return None

    def _order_failed(self, order: Order, error: Exception, current: bool) -> None:
        self._last_error = f"{order.kind} failed: {error}"
        if not current:
            return  # superseded
        if isinstance(error, _Unreachable):
            if self._stage is Stage.STOPPING and self._rebooting:
                self._down_seen = True  # the reboot has the web down
            return  # not heard: held, sent again once the miner answers
        if order.kind in (OrderKind.WAKE, OrderKind.RESTART) and self._stage is Stage.WAKING:
            self._reply_error = self._last_error  # the miner refused the wake: a real failure
        elif order.kind is OrderKind.RETUNE:
            self._retune_due = False  # refused: it stays where it was
            self._target_mhz = self._configured_mhz
            if self._stage is Stage.CHANGING:
                self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
        # A refused sleep is sent again by `follow_up` once its shed deadline passes.
        elif order.kind in (OrderKind.SLEEP, OrderKind.STOP) and self._stage is Stage.STOPPING:
            self._heard = True  # judged by what the next readings show

    def _reboot_heard(self, now: float, current: bool) -> Order | None:
        if self._stage is Stage.WAKING and current:
            self._heard = True
            self._heard_at = now
        elif self._stage is Stage.STOPPING:
            # A reboot heard before or during a sleep: the sleep must be sent after it.
            self._rebooting = True
            self._reboot_at = now
            self._down_seen = False
            self._web_back_at = None
            self._heard = False
        return None

    def _sleep_heard(self, now: float, current: bool, config: ControlConfig) -> Order | None:
        if current and self._stage is Stage.STOPPING:
            if self._rebooting and not self._down_seen:
                return None  # heard before the reboot took it down: lost with the reboot
            self._heard = True
            self._heard_at = now
            self._shed_deadline = now + config.shed_timeout_s
            return None
        if not current and self._dispatched and (self._down_seen or self._stage is Stage.MINING):
            # A sleep that landed after a newer order gave the miner back: it is asleep now.
            return self._start_wake(now, None)
        return None

    # --- snapshot -----------------------------------------------------------------------------

    def snapshot(
        self, now: float, offline_after: int, curve: PowerCurve, *, dispatchable: bool
    ) -> MinerSnapshot:
        """An immutable view for the outside world."""
        reading = self._reading
        target = (
            self.pin_mhz
            if self.pin_mhz is not None
            else (self._target_mhz if self._dispatched else None)
        )
        return MinerSnapshot(
            mac=self.mac,
            host=self.driver.host,
            model=self.identity.model,
            firmware=self.identity.firmware,
            hostname=self.identity.hostname,
            state=self.state(now, offline_after),
            excluded=self._excluded,
            override=self._override,
            dispatchable=dispatchable,
            dispatched=self._dispatched,
            stale=reading is not None and self._read_failures > 0,
            overheated=self.overheated(now),
            power_w=reading.power_w if reading else None,
            consumption_w=self.consumption_w(curve, offline_after),
            hashrate_ths=reading.hashrate_ths if reading else None,
            frequency_mhz=reading.frequency_mhz if reading else None,
            target_mhz=target,
            chip_temp_c=reading.chip_temp_c if reading else None,
            runtime_s=self._runtime_s,
            wake_failures=self._wake_failures,
            nominal_w=self.capabilities.nominal_w,
            standby_w=self.capabilities.standby_w,
            last_error=self._last_error,
            driver=self.driver.kind,
            hot=self.hot,
            setting_unit=self.capabilities.points.unit.value,
            power_source=reading.power_source.value if reading else "reported",
            board_temp_c=reading.board_temp_c if reading else None,
            fan_rpm=reading.fan_rpm if reading else (),
            controllable=self.capabilities.can_sleep,
        )

    def _order(self, kind: OrderKind, mhz: float | None = None) -> Order:
        self._seq += 1
        self._awaiting = kind is not OrderKind.CANCEL
        return Order(kind, mhz, self._seq)
