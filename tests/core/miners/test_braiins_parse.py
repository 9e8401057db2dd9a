"""Parsers of Braiins OS REST replies, from documented reply shapes; hostile values and fuzz."""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.net_stabilization.core.miners.base import (
    MinerError,
    MinerProtocolError,
    MiningState,
    PowerSource,
    SettingUnit,
)
from custom_components.net_stabilization.core.miners.braiins import is_braiins_version
from custom_components.net_stabilization.core.miners.braiins_parse import (
    MAX_TEXT_CHARS,
    MinerStatus,
    PowerLimits,
    TunerState,
    identity_from_details,
    parse_bos_version,
    parse_constraints,
    parse_cooling,
    parse_details,
    parse_hashboards,
    parse_phase,
    parse_power_target,
    parse_stats,
    parse_status,
    parse_tuner_state,
    parse_watt,
)
from custom_components.net_stabilization.core.miners.braiins_reading import (
    CONTROL_OVERHEAD_W,
    DEFAULT_LIMITS,
    PAUSED_W,
    build_reading,
    efficiency_j_per_th,
    mining_state,
    operating_points,
    settling,
)
from custom_components.net_stabilization.core.miners.braiins_rest import parse_login
from custom_components.net_stabilization.core.miners.cgminer import parse_reply
from custom_components.net_stabilization.core.miners.firmware import classify_version_reply

from . import braiins_replies as replies
from .replies import reply_bytes

LIMITS = PowerLimits(min_w=1100.0, default_w=3250.0, max_w=3700.0)


def _with(data: dict[str, Any], *path: str, value: object) -> dict[str, Any]:
    """A deep copy of `data` with the value at `path` replaced."""
    result = copy.deepcopy(data)
    node = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"BOSer": "boser-buildroot 0.1.0-0ce150e9", "API": "3.7"}, True),
        ({"BOSminer": "0.2.0", "API": "3.7"}, True),
        ({"BOSminer+": "0.2.0-36c56734af", "API": "3.7"}, True),
        ({"boser": "lower-case key"}, True),
        ({"BMMiner": "2.0.0", "Type": "Antminer S9"}, False),
        ({"LUXminer": "2024.1", "API": "3.7"}, False),
        ({"Type": "Antminer S19 (BOSer)"}, False),  # only keys count, not values
        ({}, False),
        ("BOSer", False),
        (None, False),
    ],
)
def test_braiins_is_recognised_by_its_version_keys(entry: object, expected: bool) -> None:
    assert is_braiins_version(entry) is expected


def test_the_recorded_bosminer_version_reply_is_braiins() -> None:
    reply = parse_reply(reply_bytes("bosminer_version.bin"))
    assert is_braiins_version(reply["VERSION"][0])
    assert classify_version_reply(reply).firmware == "Braiins OS"


def test_only_the_first_keys_of_a_padded_entry_are_looked_at() -> None:
    entry: dict[str, object] = {f"k{i}": i for i in range(10_000)}
    entry["BOSer"] = "late"
    assert not is_braiins_version(entry)


# ------------------------------------------------------------------ details and identity


def test_details_give_the_identity() -> None:
    details = parse_details(replies.DETAILS)
    identity = identity_from_details("10.0.0.7", details)
    assert identity.mac == "6C:79:B8:75:25:CC"
    assert identity.model == "Antminer S19J Pro"
    assert identity.firmware == "Braiins OS+ 25.07"
    assert identity.firmware_version == "25.07"
    assert identity.hostname == "s19-rack2-07"
    assert identity.host == "10.0.0.7"
    assert details.status is MinerStatus.NORMAL
    assert details.phase == "running"
    assert details.system_uptime_s == 193692
    assert details.bosminer_uptime_s == 193610
    assert details.sticker_ths == pytest.approx(104.0)


def test_details_in_grpc_json_form_are_understood() -> None:
    details = parse_details(replies.DETAILS_GRPC_JSON)
    assert details.status is MinerStatus.PAUSED
    assert details.phase is None
    assert details.version == "23.03.2"
    assert details.system_uptime_s == 193692
    assert details.bosminer_uptime_s is None
    assert details.sticker_ths is None


def test_details_without_a_mac_give_no_identity() -> None:
    details = parse_details(_with(replies.DETAILS, "mac_address", value="00:00:00:00:00:00"))
    with pytest.raises(MinerProtocolError, match="MAC"):
        identity_from_details("10.0.0.7", details)


def test_open_source_braiins_os_is_named_so() -> None:
    reply = _with(replies.DETAILS, "bos_version", "bos_plus", value=False)
    assert identity_from_details("h", parse_details(reply)).firmware == "Braiins OS 25.07"


@pytest.mark.parametrize("reply", [[], None, "details", 42, True])
def test_details_that_are_not_an_object_are_refused(reply: object) -> None:
    with pytest.raises(MinerProtocolError, match="not an object"):
        parse_details(reply)


def test_oversized_strings_in_details_are_bounded() -> None:
    reply = _with(replies.DETAILS, "hostname", value="h" * 1_000_000)
    reply["miner_identity"]["name"] = "Antminer   S19\n" + "x" * 1_000_000
    details = parse_details(reply)
    assert details.hostname is not None and len(details.hostname) == MAX_TEXT_CHARS
    assert details.model is not None and details.model.startswith("Antminer S19 x")
    assert len(details.model) == MAX_TEXT_CHARS


def test_details_with_wrong_types_read_as_absent() -> None:
    reply = {
        "mac_address": ["6c:79:b8:75:25:cc"],
        "miner_identity": "Antminer",
        "bos_version": {"current": 25.07, "bos_plus": "yes"},
        "hostname": {"name": "x"},
        "system_uptime_s": -5,
        "bosminer_uptime_s": float("nan"),
        "status": True,
        "detailed_status": {"status": ["running"]},
        "sticker_hashrate": {"gigahash_per_second": 1e300},
    }
    details = parse_details(reply)
    assert details.mac is None and details.model is None and details.hostname is None
    assert details.version == "" and not details.bos_plus
    assert details.system_uptime_s is None and details.bosminer_uptime_s is None
    assert details.status is None and details.phase is None and details.sticker_ths is None


@pytest.mark.parametrize(
    ("current", "version"),
    [
        ("2023-05-29-0-1daef48b-23.03.2-plus", "23.03.2"),
        ("2025-07-15-0-6e3f09a1-25.07-plus", "25.07"),
        ("25.07.1", "25.07.1"),
        ("nightly", "nightly"),
        ("2023-05-29-0-1daef48b-٢٣.٠٣-plus", "2023-05-29-0-1daef48b-٢٣.٠٣-plus"[:32]),
        ("", ""),
        (None, ""),
        ("-" * 10_000, "-" * 32),
    ],
)
def test_the_release_is_taken_from_the_version_string(current: object, version: str) -> None:
    assert parse_bos_version(current) == version


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (2, MinerStatus.NORMAL),
        (3, MinerStatus.PAUSED),
        (5, MinerStatus.RESTRICTED),
        ("MINER_STATUS_SUSPENDED", MinerStatus.SUSPENDED),
        ("not_started", MinerStatus.NOT_STARTED),
        (9, None),
        (-1, None),
        (True, None),
        (2.0, None),
        ("MINER_STATUS_WHATEVER", None),
        (None, None),
    ],
)
def test_status_values(value: object, status: MinerStatus | None) -> None:
    assert parse_status(value) is status


@pytest.mark.parametrize(
    ("detailed", "phase"),
    [
        ({"status": {"stopped": {"reason": {"user_pause": {}}}}}, "stopped"),
        ({"status": {"starting": {"reason": {"delayed_start": {}}}}}, "starting"),
        ({"status": {"running": {"reason": {"preheating": {}}}}}, "running"),
        ({"status": {"stopping": {}}}, "stopping"),
        ({"status": {"sleeping": {}}}, None),
        ({"status": None}, None),
        (None, None),
    ],
)
def test_detailed_status_phases(detailed: object, phase: str | None) -> None:
    assert parse_phase(detailed) == phase


# ------------------------------------------------------------------ configuration


def test_constraints_give_the_power_target_range() -> None:
    assert parse_constraints(replies.CONSTRAINTS) == LIMITS


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tuner_constraints", "power_target", "min", "watt"), 4000),  # above the max
        (("tuner_constraints", "power_target", "max", "watt"), 1e9),
        (("tuner_constraints", "power_target", "min", "watt"), -100),
        (("tuner_constraints", "power_target", "min", "watt"), "NaN"),
        (("tuner_constraints", "power_target", "max"), None),
        (("tuner_constraints", "power_target"), None),
        (("tuner_constraints",), "powertarget"),
    ],
)
def test_senseless_constraints_give_no_range(path: tuple[str, ...], value: object) -> None:
    assert parse_constraints(_with(replies.CONSTRAINTS, *path, value=value)) is None


def test_a_default_outside_the_range_is_the_top_of_it() -> None:
    reply = _with(replies.CONSTRAINTS, "tuner_constraints", "power_target", "default", value=None)
    assert parse_constraints(reply) == replace(LIMITS, default_w=3700.0)


def test_the_target_in_force_and_the_answer_to_a_change() -> None:
    assert parse_power_target(replies.TUNER_STATE) == 3000.0
    assert parse_power_target({"mode_state": {"hashratetargetmodestate": {}}}) is None
    assert parse_watt({"watt": 2500}) == 2500.0
    assert parse_watt({"watt": "2500"}) == 2500.0
    assert parse_watt({"watt": 1e12}) is None
    assert parse_watt(True) is None


# ------------------------------------------------------------------ telemetry


def test_stats_give_hashrate_and_power() -> None:
    stats = parse_stats(replies.STATS)
    assert stats.hashrate_ths == pytest.approx(98.6505)
    assert stats.power_w == 3046.0


def test_a_missing_window_falls_back_to_a_longer_one() -> None:
    reply = _with(replies.STATS, "miner_stats", "real_hashrate", "last_5s", value=None)
    reply["miner_stats"]["real_hashrate"]["last_15s"] = {"gigahash_per_second": 90000.0}
    assert parse_stats(reply).hashrate_ths == pytest.approx(90.0)


@pytest.mark.parametrize("value", [-1.0, 1e30, "fast", None, float("inf")])
def test_absurd_stats_read_as_absent(value: object) -> None:
    reply = _with(replies.STATS, "power_stats", "approximated_consumption", "watt", value=value)
    for window in ("last_5s", "last_15s", "last_1m"):
        reply["miner_stats"]["real_hashrate"][window] = {"gigahash_per_second": value}
    stats = parse_stats(reply)
    assert stats.hashrate_ths is None and stats.power_w is None


def test_hashboards_give_the_chains() -> None:
    chains = parse_hashboards(replies.HASHBOARDS)
    assert [c.index for c in chains] == [1, 2, 3]
    assert all(c.chips == 126 and c.frequency_mhz == pytest.approx(525.0) for c in chains)
    assert [c.chip_temp_c for c in chains] == [68.5, 71.0, 69.5]
    assert chains[1].board_temp_c == 58.5
    assert chains[0].hashrate_ths == pytest.approx(32.9)


def test_disabled_odd_and_too_many_boards() -> None:
    boards: list[object] = [
        {"id": "1", "enabled": False},
        "board",
        {"id": "x", "enabled": True, "board_temp": {"degree_c": 999}, "chips_count": -3},
    ]
    boards += [{"id": str(i), "enabled": True} for i in range(100)]
    chains = parse_hashboards({"hashboards": boards})
    assert chains[0].index == 3 and chains[0].chips == 0 and chains[0].board_temp_c is None
    assert len(chains) == 14  # sixteen looked at, two of them not boards


def test_cooling_gives_fans_and_the_hottest_sensor() -> None:
    cooling = parse_cooling(replies.COOLING)
    assert cooling.fan_rpm == (3708, 3708, 3708, 3678)
    assert cooling.hottest_c == 71.5
    odd = parse_cooling({"fans": [{"rpm": -1}, {"rpm": "3000"}, {"rpm": 1e9}] * 20})
    assert odd.fan_rpm == (3000,) * 5 and odd.hottest_c is None


def test_login_replies() -> None:
    assert parse_login(replies.LOGIN, "u") == ("eUInGZBQ4yGyKiDe", 3600.0)
    assert parse_login({"token": "abc"}, "u") == ("abc", 3600.0)
    assert parse_login({"token": "abc", "timeout_s": 1e12}, "u") == ("abc", 3600.0)
    for reply in (
        {"token": "abc\r\nX-Evil: 1"},
        {"token": "a b"},
        {"token": ""},
        {"token": "t" * 10_000},
        {"token": 42},
        ["token"],
    ):
        with pytest.raises(MinerProtocolError):
            parse_login(reply, "u")


# ------------------------------------------------------------------ operating points


def test_operating_points_follow_the_constraints_and_the_sticker() -> None:
    points = operating_points(LIMITS, parse_details(replies.DETAILS))
    curve = points.curve
    assert points.unit is SettingUnit.WATT and points.continuous
    assert (curve.min_mhz, curve.nominal_mhz, curve.max_mhz) == (1100.0, 3250.0, 3700.0)
    assert curve.power_w(3250.0) == 3250.0 + CONTROL_OVERHEAD_W
    assert curve.hashrate_ths(3250.0) == pytest.approx(104.0)
    assert curve.standby_w == PAUSED_W
    assert not points.wake_reboots and not points.change_stops_hashing
    assert points.change_s < 60.0 and points.wake_s < 60.0
    targets = [p[0] for p in curve.points]
    assert targets == sorted(set(targets))
    rates = [p[2] for p in curve.points]
    assert rates == sorted(rates)
    # Efficiency improves below the stock target.
    assert curve.power_w(1100.0) / curve.hashrate_ths(1100.0) < 3260.0 / 104.0
    assert points.snap(2347.0) == 2350.0 and points.snap(50.0) == 1100.0


def test_without_a_sticker_the_models_efficiency_sets_the_hashrate() -> None:
    details = parse_details(_with(replies.DETAILS, "sticker_hashrate", value=None))
    points = operating_points(LIMITS, details)
    assert points.curve.hashrate_ths(3250.0) == pytest.approx(3250.0 / 29.5)
    assert efficiency_j_per_th("Antminer S21") == 17.5
    assert efficiency_j_per_th("Whatsminer M50") == efficiency_j_per_th(None)


def test_without_a_power_target_only_pause_and_resume_remain() -> None:
    points = operating_points(None, None)
    assert points.levels == (DEFAULT_LIMITS.default_w,)
    assert not points.continuous


# ------------------------------------------------------------------ readings


def _details(**changes: Any) -> Any:
    return replace(parse_details(replies.DETAILS), **changes)


@pytest.mark.parametrize(
    ("changes", "hashrate", "state"),
    [
        ({}, 100.0, MiningState.MINING),
        ({}, 60.0, MiningState.STARTING),  # ramping: below 80 % of what the target predicts
        ({}, 0.0, MiningState.STARTING),
        ({}, None, MiningState.STARTING),
        ({"phase": "stopped"}, 0.0, MiningState.SLEEPING),
        ({"phase": "stopping"}, 50.0, MiningState.SLEEPING),
        ({"phase": "starting"}, 0.0, MiningState.STARTING),
        ({"phase": None, "status": MinerStatus.PAUSED}, 0.0, MiningState.SLEEPING),
        ({"phase": None, "status": MinerStatus.SUSPENDED}, 0.0, MiningState.SLEEPING),
        ({"phase": None, "status": MinerStatus.NOT_STARTED}, 0.0, MiningState.STARTING),
        ({"phase": None, "status": MinerStatus.RESTRICTED}, 95.0, MiningState.MINING),
        ({"phase": None, "status": None}, 95.0, MiningState.MINING),
        # The detailed status wins over the deprecated number.
        ({"phase": "running", "status": MinerStatus.PAUSED}, 95.0, MiningState.MINING),
    ],
)
def test_mining_states(changes: dict[str, Any], hashrate: float | None, state: MiningState) -> None:
    assert mining_state(_details(**changes), hashrate, 100.0) is state


def test_a_full_reading() -> None:
    points = operating_points(LIMITS, parse_details(replies.DETAILS))
    reading = build_reading(
        parse_details(replies.DETAILS),
        stats=parse_stats(replies.STATS),
        target_w=parse_power_target(replies.TUNER_STATE),
        cooling=parse_cooling(replies.COOLING),
        chains=parse_hashboards(replies.HASHBOARDS),
        curve=points.curve,
    )
    assert reading.online and reading.state is MiningState.MINING
    assert reading.hashrate_ths == pytest.approx(98.6505)
    assert reading.power_w == 3046.0 and reading.power_source is PowerSource.REPORTED
    assert reading.setting == 3000.0
    assert reading.frequency_mhz == pytest.approx(525.0)
    assert reading.chip_temp_c == 71.0 and reading.board_temp_c == 58.5
    assert reading.fan_rpm == (3708, 3708, 3708, 3678)
    assert reading.uptime_s == 193610
    assert reading.model == "Antminer S19J Pro"
    assert len(reading.chains) == 3


def test_a_reading_from_the_details_alone() -> None:
    points = operating_points(LIMITS, None)
    paused = build_reading(
        _details(phase="stopped"),
        stats=None,
        target_w=None,
        cooling=None,
        chains=(),
        curve=points.curve,
    )
    assert paused.state is MiningState.SLEEPING
    assert paused.power_w == PAUSED_W and paused.power_source is PowerSource.NAMEPLATE
    assert paused.hashrate_ths is None and paused.setting is None
    chains = parse_hashboards(replies.HASHBOARDS)
    mining = build_reading(
        _details(), stats=None, target_w=None, cooling=None, chains=chains, curve=points.curve
    )
    assert mining.state is MiningState.MINING  # the boards' hashrates add up
    assert mining.hashrate_ths == pytest.approx(98.6505)
    assert mining.power_w == points.curve.nominal_w
    assert mining.power_source is PowerSource.NAMEPLATE


# ------------------------------------------------------------------ fuzz

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
_KEYS = st.sampled_from(
    [
        "status",
        "detailed_status",
        "mac_address",
        "miner_identity",
        "bos_version",
        "system_uptime_s",
        "bosminer_uptime_s",
        "sticker_hashrate",
        "hashboards",
        "fans",
        "miner_stats",
        "power_stats",
        "tuner_constraints",
        "mode_state",
        "overall_tuner_state",
        "watt",
        "token",
    ]
)
replies_like = st.dictionaries(_KEYS, json_values, max_size=8) | json_values


def _finite_or_none(value: float | None) -> bool:
    return value is None or math.isfinite(value)


@FUZZ
@given(replies_like, replies_like, replies_like, replies_like, replies_like)
def test_hostile_replies_never_raise_anything_but_miner_errors(
    details: object, stats: object, boards: object, cooling: object, other: object
) -> None:
    for parse in (parse_constraints, parse_power_target, parse_watt):
        assert _finite_or_none(parse(other))
    try:
        parsed = parse_details(details)
    except MinerError:
        assert not isinstance(details, dict)
        return
    with contextlib.suppress(MinerError):
        identity_from_details("h", parsed)
    limits = parse_constraints(other)
    reading = build_reading(
        parsed,
        stats=parse_stats(stats),
        target_w=parse_power_target(other),
        tuner=parse_tuner_state(other),
        cooling=parse_cooling(cooling),
        chains=parse_hashboards(boards),
        curve=operating_points(limits, parsed).curve,
    )
    assert reading.settling in (True, False, None)
    for value in (reading.hashrate_ths, reading.power_w, reading.chip_temp_c, reading.setting):
        assert _finite_or_none(value)
    assert len(reading.fan_rpm) <= 16 and len(reading.chains) <= 16


# ------------------------------------------------------------------ the tuner's own word


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (2, TunerState.STABLE),
        (3, TunerState.TUNING),
        (1, TunerState.DISABLED),
        ("TUNER_STATE_TUNING", TunerState.TUNING),
        ("tuner_state_stable", TunerState.STABLE),
        (" 3 ", TunerState.TUNING),
        ("TUNING", TunerState.TUNING),
        (5, None),
        (-1, None),
        (True, None),
        (3.0, None),
        ("TUNER_STATE_TUNING_FOREVER", None),
        ("TUNER_STATE_TUNING" + "x" * 10_000, None),
        ("9" * 100_000, None),
        ("३", None),  # a digit, but not an ASCII one
        ({"tuning": True}, None),
        ([3], None),
        (None, None),
    ],
)
def test_tuner_state_values(value: object, state: TunerState | None) -> None:
    assert parse_tuner_state({"overall_tuner_state": value}) is state


@pytest.mark.parametrize("reply", [None, [], "TUNING", {"overall": 3}, {"overall_tuner_state": {}}])
def test_a_reply_without_a_tuner_state_says_nothing(reply: object) -> None:
    assert parse_tuner_state(reply) is None


@pytest.mark.parametrize(
    ("phase", "tuner", "expected"),
    [
        ("running", TunerState.TUNING, True),  # holding a step while temperatures settle
        ("running", TunerState.STABLE, False),
        ("starting", TunerState.STABLE, True),  # the boards come up
        ("starting", None, True),
        ("stopped", TunerState.STABLE, False),
        ("running", TunerState.DISABLED, None),
        ("running", TunerState.ERROR, None),
        ("running", TunerState.UNSPECIFIED, None),
        ("running", None, None),
        (None, None, None),
    ],
)
def test_the_firmwares_word_on_settling(
    phase: str | None, tuner: TunerState | None, expected: bool | None
) -> None:
    assert settling(_details(phase=phase), tuner) is expected


def test_a_reading_carries_the_tuners_word() -> None:
    points = operating_points(LIMITS, parse_details(replies.DETAILS))
    tuner = {**replies.TUNER_STATE, "overall_tuner_state": 3}
    reading = build_reading(
        parse_details(replies.DETAILS),
        stats=parse_stats(replies.STATS),
        target_w=parse_power_target(tuner),
        tuner=parse_tuner_state(tuner),
        cooling=None,
        chains=(),
        curve=points.curve,
    )
    assert reading.settling is True and reading.setting == 3000.0
    steady = build_reading(
        parse_details(replies.DETAILS),
        stats=parse_stats(replies.STATS),
        target_w=3000.0,
        tuner=parse_tuner_state(replies.TUNER_STATE),
        cooling=None,
        chains=(),
        curve=points.curve,
    )
    assert steady.settling is False
