"""Building readings from recorded S9 replies."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.miners import (
    ChainReading,
    MinerProtocolError,
    MiningState,
)
from custom_components.net_stabilization.core.miners.antminer_stats import (
    FIRMWARE_TO_WALL,
    estimate_wall_power_w,
    parse_s9_reading,
    software_type,
)
from custom_components.net_stabilization.core.miners.cgminer import parse_reply
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .replies import reply_bytes


def _multi() -> tuple[dict[str, object], dict[str, object]]:
    reply = parse_reply(reply_bytes("vnish390_summary_stats.bin"))
    return reply["summary"][0], reply["stats"][0]


def test_vnish_390_reading() -> None:
    summary, stats = _multi()
    reading = parse_s9_reading(summary, stats)
    assert reading.online
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(13.72145)
    assert reading.frequency_mhz == 650.0
    assert reading.chip_temp_c == 82
    assert reading.board_temp_c == 66
    assert reading.fan_rpm == (5880, 6000)
    assert reading.uptime_s == 5400
    assert [c.index for c in reading.chains] == [6, 7, 8]
    assert all(c.chips == 63 for c in reading.chains)
    assert reading.chains[0].hashrate_ths == pytest.approx(4.58012)
    assert reading.chains[0].power_w == 487
    # Firmware estimate (487 + 486 + 488 W) scaled to the wall.
    assert reading.power_w == pytest.approx(1461 * FIRMWARE_TO_WALL, abs=0.1)


def test_vnish_386_stats_only() -> None:
    stats = parse_reply(reply_bytes("vnish386_stats.bin"))
    reading = parse_s9_reading(None, stats)
    assert software_type(stats) == "Antminer S9 (vnish 3.8.6)"
    assert reading.hashrate_ths == pytest.approx(12.79548)
    assert reading.frequency_mhz == 600.0
    assert reading.chip_temp_c == 80
    assert reading.board_temp_c == 65
    assert reading.uptime_s == 3617
    assert reading.power_w == pytest.approx(3 * 495 * FIRMWARE_TO_WALL, abs=0.1)
    assert reading.state is MiningState.MINING


def test_stock_reading_uses_the_curve_for_power() -> None:
    summary = parse_reply(reply_bytes("stock_summary.bin"))
    stats = parse_reply(reply_bytes("stock_stats.bin"))
    reading = parse_s9_reading(summary, stats)
    assert reading.hashrate_ths == pytest.approx(13.81568)
    assert reading.frequency_mhz == 650.0
    assert all(c.power_w is None for c in reading.chains)
    assert reading.power_w == pytest.approx(S9_CURVE.power_w(650.0))
    assert reading.uptime_s == 86400
    assert reading.state is MiningState.MINING


def test_dead_board() -> None:
    stats = parse_reply(reply_bytes("dead_board_stats.bin"))
    reading = parse_s9_reading(None, stats)
    dead = reading.chains[2]
    assert (dead.index, dead.chips, dead.hashrate_ths, dead.chip_temp_c) == (8, 0, None, None)
    assert reading.state is MiningState.MINING  # two boards at full speed is all it can do
    assert reading.power_w == pytest.approx((487 + 486) * FIRMWARE_TO_WALL, abs=0.1)


def test_missing_chain_keys_count_as_dead_and_power_scales_with_live_boards() -> None:
    stats = parse_reply(reply_bytes("missing_chain_stats.bin"))
    body = stats["STATS"][1]
    for i in (6, 7):
        del body[f"chain_consumption{i}"]
    reading = parse_s9_reading(None, stats)
    assert [c.chips for c in reading.chains] == [63, 63, 0]
    assert reading.power_w == pytest.approx(S9_CURVE.power_w(650.0) * 2 / 3, abs=0.1)


def test_low_hashrate_is_starting() -> None:
    summary, stats = _multi()
    summary["SUMMARY"][0]["GHS 5s"] = "2100.00"  # type: ignore[index]
    reading = parse_s9_reading(summary, stats)
    assert reading.state is MiningState.STARTING


def test_zero_hashrate_without_chain_data_is_starting() -> None:
    stats = {"STATS": [{"Type": "Antminer S9"}, {"Elapsed": 5, "GHS 5s": "0", "frequency": "650"}]}
    reading = parse_s9_reading(None, stats)
    assert reading.state is MiningState.STARTING
    assert reading.chains == tuple(
        ChainReading(i, 0, None, None, None, None, None) for i in (6, 7, 8)
    )


def test_stats_without_numbers_is_a_protocol_error() -> None:
    with pytest.raises(MinerProtocolError):
        parse_s9_reading(None, {"STATUS": [{"STATUS": "S"}]})
    with pytest.raises(MinerProtocolError):
        parse_s9_reading(None, {"STATS": [{"Type": "x"}]})


def test_estimate_matches_curve_at_nominal() -> None:
    # The field capture: 3 x 502 W reported at 650 MHz, 1461 W at the wall.
    assert estimate_wall_power_w(3 * 502) == pytest.approx(1461)
