"""The Whatsminer API v3 codec at its edges, fed hostile bytes: requests over the bound are not
sent, replies that nest too deeply or lack their message are unreadable, a refusal without
words is still a refusal, numbers too large for a float are absent, and a miner just started
is starting."""

from __future__ import annotations

import json

import pytest

from custom_components.net_stabilization.core.miners.base import MinerProtocolError, MiningState
from custom_components.net_stabilization.core.miners.cgminer_models import rating_for
from custom_components.net_stabilization.core.miners.whatsminer_v3_parse import (
    MAX_REQUEST_BYTES,
    WhatsminerV3CommandError,
    WhatsminerV3UnreadableError,
    encode_request,
    parse_reply,
    reading_from_status,
)


def test_a_request_over_the_bound_is_not_sent() -> None:
    assert len(encode_request("get.device.info", "x" * 100)) < MAX_REQUEST_BYTES
    with pytest.raises(ValueError, match="too long"):
        encode_request("set.miner.pools", "x" * MAX_REQUEST_BYTES)


def test_a_reply_that_nests_too_deeply_is_a_protocol_error() -> None:
    with pytest.raises(MinerProtocolError, match="nests too deeply"):
        parse_reply(b"[" * 100_000 + b"]" * 100_000, "get.miner.status")


def test_a_successful_reply_without_a_message_object_is_unreadable() -> None:
    with pytest.raises(WhatsminerV3UnreadableError, match="without a message object"):
        parse_reply(json.dumps({"code": 0, "msg": "ok"}).encode(), "get.miner.status")


def test_a_refusal_without_words_is_still_a_refusal() -> None:
    with pytest.raises(WhatsminerV3CommandError) as refused:
        parse_reply(json.dumps({"code": -2, "msg": 7, "desc": None}).encode(), "set.miner.power")
    assert refused.value.code == -2


def test_a_number_too_large_for_a_float_is_absent() -> None:
    summary = {"hash-realtime": 100.0, "power-realtime": 10**400, "elapsed": 3600}
    reading = reading_from_status(
        {"summary": summary}, rating=rating_for("Whatsminer M30S_V20"), model=None
    )
    assert reading.power_w is not None  # the nameplate's estimate stands in
    assert reading.power_w < 20_000
    assert reading.hashrate_ths == 100.0


def test_a_miner_just_started_without_hashrate_is_starting() -> None:
    reading = reading_from_status(
        {"summary": {"hash-realtime": 0, "elapsed": 30}}, rating=None, model=None
    )
    assert reading.state is MiningState.STARTING
    later = reading_from_status(
        {"summary": {"hash-realtime": 0, "elapsed": 36_000}}, rating=None, model=None
    )
    assert later.state is MiningState.SLEEPING
