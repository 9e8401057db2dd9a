"""Which temperature limit applies to a reading: chips where reported, else boards."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet.temperature import overheat_of
from custom_components.net_stabilization.core.miners import MinerReading, MiningState

CHIP_LIMIT, BOARD_LIMIT = 90.0, 70.0


def reading(chip: float | None, board: float | None) -> MinerReading:
    return MinerReading(online=True, state=MiningState.MINING, chip_temp_c=chip, board_temp_c=board)


@pytest.mark.parametrize(
    ("chip", "board", "broken"),
    [
        (95.0, 60.0, ("chip", 95.0, CHIP_LIMIT)),
        (85.0, 75.0, None),  # chips reported and under their limit: the boards decide nothing
        (None, 72.0, ("board", 72.0, BOARD_LIMIT)),  # LuxOS: board sensors only
        (None, 69.0, None),
        (None, None, None),
    ],
)
def test_the_limit_of_the_reported_temperature_applies(
    chip: float | None, board: float | None, broken: tuple[str, float, float] | None
) -> None:
    found = overheat_of(reading(chip, board), CHIP_LIMIT, BOARD_LIMIT)
    got = None if found is None else (found.sensor, found.temp_c, found.limit_c)
    assert got == broken


def test_no_reading_is_no_overheat() -> None:
    assert overheat_of(None, CHIP_LIMIT, BOARD_LIMIT) is None


def test_the_cause_names_sensor_and_limit() -> None:
    found = overheat_of(reading(None, 73.4), CHIP_LIMIT, BOARD_LIMIT)
    assert found is not None
    assert found.describe() == "board temperature 73 °C"
    assert found.limit_c == BOARD_LIMIT
