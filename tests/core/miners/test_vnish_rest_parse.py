"""Parsers of the Vnish REST firmware's replies, on reply shapes as the firmware documents them
(values made up), plus the discovery helpers."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.net_stabilization.core.miners.base import (
    Capabilities,
    MinerProtocolError,
    MiningState,
    PowerSource,
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.vnish_rest import (
    is_anthill_web_root,
    is_vnish_rest_type,
)
from custom_components.net_stabilization.core.miners.vnish_rest_parse import (
    hashrate_factor,
    identity_from_info,
    model_from_type,
    parse_summary,
    preset_in_force,
    preset_watts,
)
from custom_components.net_stabilization.core.miners.vnish_rest_presets import (
    STANDBY_W,
    operating_points,
    parse_presets,
    parse_pretty,
)

INFO: dict[str, Any] = {
    "miner": "Antminer S19",
    "model": "s19",
    "fw_name": "Vnish",
    "fw_version": "1.2.6",
    "platform": "xil",
    "algorithm": "sha256d",
    "hr_measure": "GH/s",
    "system": {
        "os": "GNU/Linux",
        "network_status": {
            "mac": "fe:07:26:3c:be:1b",
            "dhcp": True,
            "ip": "10.1.2.3",
            "hostname": "rack4-s19",
        },
        "uptime": "3 days, 4:05",
    },
    "serial": "N/A",
}

# The documented summary of a miner whose configuration failed to parse: everything zero.
FAILED_SUMMARY: dict[str, Any] = {
    "miner": {
        "miner_status": {
            "miner_state": "failure",
            "miner_state_time": 7,
            "description": "Failed to parse miner configuration",
            "failure_code": 1002,
        },
        "miner_type": "Antminer S19 (Vnish 1.2.6)",
        "hr_stock": 0.0,
        "average_hashrate": 0.0,
        "instant_hashrate": 0.0,
        "hr_realtime": 0.0,
        "pcb_temp": {"min": 0, "max": 0},
        "chip_temp": {"min": 0, "max": 0},
        "power_consumption": 0,
        "power_usage": 0,
        "cooling": {"fan_num": 0, "fans": [], "fan_duty": 0},
        "chains": [],
    }
}


def mining_summary(**overrides: Any) -> dict[str, Any]:
    miner: dict[str, Any] = {
        "miner_status": {"miner_state": "mining", "miner_state_time": 5400},
        "miner_type": "Antminer S19j Pro (Vnish 1.2.6)",
        "average_hashrate": 101.9,
        "instant_hashrate": 102.4,
        "hr_realtime": 102_400.0,
        "hr_nominal": 104_000.0,
        "pcb_temp": {"min": 55, "max": 61},
        "chip_temp": {"min": 66, "max": 74},
        "power_consumption": 3010,
        "power_usage": 3010,
        "cooling": {
            "fan_num": 4,
            "fans": [{"id": i, "rpm": 5400 + 10 * i, "status": "ok"} for i in range(4)],
            "fan_duty": 72,
        },
        "chains": [
            {
                "id": i + 1,
                "frequency": 525.0,
                "voltage": 1320,
                "hashrate_rt": 34_130.0,
                "pcb_temp": {"min": 54, "max": 59 + i},
                "chip_temp": {"min": 65, "max": 72 + i},
                "chip_statuses": {"red": 1, "orange": 2, "green": 123},
                "status": {"state": "mining"},
            }
            for i in range(3)
        ],
    }
    miner.update(overrides)
    return {"miner": miner, "system": {"network_status": {"mac": "FE:07:26:3C:BE:1B"}}}


def preset(name: str, pretty: str, status: str = "tuned", modded: bool = False) -> dict[str, Any]:
    return {"name": name, "pretty": pretty, "status": status, "modded_psu_required": modded}


PRESETS: list[dict[str, Any]] = [
    preset("disabled", "Disabled", "untuned"),
    preset("1100", "1100 watt ~ 53 TH"),
    preset("1900", "1900 watt ~ 73 TH"),
    {"name": "2620", "pretty": "2620 watt ~ 91 TH", "status": "untuned"},
    preset("3200", "3200 watt ~ 102 TH"),
    preset("4690", "4690 watt ~ 124 TH", modded=True),
]


def curve() -> Any:
    return operating_points(parse_presets(PRESETS), "Antminer S19").curve


# ------------------------------------------------------------------ info


def test_identity_from_the_documented_info() -> None:
    identity, factor = identity_from_info("10.1.2.3", INFO)
    assert identity.mac == "FE:07:26:3C:BE:1B"
    assert identity.host == "10.1.2.3"
    assert identity.model == "Antminer S19"
    assert identity.firmware == "Vnish 1.2.6"
    assert identity.firmware_version == "1.2.6"
    assert identity.hostname == "rack4-s19"
    assert factor == 1e-3


def test_identity_without_the_model_name_uses_the_short_model() -> None:
    info = {**INFO, "miner": None}
    identity, _ = identity_from_info("h", info)
    assert identity.model == "Antminer S19"


@pytest.mark.parametrize("info", [None, [], {}, {"system": {"network_status": {"mac": "x"}}}])
def test_info_without_a_mac_is_a_protocol_error(info: Any) -> None:
    with pytest.raises(MinerProtocolError):
        identity_from_info("h", info)


@pytest.mark.parametrize(
    ("unit", "factor"),
    [("GH/s", 1e-3), ("TH/s", 1.0), (" th/s ", 1.0), ("PH/s", 1e3), ("MH/s", 1e-6), (None, 1e-3)],
)
def test_the_hashrate_unit_is_taken_from_info(unit: Any, factor: float) -> None:
    assert hashrate_factor(unit) == factor


# ------------------------------------------------------------------ summary


def test_a_mining_summary() -> None:
    result = parse_summary(mining_summary(), curve=curve(), setting=3200.0)
    reading = result.reading
    assert result.state_name == "mining" and result.failure is None
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(102.4)  # hr_realtime in GH/s
    assert reading.power_w == 3010.0
    assert reading.power_source is PowerSource.REPORTED
    assert reading.chip_temp_c == 74.0
    assert reading.board_temp_c == 61.0
    assert reading.fan_rpm == (5400, 5410, 5420, 5430)
    assert reading.frequency_mhz == 525.0
    assert reading.uptime_s == 5400
    assert reading.setting == 3200.0
    assert reading.model == "Antminer S19j Pro"
    assert [c.index for c in reading.chains] == [1, 2, 3]
    assert [c.chips for c in reading.chains] == [126, 126, 126]
    assert reading.chains[2].chip_temp_c == 74.0
    assert reading.chains[0].hashrate_ths == pytest.approx(34.13)


def test_hashrate_in_th_units_and_the_instant_fallback() -> None:
    th = parse_summary(mining_summary(hr_realtime=98.5), hashrate_per_unit=1.0, curve=curve())
    assert th.reading.hashrate_ths == 98.5
    fallback = parse_summary(mining_summary(hr_realtime=None), curve=curve())
    assert fallback.reading.hashrate_ths == 102.4  # instant_hashrate is in TH/s


def test_the_documented_failure_summary() -> None:
    result = parse_summary(FAILED_SUMMARY, curve=curve(), setting=None)
    reading = result.reading
    assert reading.online
    assert reading.state is MiningState.SLEEPING  # not mining, not coming back by itself
    assert result.failure == "Failed to parse miner configuration"
    assert reading.hashrate_ths == 0.0
    assert reading.chip_temp_c is None and reading.board_temp_c is None  # 0 °C is no reading
    assert reading.power_w == STANDBY_W
    assert reading.power_source is PowerSource.NAMEPLATE
    assert reading.model == "Antminer S19"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("mining", MiningState.MINING),
        ("running", MiningState.MINING),
        ("initializing", MiningState.STARTING),
        ("restarting", MiningState.STARTING),
        ("auto-tuning", MiningState.STARTING),
        ("paused", MiningState.SLEEPING),
        ("stopped", MiningState.SLEEPING),
        ("shutting-down", MiningState.SLEEPING),
        ("Stopped", MiningState.SLEEPING),
    ],
)
def test_firmware_states(state: str, expected: MiningState) -> None:
    summary = mining_summary(miner_status={"miner_state": state, "miner_state_time": 3})
    assert parse_summary(summary, curve=curve()).reading.state is expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("initializing", True),
        ("Initialising", True),
        ("starting", True),
        ("restarting", True),
        ("auto-tuning", True),
        ("mining", False),
        ("running", False),
        ("paused", False),
        ("stopped", False),
        ("failure", False),
        ("stopping", None),  # on its way down: nothing about a ramp
        ("shutting-down", None),
        ("levitating", None),
        ("auto-tuning" + " " * 40 + "x", None),
        ("auto-tuning\u0000", True),  # a control character is dropped, the word stays
        ("a" * 100_000, None),
        ("", None),
        (3, None),
        (None, None),
        (["auto-tuning"], None),
    ],
)
def test_the_firmwares_word_on_settling(state: object, expected: bool | None) -> None:
    summary = mining_summary(miner_status={"miner_state": state, "miner_state_time": 3})
    assert parse_summary(summary, curve=curve()).reading.settling is expected


def test_an_unknown_state_is_judged_by_the_hashrate() -> None:
    hashing = mining_summary(miner_status={"miner_state": "levitating"})
    assert parse_summary(hashing, curve=curve()).reading.state is MiningState.MINING
    idle = mining_summary(miner_status={}, hr_realtime=0.0, instant_hashrate=0.0)
    assert parse_summary(idle, curve=curve()).reading.state is MiningState.SLEEPING


def test_power_usage_that_is_an_efficiency_is_not_taken_for_watts() -> None:
    summary = mining_summary(power_consumption=None, power_usage=29.5)
    reading = parse_summary(summary, curve=curve(), setting=1900.0).reading
    assert reading.power_w == 1900.0  # the preset's power, since the firmware gave none
    assert reading.power_source is PowerSource.NAMEPLATE
    watts = parse_summary(mining_summary(power_consumption=None, power_usage=2990), curve=curve())
    assert watts.reading.power_w == 2990.0


def test_a_sleeping_miner_that_still_draws_reports_its_draw() -> None:
    summary = mining_summary(miner_status={"miner_state": "shutting-down"}, power_consumption=800)
    reading = parse_summary(summary, curve=curve()).reading
    assert reading.power_w == 800.0 and reading.power_source is PowerSource.REPORTED


def test_a_starting_miner_with_no_power_figure_has_none() -> None:
    summary = mining_summary(miner_status={"miner_state": "initializing"}, power_consumption=0)
    assert parse_summary(summary, curve=curve(), setting=1900.0).reading.power_w is None


def test_chips_counted_from_a_chip_list_when_no_statuses() -> None:
    chain = {"id": 0, "chips": [{"id": i} for i in range(76)], "freq": 600}
    reading = parse_summary(mining_summary(chains=[chain]), curve=curve()).reading
    assert reading.chains[0].chips == 76 and reading.chains[0].frequency_mhz == 600.0


@pytest.mark.parametrize("summary", [None, [], {}, {"miner": "x"}])
def test_summaries_without_a_miner_section_are_protocol_errors(summary: Any) -> None:
    with pytest.raises(MinerProtocolError):
        parse_summary(summary, curve=curve())


# ------------------------------------------------------------------ settings and presets


def test_the_preset_in_force() -> None:
    settings = {"miner": {"overclock": {"preset": "3200", "globals": {"volt": 1320}}}}
    assert preset_in_force(settings) == "3200"
    assert preset_watts(preset_in_force(settings)) == 3200.0
    disabled = {"miner": {"overclock": {"preset": "disabled"}}}
    assert preset_watts(preset_in_force(disabled)) is None
    assert preset_in_force({"miner": []}) is None
    assert preset_in_force(None) is None


def test_presets_are_parsed_and_only_tuned_stock_psu_ones_are_usable() -> None:
    presets = parse_presets(PRESETS)
    assert [p.watts for p in presets] == [1100.0, 1900.0, 2620.0, 3200.0, 4690.0]
    assert [p.usable for p in presets] == [True, True, False, True, False]
    assert presets[0].ths == 53.0
    assert presets[-1].modded_psu and presets[-1].tuned
    assert parse_presets({"presets": PRESETS}) == presets  # the wrapped form
    assert parse_presets("x") == () and parse_presets(None) == ()


@pytest.mark.parametrize(
    ("text", "watts", "ths"),
    [
        ("1100 watt ~ 53 TH", 1100.0, 53.0),
        ("3200W ~ 65 TH", 3200.0, 65.0),
        ("3200 watt ~ 65.5 TH/s", 3200.0, 65.5),
        ("2000 watt ~ 70000 GH", 2000.0, 70.0),
        ("4000 watt ~ 0.2 PH", 4000.0, 200.0),
        ("1500 watt ~ 50 TH LC", 1500.0, 50.0),
        ("Disabled", None, None),
        ("1500 watt", 1500.0, None),
        ("1500 watt ~ lots", 1500.0, None),
        ("1500 watt ~ 50 furlongs", 1500.0, None),
        ("~~~~", None, None),
        pytest.param("9" * 10_000, None, None, id="long"),
        ("50 watt ~ 1 TH", None, 1.0),
    ],
)
def test_preset_texts(text: str, watts: float | None, ths: float | None) -> None:
    assert parse_pretty(text) == (watts, ths)


def test_a_preset_named_other_than_by_watts_takes_them_from_its_text() -> None:
    presets = parse_presets([{"name": "eco", "pretty": "1500 watt ~ 50 TH", "status": "tuned"}])
    assert [(p.name, p.watts) for p in presets] == [("eco", 1500.0)]


def test_operating_points_over_the_usable_presets() -> None:
    points = operating_points(parse_presets(PRESETS), "Antminer S19")
    assert points.unit is SettingUnit.WATT
    assert points.levels == (1100.0, 1900.0, 3200.0)
    assert points.nominal == 3200.0
    assert points.curve.power_w(1900.0) == 1900.0
    assert points.curve.hashrate_ths(3200.0) == 102.0
    assert points.snap(2500.0) == 1900.0
    assert not points.wake_reboots and points.change_stops_hashing


def test_a_preset_without_a_hashrate_gets_the_model_efficiency() -> None:
    presets = parse_presets([{"name": "2950", "pretty": "", "status": "tuned"}])
    points = operating_points(presets, "Antminer S19j Pro")
    assert points.curve.hashrate_ths(2950.0) == pytest.approx(2950.0 / 29.5)


def test_no_usable_preset_leaves_only_pause_and_resume() -> None:
    untuned = [p for p in PRESETS if p.get("status") != "tuned"]
    points = operating_points(parse_presets(untuned), "Antminer S19j Pro")
    assert points.levels == (3068.0,)  # the model's nominal power, one level
    capabilities = Capabilities.from_points(points, controllable=True)
    assert capabilities.can_sleep and not capabilities.can_set_frequency
    unknown = operating_points((), None)
    assert unknown.levels == (3250.0,)


# ------------------------------------------------------------------ discovery


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Antminer S19 (Vnish 1.2.6)", True),
        ("Antminer S19j Pro (Vnish 1.2.6)", True),
        ("  Antminer   S21 Pro  (vnish  1.2.7-rc5) ", True),
        ("Antminer S19 XP (Vnish 2.0.1)", True),
        ("Antminer S9 (vnish 3.9.0)", False),  # the S9's CGI firmware: its own driver
        ("Antminer S9j (Vnish 1.2.6)", False),
        ("Antminer T9+ (Vnish 1.0.0)", False),
        ("Antminer S19 (Vnish 3.0.0)", False),
        ("Antminer S19", False),
        ("Antminer S19 (Braiins OS+)", False),
        ("Antminer S19 ((Vnish 1.2.6))", False),
        ("Antminer (Vnish 1.2.6)", False),
        ("Whatsminer M30S (Vnish 1.2.6", False),
        ("Antminer S19 (Vnish x.2)", False),
        ("Antminer S19 (Vnish 99999.1)", False),
        ("Antminer S19" + " " * 100_000 + "(Vnish 1.2.6)", False),
        ("", False),
    ],
)
def test_type_strings(text: str, expected: bool) -> None:
    assert is_vnish_rest_type(text) is expected


def test_the_type_from_a_summary_gives_the_model() -> None:
    assert model_from_type("Antminer S19j Pro (Vnish 1.2.6)") == "Antminer S19j Pro"
    assert model_from_type("x" * 1000) == "x" * 64
    assert model_from_type(7) is None


def test_the_web_root_of_anthillos() -> None:
    page = b"<!DOCTYPE html><html><head><title>AnthillOS</title></head><body></body></html>"
    assert is_anthill_web_root(page)
    assert is_anthill_web_root(page.decode())
    assert not is_anthill_web_root(b"<html><title>antMiner</title></html>")
    assert not is_anthill_web_root(b"x" * 100_000 + b"AnthillOS")  # past the bound
    assert not is_anthill_web_root(b"\xff\xfe")
