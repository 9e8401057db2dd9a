"""What a Braiins OS+ miner's numbers mean: its operating points, and one reading's state.

The setting is the tuner's power target in watts. Assumptions, none documented by Braiins:
- The target governs what the hash boards draw; the control board and fans add
  `CONTROL_OVERHEAD_W` at the wall.
- Paused, the hash boards are off and the miner draws `PAUSED_W` (control board, idling fans,
  the power supply's own losses).
- Below its stock target a miner hashes more efficiently: hashrate grows with the target to the
  power `HASHRATE_EXPONENT`, anchored at the stock target's hashrate (the unit's sticker figure,
  else its model's efficiency).
- A resume is `WAKE_S` from the request to full hashrate (boards powered and enumerated, then the
  quick ramp "used in curtailments"); a new target moves power while hashing for `CHANGE_S`.
"""

from __future__ import annotations

from ..power_curve import PowerCurve
from .base import (
    ChainReading,
    MinerReading,
    MiningState,
    OperatingPoints,
    PowerSource,
    SettingUnit,
)
from .braiins_parse import (
    BosCooling,
    BosDetails,
    BosStats,
    MinerStatus,
    PowerLimits,
    TunerState,
)

CONTROL_OVERHEAD_W = 10.0
PAUSED_W = 35.0
HASHRATE_EXPONENT = 0.8
STEP_W = 10.0
WAKE_S = 30.0
CHANGE_S = 10.0
STOP_S = 5.0  # a pause costs no hashing the plan allowed, only a little wear
# A new power target is reached in steps, holding each while temperatures settle: users report
# minutes between steps (hass-miner issue 586, 771 W to 3,000 W on an S19k Pro), not the
# seconds the vendor gives. Until measured, a change may pause and last that long.
CHANGE_PAUSE_S = 300.0
CHANGE_CEILING_S = 1200.0
START_PAUSE_S = 300.0
START_CEILING_S = 900.0
# Hashing at less than this share of what the target predicts is still starting up.
MINING_SHARE = 0.8
_CURVE_SEGMENTS = 8
# Stock efficiency in J/TH by model, for units whose firmware names no sticker hashrate.
_EFFICIENCY_J_PER_TH = {
    "s19": 34.5,
    "s19 pro": 29.5,
    "s19j": 34.5,
    "s19j pro": 29.5,
    "s19j pro+": 27.5,
    "s19k pro": 23.0,
    "s19 xp": 21.5,
    "s21": 17.5,
    "s21 pro": 15.0,
    "t21": 19.0,
}
DEFAULT_J_PER_TH = 30.0
# Until the miner's own constraints are read: the range of an S19j Pro, the most common
# Braiins OS+ machine of this class (an assumption, replaced by `identify`).
DEFAULT_LIMITS = PowerLimits(min_w=1200.0, default_w=3050.0, max_w=3600.0)


def efficiency_j_per_th(model: str | None) -> float:
    """The stock efficiency of a model ("Antminer S19j Pro"), or a class-typical one."""
    if model is None:
        return DEFAULT_J_PER_TH
    key = model.lower().removeprefix("antminer").strip()
    return _EFFICIENCY_J_PER_TH.get(key, DEFAULT_J_PER_TH)


def nominal_hashrate_ths(limits: PowerLimits, details: BosDetails | None) -> float:
    """Hashrate at the stock target: the sticker's, else the model's efficiency."""
    if details is not None and details.sticker_ths:
        return details.sticker_ths
    model = details.model if details is not None else None
    return limits.default_w / efficiency_j_per_th(model)


def power_curve(limits: PowerLimits, nominal_ths: float) -> PowerCurve:
    """Power target -> (wall W, TH/s) over the whole accepted range."""
    low, high, default = limits.min_w, limits.max_w, limits.default_w
    targets = {low, high, default}
    span = high - low
    targets.update(low + span * i / _CURVE_SEGMENTS for i in range(1, _CURVE_SEGMENTS))
    points = tuple(
        (
            target,
            target + CONTROL_OVERHEAD_W,
            nominal_ths * (target / default) ** HASHRATE_EXPONENT,
        )
        for target in sorted(targets)
    )
    return PowerCurve(points=points, nominal_mhz=default, standby_w=PAUSED_W)


def operating_points(limits: PowerLimits | None, details: BosDetails | None) -> OperatingPoints:
    """The miner's operating points; without a power target range only its stock target
    (pause and resume still work, the target cannot move)."""
    usable = limits or DEFAULT_LIMITS
    nominal_ths = nominal_hashrate_ths(usable, details)
    if limits is None:
        default = usable.default_w
        curve = PowerCurve(
            points=((default, default + CONTROL_OVERHEAD_W, nominal_ths),),
            nominal_mhz=default,
            standby_w=PAUSED_W,
        )
        levels: tuple[float, ...] = (default,)
    else:
        curve = power_curve(limits, nominal_ths)
        levels = ()
    return OperatingPoints(
        curve=curve,
        unit=SettingUnit.WATT,
        levels=levels,
        step=STEP_W,
        wake_s=WAKE_S,
        wake_reboots=False,
        change_s=CHANGE_S,
        change_stops_hashing=False,
        stop_s=STOP_S,
        start_pause_s=START_PAUSE_S,
        start_ceiling_s=START_CEILING_S,
        change_pause_s=CHANGE_PAUSE_S,
        change_ceiling_s=CHANGE_CEILING_S,
    )


def mining_state(
    details: BosDetails, hashrate_ths: float | None, expected_ths: float
) -> MiningState:
    """What the miner does. The detailed phase (API 1.7+) decides where it is reported; else
    the status: paused or suspended is asleep, not started is coming up. Hashing at less than
    `MINING_SHARE` of what its target predicts is still starting (ramping)."""
    phase = details.phase
    if phase in ("stopped", "stopping"):
        return MiningState.SLEEPING
    if phase == "starting":
        return MiningState.STARTING
    if phase is None:
        if details.status in (MinerStatus.PAUSED, MinerStatus.SUSPENDED):
            return MiningState.SLEEPING
        if details.status is MinerStatus.NOT_STARTED:
            return MiningState.STARTING
    if not hashrate_ths:
        return MiningState.STARTING
    if expected_ths > 0 and hashrate_ths < MINING_SHARE * expected_ths:
        return MiningState.STARTING
    return MiningState.MINING


def settling(details: BosDetails, tuner: TunerState | None) -> bool | None:
    """The firmware's own word on whether it is on its way: starting (the detailed phase) or
    its tuner tuning is; a stable tuner on running or stopped boards is not. A new power target
    is reached in steps, each held for minutes while temperatures settle (a user's S19k Pro
    went from 771 W to 3,000 W that way, the web interface saying "Stabilizing temperature":
    hass-miner issue 586); the REST API's word for the tuner's state is `overall_tuner_state`
    (`braiins/bos-plus-api`, `performance.proto`). A disabled or failed tuner, or a state not
    known here, says nothing."""
    if details.phase == "starting" or tuner is TunerState.TUNING:
        return True
    if tuner is TunerState.STABLE:
        return False
    return None


def build_reading(
    details: BosDetails,
    *,
    stats: BosStats | None,
    target_w: float | None,
    tuner: TunerState | None = None,
    cooling: BosCooling | None,
    chains: tuple[ChainReading, ...],
    curve: PowerCurve,
) -> MinerReading:
    """One reading from the parsed replies (any but the details may be missing)."""
    hashrate = stats.hashrate_ths if stats is not None else None
    if hashrate is None and any(c.hashrate_ths is not None for c in chains):
        hashrate = sum(c.hashrate_ths or 0.0 for c in chains)
    setting = target_w
    expected = curve.hashrate_ths(setting if setting is not None else curve.nominal_mhz)
    state = mining_state(details, hashrate, expected)

    power = stats.power_w if stats is not None else None
    source = PowerSource.REPORTED
    if power is None and state is MiningState.SLEEPING:
        power, source = curve.standby_w, PowerSource.NAMEPLATE
    elif power is None and state is MiningState.MINING:
        power = curve.power_w(setting if setting is not None else curve.nominal_mhz)
        source = PowerSource.NAMEPLATE

    chip_temps = [c.chip_temp_c for c in chains if c.chip_temp_c is not None]
    board_temps = [c.board_temp_c for c in chains if c.board_temp_c is not None]
    frequencies = [c.frequency_mhz for c in chains if c.frequency_mhz]
    hottest = cooling.hottest_c if cooling is not None else None
    uptime = details.bosminer_uptime_s
    if uptime is None:
        uptime = details.system_uptime_s
    return MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate,
        frequency_mhz=sum(frequencies) / len(frequencies) if frequencies else None,
        chip_temp_c=max(chip_temps) if chip_temps else hottest,
        board_temp_c=max(board_temps) if board_temps else None,
        fan_rpm=cooling.fan_rpm if cooling is not None else (),
        power_w=power,
        uptime_s=uptime,
        chains=chains,
        setting=setting,
        power_source=source,
        model=details.model,
        settling=settling(details, tuner),
    )
