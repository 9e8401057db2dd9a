"""A mixed fleet for the benchmarks: which miners it has, and what each can really do.

The composition follows a site that added current hardware beside its S9s: 40 % S9 on Vnish
3.9, 30 % on Braiins OS+, 20 % on LuxOS, 10 % on Vnish's REST firmware. What each miner can
draw and hash comes from the simulator's ground truth (its model and its own spread), never
from what the controller learnt.
"""

from __future__ import annotations

from typing import Any

from custom_components.net_stabilization.core.fleet.model import PowerMode
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault
from simulator.modern import ModernMiner

MIX = (("vnish_s9", 0.4), ("braiins", 0.3), ("luxos", 0.2), ("vnish_rest", 0.1))
# Settings sampled along a continuous range for the hashrate bound.
_SAMPLES = 24


def mixed_kinds(count: int) -> list[str]:
    """The kind of each of `count` miners, interleaved so every address range is mixed."""
    quotas = {kind: round(count * share) for kind, share in MIX}
    quotas["vnish_s9"] += count - sum(quotas.values())
    kinds: list[str] = []
    while len(kinds) < count:
        for kind, _share in MIX:
            if quotas[kind] > 0:
                kinds.append(kind)
                quotas[kind] -= 1
    return kinds


def kind_of(miner: Any) -> str:
    """The personality of a simulated miner."""
    return miner.kind if isinstance(miner, ModernMiner) else "vnish_s9"


def options(miner: Any, mode: PowerMode, *, s9_max_mhz: float) -> list[tuple[float, float]]:
    """A miner's (wall power, hashrate) options in `mode`, asleep first; a miner that cannot
    mine (it never starts) has only the asleep one."""
    if isinstance(miner, ModernMiner):
        spec, var = miner.spec, miner.variation
        standby = spec.standby_w * var.idle
        if Fault.NEVER_STARTS in miner.faults:
            return [(standby, 0.0)]
        if mode is PowerMode.ON_OFF:
            targets = [spec.nominal_w]
        elif spec.levels_w:
            targets = list(spec.levels_w)
        else:
            step = (spec.max_w - spec.min_w) / _SAMPLES
            targets = [spec.min_w + i * step for i in range(_SAMPLES + 1)]
        out = [(standby, 0.0)]
        for target in targets:
            watts = standby + (target - spec.standby_w) * var.power
            out.append((watts, spec.hashrate_ths(target) * var.hashrate))
        return out
    standby = S9_CURVE.standby_w
    if Fault.NEVER_STARTS in miner.faults:
        return [(standby, 0.0)]
    if mode is PowerMode.ON_OFF:
        settings = [S9_CURVE.nominal_mhz]
    else:
        settings = [350.0 + i * (s9_max_mhz - 350.0) / _SAMPLES for i in range(_SAMPLES + 1)]
    out = [(standby, 0.0)]
    for mhz in settings:
        watts = standby + (S9_CURVE.power_w(mhz) - standby) * miner.variation.power
        out.append((watts, S9_CURVE.hashrate_ths(mhz) * miner.variation.hashrate))
    return out


def swing_range_w(miners: list[Any]) -> tuple[float, float]:
    """The fleet powers the continuous (power-target) miners cover on their own, with every
    other miner asleep: a target in here needs no S9 and no preset or profile step."""
    low = high = 0.0
    for m in miners:
        asleep = options(m, PowerMode.FREQUENCY, s9_max_mhz=650.0)[0][0]
        if (
            isinstance(m, ModernMiner)
            and not m.spec.levels_w
            and Fault.NEVER_STARTS not in m.faults
        ):
            choices = options(m, PowerMode.FREQUENCY, s9_max_mhz=650.0)[1:]
            low += choices[0][0]
            high += choices[-1][0]
        else:
            low += asleep
            high += asleep
    return low, high


def heading(miner: Any, now: float) -> tuple[float, float]:
    """Where a simulated miner's present transition leads, from the simulator's ground truth:
    (seconds until it is there, its power then). A steady miner is there already."""
    deadline = miner._deadline  # the simulator's own schedule
    left = 0.0 if deadline is None else max(0.0, deadline - now)
    if isinstance(miner, ModernMiner):
        spec = miner.spec
        holds = sum(miner.plateaus.holds_s) if miner.plateaus else 0.0
        steady = miner._steady_w()
        match miner.state:
            case "mining":
                return max(0.0, miner._seg[2] - now), steady
            case "starting":
                return left + spec.ramp_s + holds, steady
            case "booting" if not (miner.paused_by_user and spec.pause_survives_reboot):
                return left + spec.start_s + spec.ramp_s + holds, steady
        return left, miner.power_w
    full = miner._full_power_w()
    match miner.state:
        case "ramping":
            return left, full
        case "restarting":
            return left + miner.ramp_time_s, full
        case "booting":
            return left + miner.restart_time_s + miner.ramp_time_s, full
    return 0.0, miner.power_w
