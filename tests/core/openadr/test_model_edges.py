"""Reading a VTN's objects defensively: every malformed field makes its object unusable with a
named reason, and the time values of OpenADR 3 round-trip."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.net_stabilization.core.openadr.model import (
    MAX_INTERVALS,
    ObjectError,
    Payload,
    PayloadDescriptor,
    Program,
    parse_event,
    parse_payload,
    parse_payload_descriptor,
    parse_period,
    parse_program,
    parse_report_descriptor,
)
from custom_components.net_stabilization.core.openadr.timing import (
    TimingError,
    format_datetime,
    format_duration,
    parse_datetime,
)


def event(**changes: Any) -> dict[str, Any]:
    """A usable event, changed as the test asks."""
    body: dict[str, Any] = {
        "id": "e1",
        "programID": "p1",
        "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT", "values": [4.0]}]}],
    }
    body.update(changes)
    return body


# ----------------------------------------------------------------------------- time values


def test_a_fractional_duration_keeps_its_milliseconds() -> None:
    assert format_duration(1.5) == "PT1.5S"
    assert format_duration(-0.25) == "-PT0.25S"
    assert format_duration(90.0) == "PT90S"


@pytest.mark.parametrize("value", [None, 1_767_225_600, "2026-01-01T00:00:00Z" + "0" * 60])
def test_a_date_time_that_is_not_a_bounded_string_is_refused(value: object) -> None:
    with pytest.raises(TimingError):
        parse_datetime(value)


def test_a_date_time_without_an_offset_is_utc() -> None:
    assert parse_datetime("2026-01-01T00:00:00") == parse_datetime("2026-01-01T00:00:00Z")
    assert format_datetime(parse_datetime("2026-01-01T00:00:00") or 0.0) == (
        "2026-01-01T00:00:00.000Z"
    )


# ----------------------------------------------------------------------------- fields


def test_an_interval_finds_its_payload_by_type() -> None:
    parsed = parse_event(event())
    interval = parsed.intervals[0]
    assert interval.payload("DISPATCH_SETPOINT") == Payload("DISPATCH_SETPOINT", (4.0,))
    assert interval.payload("PRICE") is None


@pytest.mark.parametrize("name", [7, "", "x" * 129])
def test_an_id_that_is_not_a_usable_string_is_refused(name: object) -> None:
    with pytest.raises(ObjectError, match="id is not a usable string"):
        parse_event(event(id=name))


def test_report_descriptor_defaults_stand_for_absent_and_null_fields() -> None:
    descriptor = parse_report_descriptor(
        {"payloadType": "USAGE", "aggregate": None, "numIntervals": None}
    )
    assert descriptor.aggregate is False
    assert descriptor.num_intervals == -1
    assert descriptor.historical is True
    assert descriptor.repeat == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("frequency", True, "frequency is not an integer"),
        ("repeat", 1.5, "repeat is not an integer"),
        ("historical", "yes", "historical is not a boolean"),
        ("aggregate", 1, "aggregate is not a boolean"),
    ],
)
def test_a_report_descriptor_field_of_the_wrong_kind_is_refused(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ObjectError, match=message):
        parse_report_descriptor({"payloadType": "USAGE", field: value})


@pytest.mark.parametrize("value", [[], "event", None, 3])
def test_an_event_that_is_not_an_object_is_refused(value: object) -> None:
    with pytest.raises(ObjectError, match="event is not an object"):
        parse_event(value)


def test_a_list_longer_than_the_bound_is_refused() -> None:
    intervals = [{"id": n, "payloads": []} for n in range(MAX_INTERVALS + 1)]
    with pytest.raises(ObjectError, match="intervals is not a list"):
        parse_event(event(intervals=intervals))
    with pytest.raises(ObjectError, match="values is not a list"):
        parse_payload({"type": "PRICE", "values": {"0": 1}})


# ----------------------------------------------------------------------------- periods


def test_a_period_with_a_bad_time_value_is_refused_with_the_reason() -> None:
    with pytest.raises(ObjectError, match="not a duration"):
        parse_period({"start": "2026-01-01T00:00:00Z", "duration": "half an hour"})
    with pytest.raises(ObjectError, match="not a date-time"):
        parse_period({"start": "tomorrow"})


def test_a_negative_period_is_refused_and_a_random_shift_counts_either_way() -> None:
    with pytest.raises(ObjectError, match="negative duration"):
        parse_period({"duration": "-PT5M"})
    period = parse_period({"randomizeStart": "-PT2M"})
    assert period is not None
    assert period.randomize_s == 120.0


# ----------------------------------------------------------------------------- payloads


@pytest.mark.parametrize(
    ("value", "message"),
    [(math.inf, "not finite"), (math.nan, "not finite"), (None, "unknown kind")],
)
def test_a_payload_value_that_cannot_be_acted_on_is_refused(value: object, message: str) -> None:
    with pytest.raises(ObjectError, match=message):
        parse_payload({"type": "DISPATCH_SETPOINT", "values": [value]})


def test_a_program_keeps_event_descriptors_and_leaves_report_ones_out() -> None:
    program = parse_program(
        {
            "id": "p1",
            "programName": "fleet-dr",
            "payloadDescriptors": [
                {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE"},
                {"payloadType": "PRICE", "units": "KWH", "currency": "EUR"},
            ],
        }
    )
    assert program.payload_descriptors == (PayloadDescriptor("PRICE", "KWH", "EUR"),)
    assert (
        parse_payload_descriptor({"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "X"})
        is None
    )


def test_an_event_inherits_only_the_descriptors_it_lacks() -> None:
    program = Program(
        "p1", "fleet-dr", (PayloadDescriptor("PRICE", "KWH"), PayloadDescriptor("X", "KW"))
    )
    parsed = parse_event(
        event(payloadDescriptors=[{"payloadType": "PRICE", "units": "MWH"}]), program
    )
    assert parsed.descriptor("PRICE") == PayloadDescriptor("PRICE", "MWH")
    assert parsed.descriptor("X") == PayloadDescriptor("X", "KW")
    assert parsed.descriptor("Y") is None


# ----------------------------------------------------------------------------- events


@pytest.mark.parametrize("interval_id", [None, "0", True, 1.0])
def test_an_interval_without_an_integer_id_is_refused(interval_id: object) -> None:
    with pytest.raises(ObjectError, match="integer id"):
        parse_event(event(intervals=[{"id": interval_id, "payloads": []}]))


@pytest.mark.parametrize("priority", [-1, True, "1", 0.5])
def test_a_priority_that_is_not_a_non_negative_integer_is_refused(priority: object) -> None:
    with pytest.raises(ObjectError, match="priority"):
        parse_event(event(priority=priority))


def test_priority_zero_is_a_priority() -> None:
    assert parse_event(event(priority=0)).priority == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"modificationDateTime": "yesterday"}, "not a date-time"),
        ({"duration": "PT"}, "not a duration"),
    ],
)
def test_an_event_with_a_bad_time_value_is_refused_with_the_reason(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ObjectError, match=message):
        parse_event(event(**changes))
