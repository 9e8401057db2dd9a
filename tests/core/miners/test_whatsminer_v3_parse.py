"""Whatsminer API v3 parsing fuzzed: whatever a device sends, the answer is a result or a
protocol error, and every number in a reading is finite and in range."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.net_stabilization.core.miners.base import MinerProtocolError
from custom_components.net_stabilization.core.miners.cgminer_models import rating_for
from custom_components.net_stabilization.core.miners.whatsminer_v3_parse import (
    MAX_REPLY_BYTES,
    identity_from_device_info,
    parse_reply,
    reading_from_status,
    reply_length,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUMMARY_KEYS = (
    "hash-realtime",
    "hash-average",
    "factory-hash",
    "elapsed",
    "power-realtime",
    "power-limit",
    "freq-avg",
    "chip-temp-max",
    "board-temperature",
    "board-tempurature",
    "fan-speed-in",
    "fan-speed-out",
    "up-freq-finish",
)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=15,
)


@FUZZ
@given(st.binary(max_size=2048))
def test_any_reply_body_is_a_message_or_a_protocol_error(body: bytes) -> None:
    try:
        msg = parse_reply(body, "get.miner.status")
    except MinerProtocolError:
        return
    assert isinstance(msg, dict)


@FUZZ
@given(st.binary(min_size=4, max_size=4))
def test_any_length_header_is_bounded(header: bytes) -> None:
    try:
        length = reply_length(header)
    except MinerProtocolError:
        return
    assert 0 < length <= MAX_REPLY_BYTES


@FUZZ
@given(st.dictionaries(st.sampled_from(SUMMARY_KEYS), values))
def test_any_summary_is_a_reading_with_finite_numbers(summary: dict[str, object]) -> None:
    reading = reading_from_status(
        {"summary": summary}, rating=rating_for("Whatsminer M30S_V20"), model=None
    )
    for value in (
        reading.hashrate_ths,
        reading.power_w,
        reading.chip_temp_c,
        reading.board_temp_c,
        reading.frequency_mhz,
        reading.setting,
    ):
        assert value is None or (isinstance(value, float) and math.isfinite(value))
    json.dumps([reading.uptime_s, list(reading.fan_rpm)], allow_nan=False)


@FUZZ
@given(st.dictionaries(st.sampled_from(("network", "miner", "system")), values))
def test_any_device_info_is_an_identity_or_a_protocol_error(info: dict[str, object]) -> None:
    try:
        identity = identity_from_device_info("10.0.0.1", info)
    except MinerProtocolError:
        return
    assert len(identity.mac) == 17 and len(identity.model) <= 80
