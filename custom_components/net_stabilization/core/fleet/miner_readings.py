"""What a miner's readings tell the fleet: the progress and the end of its transition (the
power of its new setting seen, not merely the setting), its timings, its runtime and its draw."""

from __future__ import annotations

import math

from ..miners.base import MinerReading, MiningState
from ..power_curve import PowerCurve
from .calibration import CalibrationLimits
from .miner_state import (
    ARRIVAL_MIN_W,
    ARRIVAL_SHARE,
    HASHING,
    OFFLINE_STRETCH,
    SETTING_MATCH,
    MinerView,
    Stage,
    WakeNews,
    WakeStep,
)
from .progress import Progress, Timed
from .timings import Transition
from .trust import vet_reading


class MinerReadings(MinerView):
    """Takes a miner's poll results in."""

    @property
    def timing_kind(self) -> str:
        """Which miners time alike: the same driver and model."""
        return f"{self.driver.kind}/{self.identity.model}"

    def take_timings(self) -> list[Timed]:
        """The transitions timed since the last call."""
        out, self._progress.timed = self._progress.timed, []
        return out

    @property
    def progress(self) -> Progress:
        """The progress of the transition under way."""
        return self._progress

    def _watch_progress(self, now: float) -> None:
        """Start watching the transition under way if it is not watched yet: a wake or a
        sleep from when it was heard, a change from when it was asked."""
        match self._stage:
            case Stage.WAKING | Stage.STOPPING if self._heard:
                anchor = self._heard_at
            case Stage.CHANGING:
                anchor = self._since
            case _:
                return
        if anchor != self._progress.anchor and math.isfinite(anchor):
            self._progress.start(anchor, self._reading)

    def _time(self, transition: Transition, now: float, *, ok: bool = True) -> None:
        progress = self._progress
        if math.isfinite(progress.anchor):
            seconds = now - progress.anchor
            self._progress.timed.append((transition, seconds, progress.longest_pause_s(now), ok))

    # --- readings -----------------------------------------------------------------------------

    def _vetted(self, reading: MinerReading | None) -> MinerReading | None:
        """The reading with figures its model cannot show dropped; a plausible one makes the
        miner trusted (it has answered as its firmware would)."""
        if reading is None:
            return None
        reading, plausible = vet_reading(reading, self.capabilities)
        self.trusted = self.trusted or plausible
        return reading

    def observe(
        self,
        reading: MinerReading | None,
        error: str | None,
        now: float,
        *,
        curve: PowerCurve | None = None,
        scale: float = 1.0,
    ) -> WakeNews | None:
        """Take one poll result (a failed read keeps the previous values, marked stale).
        With `curve` and `scale` (what the miner draws over the curve), a wake or a change
        ends when the power of its new setting is seen, not merely its setting."""
        self._watch_progress(now)
        reading = self._vetted(reading)
        if reading is None or not reading.online or reading.state is MiningState.OFFLINE:
            self._read_failed(error, now)
            return None
        self._progress.heading_w = self._heading(curve, scale)
        if self._stage in (Stage.WAKING, Stage.CHANGING, Stage.STOPPING):
            if self._read_failures and self._down_seen:
                self._progress.moved(now)  # back from the reboot
            self._progress.observe(reading, now, self._progress.heading_w)
        self._back_from_offline = self._read_failures >= OFFLINE_STRETCH
        self._reading = reading
        self._read_failures = 0
        hashing = reading.state in HASHING
        if hashing:
            self._hot = False  # running again, whatever started it
        setting = self._setting(reading)
        if hashing and setting is not None:
            self._configured_setting = float(round(setting))
        if self._down_seen and not hashing and self._web_back_at is None:
            self._web_back_at = now
        match self._stage:
            case Stage.SLEEPING | Stage.MINING:
                self._stage = Stage.MINING if hashing else Stage.SLEEPING
            case Stage.WAKING:
                return self._wake_progress(reading, now)
            case Stage.CHANGING:
                if self._change_done(reading, now) and self._arrived(reading):
                    if self._progress.heading_w is not None and reading.power_w is not None:
                        self._time(Transition.CHANGE, now)
                    self._finish(now)
            case Stage.STOPPING:
                pass  # `follow_up` judges whether the sleep took
        return None

    def _read_failed(self, error: str | None, now: float) -> None:
        self._read_failures += 1
        if error:
            self._last_error = error
        self._calibration.interrupt()
        if (self._stage is Stage.WAKING and self._heard) or self._rebooting:
            if not self._down_seen:
                self._progress.moved(now)  # the reboot took it down: on its way
            self._down_seen = True
            self._web_back_at = None

    def _heading(self, curve: PowerCurve | None, scale: float) -> float | None:
        """The power the transition under way heads to, if known."""
        if curve is None:
            return None
        if self._stage is Stage.STOPPING:
            return self.capabilities.standby_w
        setting = self._target_setting
        if setting is None:
            setting = self._configured_setting
        if setting is None:
            setting = curve.nominal_setting
        return scale * curve.power_w(setting)

    def _arrived(self, reading: MinerReading) -> bool:
        """The reading shows the power the transition heads to (or no power to judge by)."""
        power, heading = reading.power_w, self._progress.heading_w
        if power is None or heading is None:
            return True
        tolerance = max(ARRIVAL_MIN_W, ARRIVAL_SHARE * heading)
        start = self._progress.start_w
        if start is not None and heading < start:
            return power <= heading + tolerance
        return power >= heading - tolerance

    def _wake_progress(self, reading: MinerReading, now: float) -> WakeNews | None:
        news = None
        if reading.state in HASHING and self._step is not WakeStep.RAMPING:
            delay = None if self._web_back_at is None else now - self._web_back_at
            news = WakeNews(delay, self._outcome_due)
            self._outcome_due = False
            self._step = WakeStep.RAMPING
            if self._progress.timed_wake and self._heard:
                self._time(Transition.START, now)
        elif self._web_back_at is not None and self._step is WakeStep.BOOTING:
            self._step = WakeStep.STARTING
        if reading.state is MiningState.MINING and self._arrived(reading):
            if self._progress.timed_wake and self._heard:
                self._time(Transition.FULL, now)
            self._finish(now)
        return news

    def _change_done(self, reading: MinerReading, now: float) -> bool:
        """Mining again, with evidence the change took: the new frequency, or a restart since
        we asked."""
        if reading.state is not MiningState.MINING:
            return False
        setting = self._setting(reading)
        if (
            self._target_setting is not None
            and setting is not None
            and abs(setting - self._target_setting) <= SETTING_MATCH
        ):
            return True
        return reading.uptime_s is not None and reading.uptime_s < now - self._since

    def _at_new_setting(self) -> bool:
        """Hashing (fresh reading) at the setting it was told."""
        reading = self._reading
        if not self.fresh or reading is None or reading.state is not MiningState.MINING:
            return False
        setting = self._setting(reading)
        target = self._target_setting
        return setting is None or target is None or abs(setting - target) <= SETTING_MATCH

    def _finish(self, now: float) -> None:
        self._progress.timed_wake = False
        self._stage = Stage.MINING
        self._wake_failures = 0
        self._ended_at = now
        self._reply_error = None
        self._rebooting = self._down_seen = False

    def count_runtime(self, elapsed_s: float) -> None:
        """Add mining time for wear levelling: each poll its firmware reports it mining, the
        ramp of a wake or change included. The fleet watches such a ramp as a transition until
        the new power shows, but the miner hashes, and wears, all along."""
        reading = self._reading
        if self.fresh and reading is not None and reading.state is MiningState.MINING:
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
