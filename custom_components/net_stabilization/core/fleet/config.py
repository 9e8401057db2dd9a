"""Timers, limits and concurrency of the fleet controller, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from .calibration import CalibrationLimits
from .planner import PlanLimits
from .timings import TimingLearning
from .wakes import WakeLearning


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """Everything the controller waits for or limits. Defaults suit S9s on Vnish 3.9."""

    planner: PlanLimits = field(default_factory=PlanLimits)
    # Bounded fan-out: a 1000-miner fleet gets its commands out in about two seconds.
    max_concurrent_commands: int = 100
    max_concurrent_reads: int = 200
    # An order that reached nobody (the miner reboots, or is gone) is tried again this often
    # (real seconds) for up to `order_retry_for_s`, so a sleep ordered while a miner reboots
    # lands as soon as its web answers. None: only at polls (deterministic, for simulations
    # on a manual clock).
    order_retry_s: float | None = None
    order_retry_for_s: float = 300.0
    # A miner is offline only after this many failed reads in a row (one lost reply is noise).
    offline_after_failures: int = 3
    # Transitions are judged by their progress (`progress`, `timings`). Until a miner's (or
    # its kind's) pauses were measured, a wake may go this long without visible progress (an
    # S9's boot shows none while its web is down: one to three minutes), a change of setting
    # `change_timeout_s`; whatever the progress, a wake or change fails beyond
    # `wake_timeout_s`. A driver whose firmware is known to take longer asks for more
    # (`OperatingPoints`). A wake that was never heard is given up after `wake_start_timeout_s`.
    wake_start_timeout_s: float = 240.0
    wake_timeout_s: float = 600.0
    change_timeout_s: float = 240.0
    # Failed wakes: rest for back-off x 2^(n-1) before the miner may be tried again; after
    # `max_wake_failures` in a row it is `failed` for the cool-down.
    wake_backoff_s: float = 60.0
    max_wake_failures: int = 3
    failed_cooldown_s: float = 1800.0
    # Safety: a chip at or over the limit is put to sleep and rests for the cool-down.
    temp_limit_c: float = 90.0
    # A miner whose firmware reports board temperatures only (LuxOS) is judged by its hottest
    # board sensor instead: LuxOS's own default "Dangerous" board temperature on S19 models,
    # where it cuts the board (chips run about 15 °C above the board sensors).
    board_temp_limit_c: float = 70.0
    overheat_cooldown_s: float = 600.0
    # Hot reserve: this many S9s are stopped (their mining software) rather than put to sleep
    # when the fleet sheds, so they start again in a minute or two without a reboot. Off
    # unless `hot_standby_w`, what a stopped S9 draws, was measured and given.
    hot_reserve: int = 0
    hot_standby_w: float | None = None
    # A miner told to sleep that still hashes after this long is told again; after
    # `max_shed_attempts` the fleet is in fault until it stops.
    shed_timeout_s: float = 15.0
    max_shed_attempts: int = 3
    # A reboot heard by the miner that has not taken it down after this long never came.
    reboot_down_s: float = 30.0
    # Regulation between commands: a deviation must persist before the loop acts, and after an
    # action the loop waits out a lockout. A miner the loop just switched keeps its state for
    # `min_dwell_s` (unless a command asks otherwise).
    persistence_s: float = 10.0
    lockout_s: float = 30.0
    min_dwell_s: float = 120.0
    # Regulation band as a multiple of the planner's own tolerance (above 1 so the loop never
    # corrects what the planner just accepted).
    band_factor: float = 1.2
    # Site meter: the gap between meter and model is learnt only while nothing is in
    # transition, and not until `meter_settle_s` after the last action or the last miner
    # reaching full hashrate (S9s report "mining" before the ramp ends), smoothed per poll.
    meter_settle_s: float = 45.0
    meter_smoothing: float = 0.3
    # Calibration: each miner's measured / curve power, learnt from steady readings.
    calibration: CalibrationLimits = field(default_factory=CalibrationLimits)
    # Fine regulation waits while dispatched miners are still changing, or (up to this long
    # after their transition ended) not yet calibrated, so one correction does the job.
    calibrate_wait_s: float = 60.0
    # A wake reboots the miner: it goes down, its web comes back, then the mining software
    # starts. Web up with the mining software still refusing for this long means it never will
    # (an upper bound: `wakes` shortens it to what healthy miners of the fleet take).
    wake_api_grace_s: float = 45.0
    # What the fleet learns from its wakes: start rate (spare wakes) and start delay.
    wakes: WakeLearning = field(default_factory=WakeLearning)
    # What the fleet learns from every transition's timing (`timings`).
    timings: TimingLearning = field(default_factory=TimingLearning)
    # Miners not yet calibrated are planned at the median of the calibrated ones once at least
    # `power_prior_min_samples` are, if that median stands out from the curve by more than
    # `power_prior_significance` standard errors (a bias of the whole fleet, e.g. PSUs or
    # firmware, rather than the spread of a sample, which would only add noise).
    power_prior_min_samples: int = 5
    power_prior_significance: float = 2.0
