"""What the controller remembers about each miner between polls, and what it concludes from it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ..miners.base import Capabilities, MinerDriver, MinerIdentity, MinerReading, MiningState
from ..power_curve import PowerCurve
from .model import MinerOverride, MinerSnapshot, MinerState, is_dispatchable

_HASHING = (MiningState.MINING, MiningState.STARTING)
_FROM_READING = {
    MiningState.MINING: MinerState.MINING,
    MiningState.STARTING: MinerState.WAKING,  # ramping up, whoever started it
    MiningState.SLEEPING: MinerState.SLEEPING,
}
# A reported frequency this close to the commanded one means the change took.
_FREQUENCY_MATCH_MHZ = 5.0


class Phase(StrEnum):
    """A transition the fleet started and is waiting to see finish."""

    WAKING = "waking"
    CHANGING = "changing"


@dataclass(slots=True)
class TrackedMiner:
    """Mutable per-miner record owned by the controller."""

    driver: MinerDriver
    identity: MinerIdentity
    capabilities: Capabilities
    reading: MinerReading | None = None  # the latest good reading
    read_failures: int = 0  # failed reads in a row
    last_error: str | None = None
    excluded: bool = False
    override: MinerOverride | None = None
    dispatched: bool = False  # the fleet ordered it to run
    target_mhz: float | None = None  # frequency the fleet ordered
    configured_mhz: float | None = None  # frequency last seen hashing or last set
    phase: Phase | None = None
    phase_started: float = 0.0
    hashing_seen: bool = False  # the mining software came up during this phase
    wake_failures: int = 0  # wakes in a row that did not produce mining
    resting_until: float = -math.inf  # back-off after a failed wake
    failed_until: float = -math.inf
    overheated_until: float = -math.inf
    shed_deadline: float | None = None  # told to sleep; must be seen asleep by then
    keep_asleep_until: float = -math.inf  # re-sleep it if seen hashing before then
    shed_attempts: int = 0
    shed_fault: bool = False
    runtime_s: float = 0.0
    switched_at: float = -math.inf  # last time the fleet changed this miner
    # Calibration: measured wall power over curve power at the running frequency, learnt from
    # fresh steady readings (the PSU and chips of every S9 differ by a few per cent).
    power_scale: float = 1.0
    power_samples: int = 0  # steady readings learnt from; 0: `power_scale` is the default
    previous_power_w: float | None = None  # the reading before, to tell a ramp from steady
    previous_power_mhz: float | None = None
    # Wake evidence: the miner went down (rebooting) after the wake, and when its web came
    # back while the mining software still refused.
    down_seen: bool = False
    up_without_api_since: float | None = None
    # This wake's outcome (started or not) is still to be counted in the fleet's start rate.
    wake_outcome_due: bool = False
    # The operator's frequency for a miner forced on (`set_miner_override(..., mhz=...)`).
    pin_mhz: float | None = None
    transition_ended_at: float = -math.inf  # when the last wake or change was seen done

    @property
    def mac(self) -> str:
        """The miner's identity."""
        return self.identity.mac

    def ingest(self, reading: MinerReading | None, error: str | None) -> None:
        """Take one poll result. A failed read keeps the previous values (marked stale)."""
        if reading is None or not reading.online or reading.state is MiningState.OFFLINE:
            self.read_failures += 1
            self.previous_power_w = None
            if error:
                self.last_error = error
            return
        self.reading = reading
        self.read_failures = 0
        if reading.state in _HASHING and reading.frequency_mhz is not None:
            self.configured_mhz = float(round(reading.frequency_mhz))

    @property
    def fresh(self) -> bool:
        """The latest read succeeded."""
        return self.reading is not None and self.read_failures == 0

    def hashing(self) -> bool:
        """The latest good reading shows the mining software running."""
        return self.reading is not None and self.reading.state in _HASHING

    def fresh_hashing(self) -> bool:
        """The latest read succeeded and shows the mining software running."""
        return self.fresh and self.hashing()

    def state(self, now: float, offline_after: int) -> MinerState:
        """The fleet's view of this miner."""
        if now < self.failed_until:
            return MinerState.FAILED
        if self.phase is Phase.WAKING:
            return MinerState.WAKING
        if self.phase is Phase.CHANGING:
            return MinerState.CHANGING
        if self.reading is None or self.read_failures >= offline_after:
            return MinerState.OFFLINE
        return _FROM_READING.get(self.reading.state, MinerState.SLEEPING)

    def overheated(self, now: float) -> bool:
        """Resting after a chip went over the limit."""
        return now < self.overheated_until

    def dispatchable(self, now: float, offline_after: int) -> bool:
        """May be planned by the fleet (counts toward rated power and availability); not while
        resting after a failed wake."""
        return now >= self.resting_until and is_dispatchable(
            state=self.state(now, offline_after),
            excluded=self.excluded,
            override=self.override,
            overheated=self.overheated(now),
            can_sleep=self.capabilities.can_sleep,
        )

    def plannable(self, now: float, offline_after: int) -> bool:
        """Dispatchable and safe to act on now: freshly read, or in a transition we started
        (a rebooting miner does not answer)."""
        return self.dispatchable(now, offline_after) and (self.fresh or self.phase is not None)

    def running(self) -> bool:
        """Hashing, or on its way there because we asked."""
        return self.phase is not None or self.hashing()

    def running_mhz(self) -> float | None:
        """The frequency it runs at or heads to, as far as we know."""
        if self.target_mhz is not None and (self.dispatched or self.phase is not None):
            return self.target_mhz
        if self.reading is not None and self.reading.frequency_mhz is not None:
            return float(round(self.reading.frequency_mhz))
        return self.configured_mhz

    def transition_done(self, now: float) -> bool:
        """Whether a fresh reading shows the phase finished: mining, and for a frequency change
        evidence that the change took (the new frequency, or a restart since we asked)."""
        if not self.fresh or self.reading is None or self.reading.state is not MiningState.MINING:
            return False
        if self.phase is Phase.WAKING:
            return True
        reading = self.reading
        if (
            self.target_mhz is not None
            and reading.frequency_mhz is not None
            and abs(reading.frequency_mhz - self.target_mhz) <= _FREQUENCY_MATCH_MHZ
        ):
            return True
        return reading.uptime_s is not None and reading.uptime_s < now - self.phase_started

    def learn_power(
        self,
        curve: PowerCurve,
        *,
        steady_tolerance: float,
        smoothing: float,
        lowest: float,
        highest: float,
    ) -> bool:
        """Learn `power_scale` from the latest reading if it is fresh, steady mining at a known
        frequency: the same frequency and (within `steady_tolerance`) the same power as the
        reading before, so a ramp is never taken for the miner's own draw. Returns whether a
        sample was taken."""
        reading = self.reading
        if not self.fresh or reading is None:
            return False
        power, mhz = reading.power_w, reading.frequency_mhz
        previous, previous_mhz = self.previous_power_w, self.previous_power_mhz
        steady_state = reading.state is MiningState.MINING and self.phase is None
        if steady_state and power is not None and mhz is not None and power > 0:
            self.previous_power_w, self.previous_power_mhz = power, mhz
        else:
            self.previous_power_w = self.previous_power_mhz = None
            return False
        if previous is None or previous_mhz is None or abs(previous_mhz - mhz) > 0.5:
            return False
        if abs(power - previous) > steady_tolerance * power:
            return False
        ratio = power / curve.power_w(mhz)
        if not lowest <= ratio <= highest:
            return False  # not a spread: a dead board or a bad estimate; leave the model alone
        if self.power_samples == 0:
            self.power_scale = ratio
        else:
            self.power_scale += smoothing * (ratio - self.power_scale)
        self.power_samples += 1
        return True

    def expected_mhz(self, curve: PowerCurve) -> float:
        """Frequency it will run at once what was ordered is done."""
        if self.pin_mhz is not None and self.override is MinerOverride.ON:
            return self.pin_mhz
        mhz = self.running_mhz()
        return mhz if mhz is not None else curve.nominal_mhz

    def consumption_w(self, curve: PowerCurve, offline_after: int) -> float:
        """What this miner adds to the fleet's draw: reported power, else an estimate from its
        last known state. An offline miner is counted as drawing nothing."""
        if self.reading is None or (self.read_failures >= offline_after and self.phase is None):
            return 0.0
        if self.reading.power_w is not None:
            return self.reading.power_w
        if self.reading.state in _HASHING:
            return self.power_scale * curve.power_w(self.reading.frequency_mhz or curve.nominal_mhz)
        return self.capabilities.standby_w

    def shown_target_mhz(self) -> float | None:
        """The frequency asked for: the operator's pin, else the fleet's while dispatched."""
        if self.override is MinerOverride.ON and self.pin_mhz is not None:
            return self.pin_mhz
        return self.target_mhz if self.dispatched else None

    def snapshot(self, now: float, offline_after: int, curve: PowerCurve) -> MinerSnapshot:
        """An immutable view for the outside world."""
        reading = self.reading
        return MinerSnapshot(
            mac=self.mac,
            host=self.driver.host,
            model=self.identity.model,
            firmware=self.identity.firmware,
            hostname=self.identity.hostname,
            state=self.state(now, offline_after),
            excluded=self.excluded,
            override=self.override,
            dispatchable=self.dispatchable(now, offline_after),
            dispatched=self.dispatched,
            stale=self.reading is not None and self.read_failures > 0,
            overheated=self.overheated(now),
            power_w=reading.power_w if reading else None,
            consumption_w=self.consumption_w(curve, offline_after),
            hashrate_ths=reading.hashrate_ths if reading else None,
            frequency_mhz=reading.frequency_mhz if reading else None,
            target_mhz=self.shown_target_mhz(),
            chip_temp_c=reading.chip_temp_c if reading else None,
            runtime_s=self.runtime_s,
            wake_failures=self.wake_failures,
            nominal_w=self.capabilities.nominal_w,
            standby_w=self.capabilities.standby_w,
            last_error=self.last_error,
        )
