"""Whether a miner's figures may move what the fleet tells an EMS.

A device that only claims to be a miner must not raise the rated power an EMS dispatches on,
nor the active power it sees. So every reported power is bounded by what the recognised model
can draw (a figure beyond that is dropped, and the model's estimate stands in), and a miner
counts in rated power only once it has shown that it behaves like its firmware: one read whose
figures are the firmware's own (`MinerReading.attested`) and plausible for its model.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

from ..miners.base import Capabilities, MinerReading, PowerSource

# Over the model's highest operating point: power supply losses, a warm day, firmware rounding.
POWER_MARGIN: Final = 1.25
HASHRATE_MARGIN: Final = 1.5
# No single miner sold draws more or hashes faster; the bound where the model is not known.
UNKNOWN_MODEL_MAX_W: Final = 12_000.0
UNKNOWN_MODEL_MAX_THS: Final = 2_000.0


def power_bound_w(capabilities: Capabilities) -> float:
    """The most a miner of this model can draw at the wall."""
    if capabilities.max_w <= 0:
        return UNKNOWN_MODEL_MAX_W
    return capabilities.max_w * POWER_MARGIN


def hashrate_bound_ths(capabilities: Capabilities) -> float:
    """The most a miner of this model can hash."""
    top = max((point[2] for point in capabilities.points.curve.points), default=0.0)
    return top * HASHRATE_MARGIN if top > 0 else UNKNOWN_MODEL_MAX_THS


def vet_reading(reading: MinerReading, capabilities: Capabilities) -> tuple[MinerReading, bool]:
    """The reading with a power beyond the model's reach dropped, and whether it shows a miner
    of this model run by its firmware (attested figures, all within the model's bounds)."""
    if not reading.online:
        return reading, False
    plausible = reading.attested
    power = reading.power_w
    if power is not None and not (
        math.isfinite(power) and 0 <= power <= power_bound_w(capabilities)
    ):
        reading = replace(reading, power_w=None, power_source=PowerSource.NAMEPLATE)
        plausible = False
    hashrate = reading.hashrate_ths
    if hashrate is not None and not (
        math.isfinite(hashrate) and 0 <= hashrate <= hashrate_bound_ths(capabilities)
    ):
        plausible = False
    return reading, plausible
