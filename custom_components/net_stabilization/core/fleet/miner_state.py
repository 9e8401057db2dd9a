"""What the fleet knows of one miner: its readings, the stage of its life, and the state a
transition works on. Its readings (`miner_readings`), its transitions (`miner_transitions`), the
watch over them (`miner_watch`) and the operator's commands and order results (`lifecycle`)
build on it."""

from __future__ import annotations

import math
from enum import StrEnum

from ..miners.base import Capabilities, MinerDriver, MinerReading, MiningState
from ..power_curve import PowerCurve
from .actuator import Order, OrderKind
from .calibration import MinerCalibration
from .model import MinerOverride, MinerState, is_dispatchable
from .progress import Progress

HASHING = (MiningState.MINING, MiningState.STARTING)
# This many failed reads in a row, then an answer: the miner was down (a power cut or a reboot).
OFFLINE_STRETCH = 3
# A reported setting this close to the commanded one means the change took.
SETTING_MATCH = 5.0
# Power this close to what the new setting draws (or 30 W) means the transition arrived.
ARRIVAL_SHARE = 0.06
ARRIVAL_MIN_W = 30.0


class Stage(StrEnum):
    """Where a miner is in its life, as far as the fleet knows."""

    SLEEPING = "sleeping"  # not hashing, nothing of ours under way
    MINING = "mining"  # hashing, nothing of ours under way
    WAKING = "waking"  # our wake (a reboot on Vnish 3.9) is under way
    CHANGING = "changing"  # our change of setting, until the new power is seen
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


class MinerView:
    """One miner: what it reported, what it was told and where that stands."""

    def __init__(self, driver: MinerDriver) -> None:
        identity = driver.identity
        if identity is None:
            raise ValueError(f"{driver.host}: identify the miner before adding it")
        self.driver = driver
        self.identity = identity
        self.capabilities: Capabilities = driver.capabilities
        # Has answered a read as its firmware would, with figures plausible for its model.
        self.trusted = False
        self._reading: MinerReading | None = None
        self._read_failures = 0
        self._last_error: str | None = None
        self._configured_setting: float | None = None  # last seen hashing at, or last set
        self._runtime_s = 0.0
        # The operator's.
        self._excluded = False
        self._override: MinerOverride | None = None
        self._pin_setting: float | None = None
        # The fleet's.
        self._dispatched = False
        self._target_setting: float | None = None
        # The stage and its transition.
        self._stage = Stage.SLEEPING
        self._since = -math.inf
        self._step = WakeStep.BOOTING
        self._heard = False  # the stage's order was heard (after the reboot, for a sleep)
        self._heard_at = -math.inf
        self._reply_error: str | None = None  # the miner refused the stage's order
        self._wake_setting: float | None = None  # frequency the wake order sets, for a resend
        self._rebooting = False  # a reboot of ours may be under way (booting or starting)
        self._stop_not_sleep = False  # the mining software may be (re)starting: stop it
        self._change_due = False  # a frequency asked for while it booted: set once it answers
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
        self._progress = Progress()  # of the transition under way, and what was timed

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
        return self._reading is not None and self._reading.state in HASHING

    @property
    def configured_setting(self) -> float | None:
        """The frequency it was last seen hashing at, or last set to."""
        return self._configured_setting

    @property
    def excluded(self) -> bool:
        """Taken out of dispatch by the operator."""
        return self._excluded

    @property
    def override(self) -> MinerOverride | None:
        """The operator's forced on/off."""
        return self._override

    @property
    def pin_setting(self) -> float | None:
        """The operator's frequency for a miner forced on."""
        return self._pin_setting if self._override is MinerOverride.ON else None

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
        """Dispatchable and safe to act on now: freshly read and trusted (it has answered as
        its firmware would), or in a transition we started (a rebooting miner does not
        answer)."""
        under_way = self.in_transition or self.rebooting_for_us()
        return self.dispatchable(now, offline_after) and (
            (self.fresh and self.trusted) or under_way
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

    def running_setting(self) -> float | None:
        """The frequency it runs at or heads to, as far as we know."""
        if self._target_setting is not None and (self._dispatched or self.in_transition):
            return self._target_setting
        setting = self._setting(self._reading)
        if setting is not None:
            return float(round(setting))
        return None

    def resume_setting(self) -> float | None:
        """For a miner told to sleep that could still be given back to the fleet without a
        new wake (its wake's reboot still under way, or the sleep not heard yet while it
        hashes): the frequency it would run at. None when a start needs a real wake."""
        if self._stage is not Stage.STOPPING or self._heard:
            return None
        if self._rebooting or self.hashing():
            return self._configured_setting
        return None

    def expected_setting(self, curve: PowerCurve) -> float:
        """Frequency it will run at once what was ordered is done."""
        if self.pin_setting is not None:
            return self.pin_setting
        setting = self.running_setting()
        return setting if setting is not None else curve.nominal_setting

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
        if reading.state in HASHING:
            setting = self._setting(reading) or curve.nominal_setting
            return self._calibration.scale * curve.power_w(setting)
        return self.capabilities.standby_w

    def _order(self, kind: OrderKind, setting: float | None = None) -> Order:
        self._seq += 1
        self._awaiting = kind is not OrderKind.CANCEL
        return Order(kind, setting, self._seq)
