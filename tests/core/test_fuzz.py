"""Property-based fuzzing of what comes from outside: EMS request bodies and miner replies.
Whatever arrives, the answer is a clear refusal or a valid result: never an unexpected
exception (a 500), never a value that cannot be stored or sent on."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.net_stabilization.core.fleet.command_log import parameter, parameters
from custom_components.net_stabilization.core.fleet.commands import (
    InvalidPowerError,
    parse_power_kw,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import identity_from_system_info
from custom_components.net_stabilization.core.miners.antminer_stats import parse_s9_reading
from custom_components.net_stabilization.core.miners.base import MinerError
from custom_components.net_stabilization.core.miners.cgminer import parse_reply
from custom_components.net_stabilization.core.miners.digest import parse_challenge
from custom_components.net_stabilization.core.miners.firmware import (
    classify_type,
    classify_version_reply,
)
from custom_components.net_stabilization.request_body import BodyError, parse_object

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def _stored_json(value: object) -> str:
    """Serialised as the history and the event are: strict JSON, no NaN, ints that fit."""
    text = json.dumps(value, allow_nan=False)
    for number in _numbers(json.loads(text)):
        assert not isinstance(number, int) or abs(number) <= 2**63
    return text


def _numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_activate_body_is_an_object_or_a_named_refusal(body: bytes) -> None:
    try:
        data = parse_object(body)
    except BodyError as err:
        assert str(err)
        return
    assert isinstance(data, dict)


@FUZZ
@given(st.dictionaries(st.sampled_from(["activationPowerInKw", "x"]), json_values, max_size=2))
def test_any_parsed_power_is_finite_non_negative_or_a_named_refusal(
    data: dict[str, object],
) -> None:
    body = json.dumps(data).encode()
    try:
        parsed = parse_object(body)
    except BodyError:
        return
    try:
        kw = parse_power_kw(parsed.get("activationPowerInKw"))
    except InvalidPowerError as err:
        assert err.key and "activationPowerInKw" in str(err)
    else:
        assert math.isfinite(kw) and kw >= 0
    # Whatever was sent is recorded as something that can be stored and sent on.
    _stored_json(parameters({k: v for k, v in parsed.items()}))
    _stored_json({"p": parameter(parsed.get("activationPowerInKw"))})


@FUZZ
@given(st.binary(max_size=2000))
def test_any_api_reply_is_a_dict_or_a_protocol_error(raw: bytes) -> None:
    with contextlib.suppress(MinerError):
        assert isinstance(parse_reply(raw), dict)


@FUZZ
@given(json_values, json_values)
def test_any_stats_reply_is_a_reading_or_a_protocol_error(summary: object, stats: object) -> None:
    wrapped_stats = {"STATUS": [{"STATUS": "S"}], "STATS": [{"Type": "Antminer S9"}, stats]}
    wrapped_summary = {"SUMMARY": [summary]} if isinstance(summary, dict) else None
    try:
        reading = parse_s9_reading(wrapped_summary, wrapped_stats)
    except MinerError:
        return
    for value in (
        reading.hashrate_ths,
        reading.power_w,
        reading.chip_temp_c,
        reading.frequency_mhz,
    ):
        assert value is None or math.isfinite(value)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["minertype", "macaddr", "hostname", "bmminer_version"]),
        json_values | st.text(max_size=200),
    )
)
def test_any_system_info_is_an_identity_or_a_protocol_error(info: dict[str, object]) -> None:
    try:
        identity, firmware = identity_from_system_info("10.0.0.1", info)
    except MinerError:
        return
    assert len(identity.model) <= 100 and len(identity.hostname or "") <= 64
    assert firmware.kind is not None


@FUZZ
@given(st.text(max_size=600), st.text(max_size=100))
def test_any_type_string_is_classified(text: str, version: str) -> None:
    info = classify_type(text, version)
    assert len(info.model) <= 100


@FUZZ
@given(json_values)
def test_any_version_reply_is_classified(entry: object) -> None:
    info = classify_version_reply({"VERSION": [entry]})
    assert len(info.model) <= 100


@FUZZ
@given(st.text(max_size=3000))
def test_any_challenge_parses_or_is_refused(header: str) -> None:
    challenge = parse_challenge(header)
    assert challenge is None or challenge.nonce


@pytest.mark.parametrize(
    "value",
    [18446744073709551616, 10**5000, float("nan"), float("-inf"), "x" * 10_000, object()],
    ids=["2**64", "10**5000", "nan", "-inf", "long-text", "object"],
)
def test_stored_parameters_are_always_serialisable(value: object) -> None:
    _stored_json({"p": parameter(value)})
