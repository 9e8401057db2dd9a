"""Which temperature a miner's firmware reports, and whether it is over the fleet's limit.

Most firmwares report the hottest chip; the chip limit applies to it. LuxOS reports hashboard
temperatures only (its documentation: the chips run about 15 °C above the board sensors, and
stock firmware's "chip" figures are that estimate), so a miner that reports no chip
temperature is judged by its hottest board sensor against the board limit instead. Nothing
is estimated: a limit applies to the quantity it was set for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..miners.base import MinerReading


@dataclass(frozen=True, slots=True)
class Overheat:
    """A reading at or over its limit: which sensor, what it read, the limit it broke."""

    sensor: str  # "chip" or "board"
    temp_c: float
    limit_c: float

    def describe(self) -> str:
        """E.g. "board temperature 74 °C"."""
        return f"{self.sensor} temperature {self.temp_c:.0f} °C"


def overheat_of(
    reading: MinerReading | None, chip_limit_c: float, board_limit_c: float
) -> Overheat | None:
    """The limit this reading breaks, if any: chips where reported, else the boards."""
    if reading is None:
        return None
    if reading.chip_temp_c is not None:
        if reading.chip_temp_c >= chip_limit_c:
            return Overheat("chip", reading.chip_temp_c, chip_limit_c)
        return None
    if reading.board_temp_c is not None and reading.board_temp_c >= board_limit_c:
        return Overheat("board", reading.board_temp_c, board_limit_c)
    return None
