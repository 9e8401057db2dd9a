"""The tolerant API reply parser against recorded replies and the firmware's JSON bugs."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.miners import MinerProtocolError
from custom_components.net_stabilization.core.miners.cgminer import (
    CgminerCommandError,
    check_status,
    number,
    parse_reply,
)

from .replies import reply_bytes


def test_vnish_386_stats_with_glued_objects() -> None:
    reply = parse_reply(reply_bytes("vnish386_stats.bin"))
    stats = reply["STATS"]
    assert len(stats) == 2
    assert stats[0]["Type"] == "Antminer S9 (vnish 3.8.6)"
    assert stats[1]["GHS 5s"] == "12795.48"
    assert stats[1]["chain_consumption6"] == 495


def test_stock_replies_parse() -> None:
    version = parse_reply(reply_bytes("stock_version.bin"))
    assert version["VERSION"][0]["BMMiner"] == "2.0.0"
    summary = parse_reply(reply_bytes("stock_summary.bin"))
    assert summary["SUMMARY"][0]["GHS 5s"] == "13815.68"
    stats = parse_reply(reply_bytes("stock_stats.bin"))
    assert stats["STATS"][0]["Type"] == "Antminer S9"
    assert stats["STATS"][1]["chain_rate1"] == ""


def test_leading_comma_in_list() -> None:
    reply = parse_reply(reply_bytes("leading_comma.bin"))
    assert reply["STATUS"][0]["STATUS"] == "S"


def test_trailing_commas() -> None:
    reply = parse_reply(reply_bytes("trailing_commas.bin"))
    assert reply["SUMMARY"] == [{"Elapsed": 60, "GHS 5s": "100.5", "GHS av": 90.0}]


def test_inf_and_nan_become_unknown() -> None:
    summary = parse_reply(reply_bytes("inf_nan.bin"))["SUMMARY"][0]
    assert summary["GHS 5s"] is None
    assert summary["GHS av"] is None
    assert summary["Utility"] is None
    assert number(summary["Work Utility"]) is None  # NaN is valid JSON for Python


def test_reply_without_nul_or_with_trailing_bytes_after_nul() -> None:
    assert parse_reply(b'{"a":1}') == {"a": 1}
    assert parse_reply(b'{"a":1}\0junk') == {"a": 1}


@pytest.mark.parametrize("name", ["truncated.bin", "garbage.bin"])
def test_truncated_and_garbage_are_protocol_errors(name: str) -> None:
    with pytest.raises(MinerProtocolError):
        parse_reply(reply_bytes(name))


@pytest.mark.parametrize("raw", [b"", b"\0", b"   ", b"[1,2]", b'"text"', b"STATUS=S,Msg=x|"])
def test_empty_and_non_object_replies(raw: bytes) -> None:
    with pytest.raises(MinerProtocolError):
        parse_reply(raw)


def test_error_status_raises_command_error() -> None:
    reply = parse_reply(reply_bytes("unknown_command.bin"))
    with pytest.raises(CgminerCommandError) as err:
        check_status(reply, "summary+stats")
    assert err.value.code == 14
    assert isinstance(err.value, MinerProtocolError)


def test_success_and_odd_status_shapes_pass() -> None:
    check_status({"STATUS": [{"STATUS": "S"}]}, "x")
    check_status({"STATUS": "RESTART"}, "restart")
    check_status({}, "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        (2.5, 2.5),
        ("13815.68", 13815.68),
        (" 600 ", 600.0),
        ("", None),
        ("Warm up", None),
        (None, None),
        (True, None),
        (float("inf"), None),
        ([1], None),
    ],
)
def test_number(value: object, expected: float | None) -> None:
    assert number(value) == expected
