"""LuxOS reply parsers against fixtures written from the documented reply layouts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from custom_components.net_stabilization.core.miners.base import (
    MinerProtocolError,
    MiningState,
    PowerSource,
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.cgminer import JsonDict, parse_reply
from custom_components.net_stabilization.core.miners.luxos import (
    STANDBY_W,
    WAKE_S,
    is_luxos_version,
    operating_points,
)
from custom_components.net_stabilization.core.miners.luxos_reading import (
    LuxosPoll,
    parse_reading,
)
from custom_components.net_stabilization.core.miners.luxos_replies import (
    MAX_PROFILES,
    LuxosProfile,
    atm_enabled,
    current_profile,
    curtailed,
    parse_config,
    parse_profiles,
    parse_version,
    session_id,
    status_code,
)

from .replies import reply_bytes


def fixture(name: str) -> JsonDict:
    return parse_reply(reply_bytes(f"luxos/{name}.bin"))


def poll(**overrides: JsonDict | None) -> LuxosPoll:
    replies: dict[str, JsonDict | None] = {
        "summary": fixture("summary"),
        "temps": fixture("temps_s19"),
        "fans": fixture("fans"),
        "power": fixture("power"),
        "config": fixture("config"),
        "events": fixture("events_none"),
    }
    replies.update(overrides)
    return LuxosPoll(**replies)  # type: ignore[arg-type]


PROFILES = parse_profiles(fixture("profiles"))


def test_version_names_luxminer() -> None:
    reply = fixture("version")
    assert is_luxos_version(reply)
    assert is_luxos_version(reply["VERSION"][0])
    version = parse_version(reply)
    assert version.version == "2024.11.4.151015-3a1b2c3d"
    assert version.model == "Antminer S19 XP"


def test_other_firmwares_are_not_luxos() -> None:
    stock = parse_reply(reply_bytes("stock_version.bin"))
    braiins = parse_reply(reply_bytes("bosminer_version.bin"))
    assert not is_luxos_version(stock)
    assert not is_luxos_version(braiins)
    assert not is_luxos_version({"VERSION": [{"LUXminer": ""}]})  # blank is no version
    assert not is_luxos_version({})
    with pytest.raises(MinerProtocolError):
        parse_version(stock)


def test_version_named_only_in_the_status_description() -> None:
    reply = fixture("version")
    del reply["VERSION"][0]["LUXminer"]
    assert is_luxos_version(reply)
    assert parse_version(reply).version == "2024.11.4.151015-3a1b2c3d"


def test_config_gives_mac_hostname_and_active_profile() -> None:
    config = parse_config(fixture("config"))
    assert config.mac == "02:cc:82:83:b5:79"
    assert config.hostname == "s19xp-rack4-07"
    assert config.profile == "default"
    with pytest.raises(MinerProtocolError):
        parse_config({"STATUS": []})


def test_profiles_are_sorted_by_power_with_their_estimates() -> None:
    assert [p.name for p in PROFILES][:3] == ["190MHz", "215MHz", "240MHz"]
    assert [p.watts for p in PROFILES] == sorted(p.watts for p in PROFILES)
    default = next(p for p in PROFILES if p.name == "default")
    assert default == LuxosProfile("default", 2540.0, 113.1, 290.0, 13.4)


def test_profiles_without_usable_power_or_name_are_left_out() -> None:
    good = {"Profile Name": "ok", "Watts": 1000, "Hashrate": 50}
    junk: list[Any] = [
        {"Profile Name": "a,b", "Watts": 1100},  # would split the parameter
        {"Profile Name": "nan", "Watts": math.nan},
        {"Profile Name": "neg", "Watts": -5},
        {"Profile Name": "huge", "Watts": 10**9},
        {"Profile Name": "", "Watts": 1200},
        {"Profile Name": "x" * 10_000, "Watts": 1300},
        {"Profile Name": "ctl\x07", "Watts": 1400},
        {"Profile Name": "same", "Watts": 1000},  # a second profile of 1000 W
        "not an object",
    ]
    profiles = parse_profiles({"PROFILES": [good, *junk]})
    names = [p.name for p in profiles]
    assert names[0] == "ok"
    assert "a,b" not in names and "same" not in names
    assert all(len(n) <= 64 for n in names)
    assert len(parse_profiles({"PROFILES": [good] * 10_000})) == 1
    many = [{"Profile Name": f"p{i}", "Watts": 1000 + i} for i in range(1000)]
    assert len(parse_profiles({"PROFILES": many})) == MAX_PROFILES
    with pytest.raises(MinerProtocolError):
        parse_profiles({"PROFILES": "none"})


def test_session_ids() -> None:
    assert session_id(fixture("logon")) == "q7Xk2pLm"
    assert session_id(fixture("session_blank")) is None
    assert session_id(fixture("logon_busy")) is None
    assert status_code(fixture("logon_busy")) == 402
    assert session_id({"SESSION": [{"SessionID": "ab,cd"}]}) is None
    assert session_id({"SESSION": [{"SessionID": 12345}]}) is None


def test_atm_and_profile_replies() -> None:
    reply = fixture("atm")
    assert atm_enabled(reply) is True
    reply["ATM"][0]["Enabled"] = "false"
    assert atm_enabled(reply) is False
    with pytest.raises(MinerProtocolError):
        atm_enabled({"ATM": [{}]})
    assert current_profile(fixture("profileset")) == "240MHz"
    assert current_profile({"PROFILE": [{"Profile Name": "default", "Watts": 2540}]}) == "default"
    assert current_profile({"STATUS": []}) is None


def test_events_tell_a_curtailed_miner() -> None:
    assert curtailed(fixture("events_sleep")) is True
    assert curtailed(fixture("events_none")) is False
    assert curtailed(None) is None


def test_reading_of_a_mining_miner() -> None:
    reading = parse_reading(poll(), PROFILES, STANDBY_W)
    assert reading.online
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(112.87412)  # GH/s on the wire
    assert reading.power_w == 2563.0
    assert reading.power_source is PowerSource.REPORTED
    assert reading.setting == 2540.0  # the active profile's watts
    assert reading.frequency_mhz == 290.0
    assert reading.board_temp_c == 64.0
    assert reading.chip_temp_c is None  # LuxOS reports board sensors only on S19
    assert reading.fan_rpm == (4620, 4680, 4590)  # the stopped fan is left out
    assert reading.uptime_s == 86431


def test_reading_of_a_curtailed_miner() -> None:
    summary = fixture("summary")
    summary["SUMMARY"][0]["GHS 5s"] = 0
    power = fixture("power")
    power["POWER"][0]["Watts"] = 0  # PSU output off: no estimate
    reading = parse_reading(
        poll(summary=summary, power=power, events=fixture("events_sleep")), PROFILES, STANDBY_W
    )
    assert reading.state is MiningState.SLEEPING
    assert reading.hashrate_ths == 0.0
    assert reading.power_w == STANDBY_W
    assert reading.power_source is PowerSource.NAMEPLATE
    assert reading.setting == 2540.0  # the profile it wakes up to
    assert reading.frequency_mhz is None


def test_without_events_low_power_and_no_hashing_is_curtailed() -> None:
    summary = fixture("summary")
    summary["SUMMARY"][0]["GHS 5s"] = 0.0
    power = fixture("power")
    power["POWER"][0]["Watts"] = 27
    asleep = parse_reading(poll(summary=summary, power=power, events=None), PROFILES, STANDBY_W)
    assert asleep.state is MiningState.SLEEPING
    power["POWER"][0]["Watts"] = 450  # boards powered, initialising
    waking = parse_reading(poll(summary=summary, power=power, events=None), PROFILES, STANDBY_W)
    assert waking.state is MiningState.STARTING


def test_ramping_miner_is_starting() -> None:
    summary = fixture("summary")
    summary["SUMMARY"][0]["GHS 5s"] = 40_000.0  # well below the default profile's 113 TH/s
    reading = parse_reading(poll(summary=summary), PROFILES, STANDBY_W)
    assert reading.state is MiningState.STARTING
    none = fixture("summary")
    none["SUMMARY"][0]["GHS 5s"] = "junk"
    assert parse_reading(poll(summary=none), PROFILES, STANDBY_W).state is MiningState.STARTING


def test_temperature_layouts() -> None:
    s9 = parse_reading(poll(temps=fixture("temps_s9")), PROFILES, STANDBY_W)
    assert (s9.board_temp_c, s9.chip_temp_c) == (62.0, 81.0)
    hydro = parse_reading(poll(temps=fixture("temps_hydro")), PROFILES, STANDBY_W)
    assert hydro.board_temp_c == 58.0  # the water loop is no board temperature


def test_hostile_values_are_absent_not_trusted() -> None:
    summary = {"SUMMARY": [{"GHS 5s": 1e300, "Elapsed": -5}]}
    temps = {"TEMPS": [{"TopLeft": 10_000, "TopRight": "hot", "BottomLeft": math.inf}]}
    fans = {"FANS": [{"RPM": 10**12}, {"RPM": "fast"}, "x"]}
    power = {"POWER": [{"Watts": 1e9}]}
    config = {"CONFIG": [{"Profile": ["default"]}]}
    reading = parse_reading(
        LuxosPoll(summary, temps, fans, power, config, {"EVENTS": "SLEEP"}), PROFILES, STANDBY_W
    )
    assert reading.hashrate_ths is None
    assert reading.uptime_s is None
    assert reading.board_temp_c is None
    assert reading.fan_rpm == ()
    assert reading.setting is None
    assert reading.state is MiningState.STARTING
    assert reading.power_w is None


def test_operating_points_from_profiles() -> None:
    points = operating_points(PROFILES)
    assert points.unit is SettingUnit.WATT
    assert points.levels == tuple(p.watts for p in PROFILES)
    assert points.nominal == 2540.0
    assert points.curve.points[0] == (1560.0, 1560.0, 74.1)
    assert points.curve.standby_w == STANDBY_W
    assert points.wake_s == WAKE_S
    assert not points.wake_reboots
    assert not points.change_stops_hashing
    assert points.snap(2000.0) == 2030.0


def test_operating_points_fill_in_missing_estimates() -> None:
    profiles = (
        LuxosProfile("low", 1000.0, 50.0),
        LuxosProfile("mid", 1500.0, None),
        LuxosProfile("high", 2000.0, 90.0),
    )
    points = operating_points(profiles)
    assert points.curve.points[1] == (1500.0, 1500.0, 70.0)
    assert points.nominal == 2000.0  # no "default" profile: the highest
    blind = operating_points((LuxosProfile("only", 1000.0, None),))
    assert blind.curve.points == ((1000.0, 1000.0, 0.0),)
    assert operating_points(()).levels  # a placeholder, never an empty curve


def test_fixtures_are_json_with_one_nul() -> None:
    raw = reply_bytes("luxos/profiles.bin")
    assert raw.count(b"\0") == 1 and raw.endswith(b"\0")
    assert json.loads(raw[:-1])["id"] == 1
