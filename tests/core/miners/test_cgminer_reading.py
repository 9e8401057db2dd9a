"""Readings of every cgminer-API firmware family: hashrate units worked out, sensors without their
sentinels, reported or nameplate power, and a parser that refuses junk with one error only."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.net_stabilization.core.miners.base import (
    MinerError,
    MinerProtocolError,
    MinerReading,
    MiningState,
    PowerSource,
)
from custom_components.net_stabilization.core.miners.cgminer import parse_reply
from custom_components.net_stabilization.core.miners.cgminer_hashrate import (
    MAX_THS,
    key_factor,
    resolve,
    unit_factor,
)
from custom_components.net_stabilization.core.miners.cgminer_models import (
    ASICSEER,
    BITMAIN_STOCK,
    BRAIINS,
    HIVEON,
    LUXOS,
    MSKMINER,
    UNKNOWN,
    VNISH,
    WHATSMINER,
    model_key,
    rating_for,
)
from custom_components.net_stabilization.core.miners.cgminer_reading import (
    CgminerReplies,
    describe_device,
    find_hostname,
    find_mac,
    parse_cgminer_reading,
)

from . import cgminer_families as fam
from .replies import reply_bytes


def read(sections: dict[str, Any], **options: Any) -> MinerReading:
    return parse_cgminer_reading(CgminerReplies.from_sections(sections), **options)


def describe(sections: dict[str, Any]) -> tuple[str, str, str]:
    return describe_device(
        sections.get("version"), sections.get("devdetails"), sections.get("stats")
    )


# ------------------------------------------------------------------ families


def test_stock_s9_bmminer_from_the_recorded_replies() -> None:
    sections = {
        "version": parse_reply(reply_bytes("stock_version.bin")),
        "summary": parse_reply(reply_bytes("stock_summary.bin")),
        "stats": parse_reply(reply_bytes("stock_stats.bin")),
    }
    assert describe(sections) == ("Antminer S9", BITMAIN_STOCK, "2.0.0")
    reading = read(sections)
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(13.81568)  # "GHS 5s" is a string in GH/s
    assert [c.index for c in reading.chains] == [6, 7, 8]
    assert reading.fan_rpm == (5760, 5640)  # fans 1-4, 7 and 8 read 0: absent
    assert reading.power_source is PowerSource.NAMEPLATE  # stock reports no power
    assert reading.power_w == pytest.approx(50 + 1350 * 13.81568 / 13.5, rel=1e-3)
    assert reading.model == "Antminer S9"
    assert reading.uptime_s == 86400


def test_vnish_390_s9_reports_its_power_estimate_corrected_to_the_wall() -> None:
    sections = parse_reply(reply_bytes("vnish390_summary_stats.bin"))
    replies = {k: v[0] for k, v in sections.items() if isinstance(v, list)}
    reading = read(replies)
    assert reading.power_source is PowerSource.REPORTED
    consumption = sum(c.power_w or 0 for c in reading.chains)
    assert reading.power_w == pytest.approx(consumption * 1461 / 1506, abs=0.1)


def test_vnish_386_type_names_the_firmware() -> None:
    stats = parse_reply(reply_bytes("vnish386_stats.bin"))
    assert describe_device(None, None, stats) == ("Antminer S9", VNISH, "3.8.6")


def test_whatsminer_btminer() -> None:
    sections = {
        "summary": fam.whatsminer_summary(),
        "devs": fam.whatsminer_devs(),
        "devdetails": fam.whatsminer_devdetails(),
    }
    model, family, version = describe(sections)
    assert (model, family, version) == ("Whatsminer M30S_V20", WHATSMINER, "")
    reading = read(sections)
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(88.361423)  # MHS 1m preferred over 5s
    assert reading.power_w == 3393 and reading.power_source is PowerSource.REPORTED
    assert reading.setting == 3600  # its power limit
    assert reading.fan_rpm == (4530, 4590)
    assert reading.frequency_mhz == 646
    assert reading.chip_temp_c == 92.0  # hottest board's Chip Temp Max
    assert reading.board_temp_c == 80.0
    assert [c.chips for c in reading.chains] == [156, 156, 156]
    assert sum(c.hashrate_ths or 0 for c in reading.chains) == pytest.approx(88.2)
    assert find_mac(sections["summary"]) == "C4:11:04:01:2A:3B"


def test_whatsminer_miner_info_gives_mac_and_hostname() -> None:
    info = fam.whatsminer_miner_info()
    assert find_mac(info) == "C4:11:04:01:2A:3B"
    assert find_hostname(info) == "WhatsMiner"
    refused = {**info, "STATUS": "E"}
    assert find_mac(refused) is None


def test_whatsminer_power_of_minus_one_is_unknown() -> None:
    sections = {
        "summary": fam.whatsminer_summary(Power=-1),
        "devdetails": fam.whatsminer_devdetails(),
    }
    reading = read(sections)
    assert reading.power_source is PowerSource.NAMEPLATE
    assert reading.power_w == pytest.approx(66 + (3300 - 66) * 88.361423 / 88.0, rel=1e-3)


def test_braiins_os() -> None:
    sections = fam.braiins_replies()
    assert describe(sections) == ("Antminer S9", BRAIINS, "0.2.0-ea64aec8e")
    reading = read(sections)
    assert reading.hashrate_ths == pytest.approx(13.85)
    assert reading.power_w == 1419 and reading.power_source is PowerSource.REPORTED
    assert reading.setting == 1420
    assert reading.fan_rpm == (5340, 4620)
    assert [c.index for c in reading.chains] == [6, 7, 8]
    assert [c.chips for c in reading.chains] == [63, 63, 63]
    assert [c.power_w for c in reading.chains] == [448, 448, 448]
    assert reading.chains[2].chip_temp_c == 77.5
    assert reading.chains[0].frequency_mhz == pytest.approx(650.0)  # from Hz
    assert reading.chip_temp_c == 77.5 and reading.board_temp_c == 62.0


def test_braiins_boser_version_and_recorded_fixture() -> None:
    boser = {
        "version": fam.reply("VERSION", [{"BOSer": "boser-buildroot 0.1.0-0ce150e9", "API": "3.7"}])
    }
    assert describe(boser)[1:] == (BRAIINS, "0.1.0-0ce150e9")
    recorded = parse_reply(reply_bytes("bosminer_version.bin"))
    assert describe_device(recorded, None, None)[1:] == (BRAIINS, "0.2.0-36c56734af")


def test_luxos() -> None:
    sections = fam.luxos_replies()
    assert describe(sections) == ("Antminer S19 XP", LUXOS, "2024.6.18.181313-3afaf1f")
    reading = read(sections)
    assert reading.hashrate_ths == pytest.approx(139.9005)
    assert reading.power_w == 2998 and reading.power_source is PowerSource.REPORTED
    assert reading.fan_rpm == (4800, 4860, 4770, 4830)
    assert reading.chip_temp_c == 72.0 and reading.board_temp_c == 56.0  # hottest of the series
    assert find_mac(sections["config"]) == "02:AA:BB:CC:DD:EE"
    assert find_hostname(sections["config"]) == "lux-7"


def test_stock_s19j_pro() -> None:
    sections = fam.stock_s19j_pro()
    assert describe(sections) == ("Antminer S19j Pro", BITMAIN_STOCK, "1.0.0")
    reading = read(sections)
    assert reading.hashrate_ths == pytest.approx(100.21231)
    assert reading.power_source is PowerSource.NAMEPLATE
    assert reading.power_w == pytest.approx(61 + (3050 - 61) * 100.21231 / 100.0, rel=1e-3)
    assert reading.fan_rpm == (5400, 5460, 5340, 5520)
    assert reading.chip_temp_c == 63.0 and reading.board_temp_c == 47.0
    assert reading.frequency_mhz == 540.0
    assert [c.index for c in reading.chains] == [1, 2, 3]


def test_vnish_s19_chain_consumption_is_reported_power() -> None:
    sections = fam.vnish_s19_replies()
    assert describe(sections) == ("Antminer S19", VNISH, "1.2.6")
    reading = read(sections)
    assert reading.power_w == 3090 and reading.power_source is PowerSource.REPORTED
    assert reading.hashrate_ths == pytest.approx(95.1003)
    assert reading.frequency_mhz == 585.0


def test_hiveon() -> None:
    sections = fam.hiveon_replies()
    assert describe(sections) == ("Antminer S17 Pro", HIVEON, "2.0.0")
    reading = read(sections)
    assert reading.power_w == 2080.0 and reading.power_source is PowerSource.REPORTED
    assert reading.hashrate_ths == pytest.approx(56.1005)


def test_mskminer() -> None:
    sections = fam.mskminer_replies()
    assert describe(sections) == ("S19-88", MSKMINER, "2.6.0.39")
    reading = read(sections)
    assert reading.power_w == 3358 and reading.power_source is PowerSource.REPORTED
    assert reading.hashrate_ths == pytest.approx(99.98959)
    assert reading.state is MiningState.MINING  # no table entry: the firmware's ideal rate
    assert reading.frequency_mhz == pytest.approx(734.0)


def test_asicseer() -> None:
    sections = fam.asicseer_replies()
    assert describe(sections) == ("Antminer S9", ASICSEER, "1.2.3")
    reading = read(sections)
    assert reading.state is MiningState.MINING  # 100 s after the start, at full speed
    assert reading.hashrate_ths == pytest.approx(13.40214)


def test_unknown_cgminer_device() -> None:
    version = fam.reply("VERSION", [{"CGMiner": "4.10.0", "API": "3.7"}])
    summary = fam.reply("SUMMARY", [{"Elapsed": 5000, "MHS 5s": 56_000_000.0}])
    assert describe({"version": version}) == (UNKNOWN, UNKNOWN, "4.10.0")
    reading = read({"version": version, "summary": summary})
    assert reading.model is None
    assert reading.hashrate_ths == pytest.approx(56.0)
    assert reading.power_w is None  # no rating, nothing reported
    assert reading.state is MiningState.MINING


@pytest.mark.parametrize(
    ("type_string", "software", "expected"),
    [
        ("Antminer S9 Hiveon", {"BMMiner": "2.0.0"}, ("Antminer S9", HIVEON, "2.0.0")),
        ("Antminer T9+ Hiveon 1.03", {"BMMiner": "2.0.0"}, ("Antminer T9+", HIVEON, "1.03")),
        ("Antminer S9k", {"BMMiner": "2.0.0"}, ("Antminer S9k", BITMAIN_STOCK, "2.0.0")),
        ("Antminer S17", {"CGMiner": "4.9.0"}, ("Antminer S17", BITMAIN_STOCK, "4.9.0")),
        ("Antminer S21", {"BMMiner": "1.0.0"}, ("Antminer S21", BITMAIN_STOCK, "1.0.0")),
        ("Antminer S19", {"VNish": "1.2.3"}, ("Antminer S19", VNISH, "1.2.3")),
        ("Antminer S9 (vnish 3.9.0)", {"CGMiner": "4.11.1"}, ("Antminer S9", VNISH, "3.9.0")),
        ("Antminer S9 (asicseer)", {"BMMiner": "2.0.0"}, ("Antminer S9", ASICSEER, "2.0.0")),
    ],
)
def test_describe_type_strings(
    type_string: str, software: dict[str, str], expected: tuple[str, str, str]
) -> None:
    version = fam.reply("VERSION", [{**software, "API": "3.1", "Type": type_string}])
    assert describe_device(version, None, None) == expected


def test_stock_s21_writing_th_under_its_gh_keys() -> None:
    version = fam.reply("VERSION", [{"BMMiner": "1.0.0", "Type": "Antminer S21"}])
    summary = fam.reply("SUMMARY", [{"Elapsed": 36000, "GHS 5s": 200.12, "GHS av": 199.8}])
    reading = read({"version": version, "summary": summary})
    assert reading.hashrate_ths == pytest.approx(200.12)
    assert reading.state is MiningState.MINING
    assert reading.power_w == pytest.approx(70 + (3500 - 70) * 200.12 / 200, rel=1e-3)


# ------------------------------------------------------------------ hashrate units


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("GHS 5s", "13815.68", 13.81568),
        ("MHS 1m", 13_815_680.0, 13.81568),
        ("THS 5s", 13.81568, 13.81568),
        ("KHS 5s", 13_815_680_000.0, 13.81568),
        ("GHS 5s", 13.81568, 13.81568),  # TH written under a GH key
        ("THS av", 13_815.68, 13.81568),  # GH written under a TH key
        ("GHS 5s", 13_815_680.0, 13.81568),  # MH under a GH key
        ("MHS 5s", 13.81568, 13.81568),  # TH under an MH key: 10^6 off
    ],
)
def test_hashrate_unit_worked_out_against_the_nominal(
    key: str, value: Any, expected: float
) -> None:
    sections = {
        "version": fam.reply("VERSION", [{"BMMiner": "2.0.0", "Type": "Antminer S9"}]),
        "summary": fam.reply("SUMMARY", [{"Elapsed": 86400, key: value}]),
    }
    assert read(sections).hashrate_ths == pytest.approx(expected)


def test_stats_rate_unit_and_chain_sums() -> None:
    sections = fam.stock_s19j_pro()
    del sections["summary"]
    stats = sections["stats"]["STATS"][1]
    del stats["GHS 5s"], stats["GHS av"]
    stats["rate_unit"] = "TH"
    stats["total_rate"] = 100.2
    for i in (1, 2, 3):
        stats[f"chain_rate{i}"] = 33.4
    reading = read(sections)
    assert reading.hashrate_ths == pytest.approx(100.2)
    assert [c.hashrate_ths for c in reading.chains] == pytest.approx([33.4] * 3)


def test_a_rate_unit_that_lies_is_corrected_by_the_nominal() -> None:
    sections = fam.stock_s19j_pro()
    sections["stats"]["STATS"][1]["rate_unit"] = "TH"  # but the chains are in GH
    reading = read(sections)
    assert [c.hashrate_ths for c in reading.chains] == pytest.approx([33.401, 33.402, 33.403])


def test_without_a_nominal_the_boards_check_the_total() -> None:
    sections = fam.mskminer_replies()
    sections["summary"]["SUMMARY"][0]["GHS 5s"] = 99.98959  # TH under a GH key
    del sections["stats"]["STATS"][1]["total_rateideal"]
    assert read(sections).hashrate_ths == pytest.approx(99.98959)


def test_a_value_no_power_of_1000_explains_is_dropped() -> None:
    sections = fam.stock_s19j_pro()
    sections["summary"]["SUMMARY"][0]["GHS 5s"] = 1e14  # 10^12 TH
    sections["stats"]["STATS"][1]["GHS 5s"] = 1e14
    sections["stats"]["STATS"][1]["total_rate"] = 1e14
    reading = read(sections)
    assert reading.hashrate_ths == pytest.approx(100.2 * 1.0, rel=0.01)  # the boards' sum


def test_a_small_rate_in_the_startup_window_is_a_ramp_not_a_unit_error() -> None:
    summary = {"Elapsed": 60, "GHS 5s": 150.0}  # 0.15 TH one minute after the start
    sections = {
        "version": fam.stock_s19j_pro()["version"],
        "summary": fam.reply("SUMMARY", [summary]),
    }
    starting = read(sections)
    assert starting.hashrate_ths == pytest.approx(0.15)
    assert starting.state is MiningState.STARTING
    summary["Elapsed"] = 7200  # the same figure two hours in is TH under a GH key
    assert read(sections).hashrate_ths == pytest.approx(150.0)


def test_resolve_and_unit_helpers() -> None:
    assert resolve(0.0, 100.0, allow_up=True) == 0.0
    assert resolve(None, 100.0, allow_up=True) is None
    assert resolve(250_000.0, 100.0, allow_up=True) == pytest.approx(250.0)
    assert resolve(5e6, None, allow_up=True) == pytest.approx(5.0)  # MH/s taken for TH/s
    assert resolve(MAX_THS * 1e7, None, allow_up=True) is None
    assert resolve(0.01, 100.0, allow_up=False) == 0.01
    assert unit_factor("TH/s") == 1.0 and unit_factor("ghs") == 1e-3 and unit_factor("mh") == 1e-6
    assert unit_factor(None) == 1e-3 and unit_factor("parsecs") == 1e-3 and unit_factor(7) == 1e-3
    assert key_factor("MHS av") == 1e-6 and key_factor("Elapsed") is None


# ------------------------------------------------------------------ sensors and state


@pytest.mark.parametrize("sentinel", [0, -1, 255, -273, 151, -41, "n/a", True, None, [80]])
def test_temperature_sentinels_are_not_temperatures(sentinel: Any) -> None:
    summary = fam.whatsminer_summary(Temperature=sentinel)
    summary["SUMMARY"][0]["Chip Temp Max"] = sentinel
    devs = fam.whatsminer_devs()
    for board in devs["DEVS"]:
        board["Temperature"] = sentinel
        board["Chip Temp Max"] = sentinel
        board["Chip Temp Avg"] = sentinel
    reading = read({"summary": summary, "devs": devs})
    assert reading.chip_temp_c is None
    assert reading.board_temp_c is None
    assert all(c.chip_temp_c is None and c.board_temp_c is None for c in reading.chains)


def test_sensor_series_skip_their_sentinels() -> None:
    sections = fam.stock_s19j_pro()
    stats = sections["stats"]["STATS"][1]
    stats["temp_chip1"] = "0-255-61-0"
    stats["temp_chip2"] = [-273, 64, 0, 0]
    stats["temp_chip3"] = "0-0-0-0"
    chips = [c.chip_temp_c for c in read(sections).chains]
    assert chips == [61.0, 64.0, None]


def test_absent_fans_are_left_out() -> None:
    sections = fam.braiins_replies()
    sections["fans"]["FANS"] = [
        {"RPM": 0},
        {"RPM": "0"},
        {"RPM": -5},
        {"RPM": 99_999},
        {"RPM": 3000},
    ]
    assert read(sections).fan_rpm == (3000,)
    del sections["fans"]
    assert read(sections).fan_rpm == ()
    whatsminer = {"summary": fam.whatsminer_summary(**{"Fan Speed In": 0, "Fan Speed Out": 0})}
    assert read(whatsminer).fan_rpm == ()


def test_paused_whatsminer_sleeps_at_its_reported_standby() -> None:
    summary = fam.whatsminer_summary(**{"MHS 1m": 0, "MHS 5s": 0, "MHS av": 0, "Power": 58})
    reading = read({"summary": summary, "devdetails": fam.whatsminer_devdetails()})
    assert reading.state is MiningState.SLEEPING
    assert reading.hashrate_ths == 0
    assert reading.power_w == 58 and reading.power_source is PowerSource.REPORTED


def test_idle_stock_miner_reads_its_nameplate_standby() -> None:
    sections = fam.stock_s19j_pro()
    sections["summary"]["SUMMARY"][0]["GHS 5s"] = "0.00"
    reading = read({"version": sections["version"], "summary": sections["summary"]})
    assert reading.state is MiningState.SLEEPING
    assert reading.power_w == 61.0 and reading.power_source is PowerSource.NAMEPLATE


def test_starting_after_a_fresh_start() -> None:
    summary = fam.whatsminer_summary(**{"MHS 1m": 0, "MHS 5s": 0, "Elapsed": 40, "Power": 160})
    reading = read({"summary": summary})
    assert reading.state is MiningState.STARTING
    ramping = fam.whatsminer_summary(**{"MHS 1m": 9_000_000.0, "Elapsed": 200})
    assert read({"summary": ramping, "devdetails": fam.whatsminer_devdetails()}).state is (
        MiningState.STARTING
    )
    low_profile = fam.whatsminer_summary(**{"MHS 1m": 9_000_000.0, "Elapsed": 20_000})
    assert read({"summary": low_profile}).state is MiningState.MINING


def test_models_and_firmware_are_bounded_and_folded() -> None:
    long_type = "Antminer   S19j\tPro " + "X" * 500
    version = fam.reply("VERSION", [{"BMMiner": "1.0.0 " + "y" * 500, "Type": long_type}])
    model, family, firmware = describe_device(version, None, None)
    assert family == BITMAIN_STOCK
    assert model.startswith("Antminer S19j Pro X") and len(model) <= 64
    assert len(firmware) <= 64
    padded = fam.reply("VERSION", [{"Type": "Antminer S9" + " " * 1_000_000 + "(vnish 3.9.0)"}])
    assert len(describe_device(padded, None, None)[0]) <= 64


@pytest.mark.parametrize(
    ("model", "key", "rated"),
    [
        ("Antminer S9 (vnish 3.9.0)", "S9", 1400),
        ("Antminer S17", "S17", 2500),
        ("Antminer S19", "S19", 3250),
        ("Antminer S19j Pro Hiveon", "S19JPRO", 3050),
        ("Bitmain Antminer S19 XP", "S19XP", 3010),
        ("Antminer S21", "S21", 3500),
        ("Whatsminer M30S_V20", "M30S", 3300),
        ("Whatsminer M30S+_VE40", "M30S+", 3400),
    ],
)
def test_nameplate_table(model: str, key: str, rated: float) -> None:
    assert model_key(model) == key
    rating = rating_for(model)
    assert rating is not None and rating.rated_w == rated


def test_unlisted_models_have_no_nameplate() -> None:
    for model in ("Antminer S19 XP Hyd", "Antminer S19j Pro+", "S19-88", "", None, "M50"):
        assert rating_for(model) is None


# ------------------------------------------------------------------ hostile replies


@pytest.mark.parametrize(
    "sections",
    [
        {},
        {"summary": {"SUMMARY": "nope"}},
        {"summary": {"SUMMARY": [1, 2]}, "stats": {"STATS": [{"Type": "Antminer S9"}]}},
        {"devs": {"DEVS": {}}},
    ],
)
def test_replies_without_numbers_are_a_protocol_error(sections: dict[str, Any]) -> None:
    with pytest.raises(MinerProtocolError):
        read(sections)


def test_odd_types_read_as_absent() -> None:
    summary = fam.whatsminer_summary(
        **{
            "MHS 1m": True,
            "MHS 5s": [1, 2],
            "MHS 5m": {"x": 1},
            "MHS 15m": "1" * 80,
            "MHS av": 10**400,
            "HS RT": float("nan"),
            "Power": "3393",
            "Elapsed": -5,
            "Fan Speed In": 4530.7,
        }
    )
    reading = read({"summary": summary})
    assert reading.hashrate_ths is None
    assert reading.power_w == 3393.0  # numeric strings are numbers
    assert reading.uptime_s is None
    assert reading.fan_rpm[0] == 4530


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = [
    "GHS 5s", "MHS 1m", "THS av", "HS RT", "Elapsed", "Power", "Power Limit", "Temperature",
    "Chip Temp Max", "Fan Speed In", "freq_avg", "rate_unit", "chain_rate1", "chain_acn1",
    "temp_chip1", "temp1", "temp2_1", "fan1", "total_rate", "total_rateideal", "chain_power",
    "chain_consumption1", "total_power", "ID", "ASC", "RPM", "Board", "Chip", "Chips",
    "Frequency", "Watts", "ApproximateMinerPowerConsumption", "TunerChainStatus", "Type",
    "Model", "Driver", "Factory GHS", "Nominal MHS", "MAC",
]  # fmt: skip
entries = st.dictionaries(st.sampled_from(_KEYS), json_values, max_size=12)
sections_strategy = st.fixed_dictionaries(
    {},
    optional={
        name: st.fixed_dictionaries({key: st.lists(entries, max_size=4) | json_values})
        for name, key in [
            ("summary", "SUMMARY"),
            ("stats", "STATS"),
            ("devs", "DEVS"),
            ("version", "VERSION"),
            ("devdetails", "DEVDETAILS"),
            ("fans", "FANS"),
            ("temps", "TEMPS"),
            ("power", "POWER"),
            ("tunerstatus", "TUNERSTATUS"),
        ]
    },
)


def _numbers(reading: MinerReading) -> list[float]:
    values: list[Any] = [
        reading.hashrate_ths,
        reading.frequency_mhz,
        reading.chip_temp_c,
        reading.board_temp_c,
        reading.power_w,
        reading.setting,
        reading.uptime_s,
        *reading.fan_rpm,
    ]
    for chain in reading.chains:
        values += [chain.hashrate_ths, chain.frequency_mhz, chain.board_temp_c]
        values += [chain.chip_temp_c, chain.power_w, chain.chips]
    return [v for v in values if v is not None]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections_strategy)
def test_fuzz_never_raises_anything_else_and_never_returns_non_finite(
    sections: dict[str, Any],
) -> None:
    original = copy.deepcopy(sections)
    try:
        reading = read(sections)
    except MinerProtocolError:
        return
    except MinerError as err:  # pragma: no cover - a failure message, not a path
        pytest.fail(f"unexpected {type(err).__name__}")
    assert all(math.isfinite(v) for v in _numbers(reading))
    assert reading.hashrate_ths is None or 0 <= reading.hashrate_ths <= MAX_THS
    assert reading.model is None or len(reading.model) <= 64
    assert repr(sections) == repr(original)  # the replies are not changed


@settings(max_examples=200, deadline=None)
@given(sections_strategy)
def test_fuzz_describe_device_and_mac(sections: dict[str, Any]) -> None:
    model, family, version = describe(sections)
    assert isinstance(model, str) and len(model) <= 64
    assert isinstance(family, str) and len(version) <= 64
    mac = find_mac(*sections.values())
    assert mac is None or len(mac) == 17
