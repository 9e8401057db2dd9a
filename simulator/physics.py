"""Antminer S9 electrical and thermal model.

Wall power and hashrate come from a frequency curve; temperatures follow power with a
first-order lag. Constants below are assumptions documented in the project notes, not
lab measurements.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from random import Random

# (MHz, wall W, TH/s) for a stock-cooled S9 on Vnish; values between points are linear.
POWER_CURVE: tuple[tuple[float, float, float], ...] = (
    (350.0, 660.0, 7.5),
    (387.0, 875.0, 10.0),
    (450.0, 950.0, 11.0),
    (481.0, 1020.0, 11.0),
    (525.0, 1145.0, 12.0),
    (575.0, 1285.0, 13.0),
    (650.0, 1460.0, 13.7),
    (750.0, 1850.0, 16.0),
    (800.0, 1900.0, 17.0),
)
# Typical chain voltage (10 mV units) the firmware picks for a frequency.
VOLTAGE_CURVE: tuple[tuple[float, float], ...] = (
    (350.0, 820.0),
    (387.0, 840.0),
    (481.0, 860.0),
    (525.0, 870.0),
    (575.0, 880.0),
    (650.0, 890.0),
    (800.0, 920.0),
)
MIN_FREQ_MHZ = 350.0
MAX_FREQ_MHZ = 800.0
DEFAULT_FREQ_MHZ = 650

CHAINS = (6, 7, 8)
CHIPS_PER_CHAIN = 63
# Ideal GH/s per MHz per chip (114 cores per BM1387); matches captured rateideal values.
IDEAL_GHS_PER_MHZ_CHIP = 0.114

# Wall power of the controller, fans and PSU losses with the hash boards idle.
IDLE_W = 50.0
# Booting: the controller runs and fans spin up at boot.
BOOT_W = 100.0
# bmminer initialising the chains (power applied, not yet hashing).
CHAIN_INIT_W = 130.0
# The firmware's chain_consumption figures add up to this fraction of wall power (field data:
# 3 x 502 W reported by Vnish against 1461 W measured at the wall at 650 MHz).
FIRMWARE_ESTIMATE_RATIO = 1506.0 / 1461.0

AMBIENT_C = 25.0
IDLE_CHIP_C = 40.0
REF_CHIP_C = 80.0  # chip temperature at the 650 MHz reference power
REF_POWER_W = 1460.0
PCB_FRACTION = 0.73  # PCB rise relative to chip rise (65 vs 80 °C in captures)
THERMAL_TAU_S = 90.0
OVERHEAT_RISE_FACTOR = 1.6


def _interp(points: tuple[tuple[float, ...], ...], x: float, col: int) -> float:
    """Linear interpolation over sorted points, clamped at both ends."""
    xs = [p[0] for p in points]
    if x <= xs[0]:
        return points[0][col]
    if x >= xs[-1]:
        return points[-1][col]
    i = bisect_right(xs, x)
    (x0, *r0), (x1, *r1) = points[i - 1], points[i]
    y0, y1 = r0[col - 1], r1[col - 1]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def clamp_freq(freq_mhz: float) -> float:
    """Clamp a frequency to the range the curve covers."""
    return min(MAX_FREQ_MHZ, max(MIN_FREQ_MHZ, freq_mhz))


def curve_power_w(freq_mhz: float) -> float:
    """Nominal wall power at a frequency."""
    return _interp(POWER_CURVE, clamp_freq(freq_mhz), 1)


def curve_hashrate_ths(freq_mhz: float) -> float:
    """Nominal hashrate at a frequency."""
    return _interp(POWER_CURVE, clamp_freq(freq_mhz), 2)


def default_voltage(freq_mhz: float) -> int:
    """Chain voltage in 10 mV units that the firmware would use for a frequency."""
    return round(_interp(VOLTAGE_CURVE, clamp_freq(freq_mhz), 1))


def ideal_chain_ghs(freq_mhz: float, chips: int = CHIPS_PER_CHAIN) -> float:
    """Theoretical chain hashrate in GH/s (the firmware's `chain_rateideal`)."""
    return freq_mhz * chips * IDEAL_GHS_PER_MHZ_CHIP


@dataclass(frozen=True, slots=True)
class Variation:
    """Per-miner manufacturing spread, drawn once from the seeded RNG."""

    power: float
    hashrate: float
    idle: float
    chain_temp_offsets: tuple[float, float, float]
    fan_offset: int

    @classmethod
    def draw(cls, rng: Random) -> Variation:
        """Draw a plausible spread: ±2.5 % power, ±2 % hashrate, a few °C per chain."""
        return cls(
            power=1.0 + rng.uniform(-0.025, 0.025),
            hashrate=1.0 + rng.uniform(-0.02, 0.02),
            idle=1.0 + rng.uniform(-0.05, 0.05),
            chain_temp_offsets=(
                rng.uniform(-3.0, 3.0),
                rng.uniform(-3.0, 3.0),
                rng.uniform(-3.0, 3.0),
            ),
            fan_offset=rng.randint(-240, 240),
        )


def full_power_w(chain_freqs: tuple[float, ...], live: tuple[bool, ...], var: Variation) -> float:
    """Steady-state mining wall power for per-chain frequencies; dead chains draw nothing."""
    idle = IDLE_W * var.idle
    hashing = sum(
        (curve_power_w(f) - IDLE_W) / len(chain_freqs)
        for f, ok in zip(chain_freqs, live, strict=True)
        if ok
    )
    return idle + hashing * var.power


def full_hashrate_ths(
    chain_freqs: tuple[float, ...], live: tuple[bool, ...], var: Variation
) -> float:
    """Steady-state hashrate in TH/s for per-chain frequencies."""
    total = sum(
        curve_hashrate_ths(f) / len(chain_freqs)
        for f, ok in zip(chain_freqs, live, strict=True)
        if ok
    )
    return total * var.hashrate


def target_chip_temp_c(power_w: float, overheat: bool = False) -> float:
    """Steady-state chip temperature for a wall power (linear in power above idle)."""
    rise_idle = IDLE_CHIP_C - AMBIENT_C
    slope = (REF_CHIP_C - IDLE_CHIP_C) / (REF_POWER_W - IDLE_W)
    rise = rise_idle + slope * max(0.0, power_w - IDLE_W)
    if overheat:
        rise *= OVERHEAT_RISE_FACTOR
    return AMBIENT_C + rise


def pcb_temp_c(chip_c: float) -> float:
    """PCB temperature that goes with a chip temperature."""
    return AMBIENT_C + (chip_c - AMBIENT_C) * PCB_FRACTION


def relax(temp_c: float, target_c: float, dt_s: float) -> float:
    """Advance a first-order lag by `dt_s` seconds toward `target_c`."""
    if dt_s <= 0:
        return temp_c
    return target_c + (temp_c - target_c) * math.exp(-dt_s / THERMAL_TAU_S)


def fan_rpm(chip_c: float, hashing: bool, offset: int) -> int:
    """Fan speed: the firmware raises RPM with chip temperature; slow fans while idle."""
    if not hashing:
        return max(0, 1200 + offset // 4)
    frac = min(1.0, max(0.0, (chip_c - 45.0) / 40.0))
    return int(3000 + 3000 * frac + offset)
