"""Checks of every request a VEN sends to the test VTN, written from OpenADR 3.1.1.

Sources read (grid-coordination/openadr3-specification, `3.1.1/`): the OpenAPI document
(`openadr3.yaml`: `venRequest`, `resourceRequest`, `subscriptionRequest`, `reportRequest`,
`intervalPeriod`, `interval`, `valuesMap`, `reportPayloadDescriptor`, `clientCredentialRequest`,
the query parameters of each search) and the enumerations (`report-payloads`, `units`,
`reading-types`, `ven-resource-attributes`). The checks are this project's own code.

Stricter than the document in two ways, on purpose, so a VEN's mistakes show: a property the
schema does not define is a violation (the document lets a VTN ignore it), and enumerated strings
(payload types, units, reading types) of what a VEN sends must be from the enumerations (the
document also allows private strings). A report's units must fit its payload type (a DEMAND in
KWH is wrong). Events, which the test's BL posts, may carry private units as the document allows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

type Check = Callable[[Any, str, list[str]], None]

_OBJECT_ID = re.compile(r"[a-zA-Z0-9_-]{1,128}")
_DURATION = re.compile(
    r"-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+[DW])?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
)
UNITS = (
    "KWH", "THERMS", "GHG", "VOLTS", "AMPS", "CELSIUS", "FAHRENHEIT", "PERCENT", "KW", "KVAH",
    "KVARH", "KVA", "KVAR",
)  # fmt: skip
READING_TYPES = (
    "DIRECT_READ", "ESTIMATED", "SUMMED", "MEAN", "PEAK", "FORECAST", "AVERAGE", "NORMAL",
    "ERROR",
)  # fmt: skip
OPERATING_STATES = (
    "NORMAL", "ERROR", "IDLE_NORMAL", "RUNNING_NORMAL", "RUNNING_CURTAILED",
    "RUNNING_HEIGHTENED", "IDLE_CURTAILED", "SGD_ERROR_CONDITION", "IDLE_HEIGHTENED",
    "IDLE_OPTED_OUT", "RUNNING_OPTED_OUT", "AGGREGATED_REPORT",
)  # fmt: skip
OBJECT_TYPES = ("PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE")
OPERATIONS = ("READ", "CREATE", "UPDATE", "DELETE")
POWER, ENERGY = ("KW",), ("KWH",)


def _single_number(minimum: float | None = None) -> Check:
    def check(values: Any, path: str, errors: list[str]) -> None:
        if not isinstance(values, list) or len(values) != 1:
            errors.append(f"{path}: exactly one value expected")
            return
        v = values[0]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            errors.append(f"{path}[0]: a number expected")
        elif minimum is not None and v < minimum:
            errors.append(f"{path}[0]: below {minimum}")

    return check


def _single_enum(choices: tuple[str, ...]) -> Check:
    def check(values: Any, path: str, errors: list[str]) -> None:
        if not isinstance(values, list) or len(values) != 1 or values[0] not in choices:
            errors.append(f"{path}: one of {choices} expected")

    return check


def _simple_level(values: Any, path: str, errors: list[str]) -> None:
    if not isinstance(values, list) or len(values) != 1:
        errors.append(f"{path}: one value expected")
    elif isinstance(values[0], bool) or values[0] not in (0, 1, 2, 3):
        errors.append(f"{path}: 0, 1, 2 or 3 expected")


# Report payload types: the shape of their values, and the units they may carry (None: none).
REPORT_PAYLOADS: dict[str, tuple[Check, tuple[str, ...] | None]] = {
    "READING": (_single_number(), None),
    "USAGE": (_single_number(0), ENERGY),
    "DEMAND": (_single_number(0), POWER),
    "BASELINE": (_single_number(), POWER + ENERGY),
    "DELTA_USAGE": (_single_number(), ENERGY),
    "OPERATING_STATE": (_single_enum(OPERATING_STATES), ()),
    "UP_REGULATION_AVAILABLE": (_single_number(), POWER),
    "DOWN_REGULATION_AVAILABLE": (_single_number(), POWER),
    "LOAD_SHED_DELTA_AVAILABLE": (_single_number(), POWER),
    "SIMPLE_LEVEL": (_simple_level, ()),
    "DATA_QUALITY": (_single_enum(("OK", "MISSING", "ESTIMATED", "BAD")), ()),
}


def _numbers(values: Any, path: str, errors: list[str]) -> None:
    if not isinstance(values, list) or not values:
        errors.append(f"{path}: numbers expected")
        return
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            errors.append(f"{path}: numbers expected")
            return


def _alert(values: Any, path: str, errors: list[str]) -> None:
    ok = isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)
    if not ok or not 1 <= len(values[0]) <= 128:
        errors.append(f"{path}: one text of 1-128 characters expected")


# Event payload types this VTN accepts from its BL, with the shape of their values.
EVENT_PAYLOADS: dict[str, Check] = {
    "SIMPLE": _simple_level,
    "PRICE": _numbers,
    "DISPATCH_SETPOINT": _single_number(0),
    "DISPATCH_SETPOINT_RELATIVE": _single_number(),
    "IMPORT_CAPACITY_LIMIT": _single_number(0),
    "EXPORT_CAPACITY_LIMIT": _single_number(0),
    "ALERT_GRID_EMERGENCY": _alert,
}


# --- building blocks ---------------------------------------------------------------------------


def string(
    lo: int = 0, hi: int = 100_000, *, pattern: re.Pattern[str] | None = None,
    enum: tuple[str, ...] | None = None, nullable: bool = False,
) -> Check:  # fmt: skip
    """A string of bounded length, optionally matching a pattern or from an enumeration."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str):
            errors.append(f"{path}: a string expected, got {type(value).__name__}")
        elif not lo <= len(value) <= hi:
            errors.append(f"{path}: length {len(value)} outside {lo}-{hi}")
        elif pattern is not None and not pattern.fullmatch(value):
            errors.append(f"{path}: {value!r} does not match its pattern")
        elif enum is not None and value not in enum:
            errors.append(f"{path}: {value!r} is not one of {enum}")

    return check


def integer(lo: int | None = None, hi: int | None = None, *, nullable: bool = False) -> Check:
    """An integer (not a boolean) within bounds."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if value is None and nullable:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: an integer expected")
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            errors.append(f"{path}: {value} out of range")

    return check


def boolean(value: Any, path: str, errors: list[str]) -> None:
    """A boolean."""
    if not isinstance(value, bool):
        errors.append(f"{path}: a boolean expected")


def number(*, nullable: bool = False) -> Check:
    """A finite number."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if value is None and nullable:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            errors.append(f"{path}: a finite number expected")

    return check


def date_time(value: Any, path: str, errors: list[str]) -> None:
    """An RFC 3339 date-time with a zone."""
    if not isinstance(value, str) or len(value) > 64:
        errors.append(f"{path}: a date-time expected")
        return
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{path}: {value!r} is not a date-time")
        return
    if moment.tzinfo is None and not value.startswith("0001-01-01"):
        errors.append(f"{path}: {value!r} has no time zone")


duration = string(1, 64, pattern=_DURATION)
object_id = string(1, 128, pattern=_OBJECT_ID)
name128 = string(1, 128)


def array(item: Check, *, lo: int = 0, nullable: bool = False) -> Check:
    """A list whose items pass `item`."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, list):
            errors.append(f"{path}: a list expected")
            return
        if len(value) < lo:
            errors.append(f"{path}: at least {lo} items expected")
        for index, v in enumerate(value):
            item(v, f"{path}[{index}]", errors)

    return check


def obj(
    fields: Mapping[str, Check], required: tuple[str, ...] = (), *, nullable: bool = False
) -> Check:
    """An object with exactly these properties (unknown ones are violations)."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, dict):
            errors.append(f"{path}: an object expected")
            return
        for key in required:
            if key not in value:
                errors.append(f"{path}: {key} is required")
        for key, v in value.items():
            field = fields.get(key)
            if field is None:
                errors.append(f"{path}: unknown property {key!r}")
            else:
                field(v, f"{path}.{key}", errors)

    return check


interval_period = obj({"start": date_time, "duration": duration, "randomizeStart": duration})
values_map = obj({"type": name128, "values": array(lambda v, p, e: None)}, ("type", "values"))
interval = obj(
    {"id": integer(), "intervalPeriod": interval_period, "payloads": array(values_map)},
    ("id", "payloads"),
)
report_payload_descriptor = obj(
    {
        "objectType": string(enum=("REPORT_PAYLOAD_DESCRIPTOR",)),
        "payloadType": string(1, 128, enum=tuple(REPORT_PAYLOADS)),
        "readingType": string(1, 128, enum=READING_TYPES, nullable=True),
        "units": string(1, 128, enum=UNITS, nullable=True),
        "accuracy": number(nullable=True),
        "confidence": integer(0, 100, nullable=True),
    },
    ("objectType", "payloadType"),
)
# The BL's events may carry private units (Definition, "Private Strings"): a VEN must judge them.
event_payload_descriptor = obj(
    {
        "objectType": string(enum=("EVENT_PAYLOAD_DESCRIPTOR",)),
        "payloadType": string(1, 128),
        "units": string(1, 128, nullable=True),
        "currency": string(nullable=True),
    },
    ("objectType", "payloadType"),
)
report_descriptor = obj(
    {
        "payloadType": string(1, 128),
        "readingType": string(1, 128, nullable=True),
        "units": string(1, 128, enum=UNITS, nullable=True),
        "targets": array(name128, nullable=True),
        "aggregate": boolean,
        "startInterval": integer(),
        "numIntervals": integer(),
        "historical": boolean,
        "frequency": integer(),
        "repeat": integer(),
        "reportIntervals": string(enum=("INTERVALS", "SUB_INTERVALS", "OPEN_INTERVALS")),
    },
    ("payloadType",),
)
_attribute = obj({"type": name128, "values": array(lambda v, p, e: None)}, ("type", "values"))

VEN_REQUEST = obj(
    {
        "objectType": string(enum=("VEN_VEN_REQUEST",)),
        "venName": name128,
        "attributes": array(_attribute, nullable=True),
    },
    ("objectType", "venName"),
)
RESOURCE_REQUEST = obj(
    {
        "objectType": string(enum=("VEN_RESOURCE_REQUEST",)),
        "resourceName": name128,
        "venID": object_id,
        "attributes": array(_attribute, nullable=True),
    },
    ("objectType", "resourceName", "venID"),
)
SUBSCRIPTION_REQUEST = obj(
    {
        "clientName": name128,
        "programID": object_id,
        "objectOperations": array(
            obj(
                {
                    "objects": array(string(enum=OBJECT_TYPES)),
                    "operations": array(string(enum=OPERATIONS)),
                    "callbackUrl": string(2, 8000),
                    "bearerToken": string(nullable=True),
                },
                ("objects", "operations", "callbackUrl"),
            )
        ),
        "targets": array(name128, nullable=True),
    },
    ("clientName", "objectOperations"),
)
REPORT_REQUEST = obj(
    {
        "eventID": object_id,
        "clientName": name128,
        "reportName": string(nullable=True),
        "payloadDescriptors": array(report_payload_descriptor, nullable=True),
        "resources": array(
            obj(
                {
                    "resourceName": name128,
                    "intervalPeriod": interval_period,
                    "intervals": array(interval),
                },
                ("resourceName", "intervals"),
            )
        ),
    },
    ("eventID", "clientName", "resources"),
)
EVENT_REQUEST = obj(
    {
        "programID": object_id,
        "eventName": string(nullable=True),
        "duration": duration,
        "priority": integer(0, nullable=True),
        "targets": array(name128, nullable=True),
        "reportDescriptors": array(report_descriptor, nullable=True),
        "payloadDescriptors": array(event_payload_descriptor, nullable=True),
        "intervalPeriod": interval_period,
        "intervals": array(interval),
    },
    ("programID",),
)


def check_report(body: Any) -> list[str]:
    """A reportRequest: its schema, then its payloads against the enumerations and units."""
    errors: list[str] = []
    REPORT_REQUEST(body, "report", errors)
    if errors:
        return errors
    declared: dict[str, dict[str, Any]] = {}
    for d in body.get("payloadDescriptors") or []:
        declared[d["payloadType"]] = d
        allowed = REPORT_PAYLOADS[d["payloadType"]][1]
        units = d.get("units")
        if units is not None and allowed is not None and units not in allowed:
            errors.append(f"report: {d['payloadType']} in {units} (expected {allowed or 'none'})")
    for r, resource in enumerate(body["resources"]):
        for i, item in enumerate(resource["intervals"]):
            for p, payload in enumerate(item["payloads"]):
                path = f"report.resources[{r}].intervals[{i}].payloads[{p}]"
                spec = REPORT_PAYLOADS.get(payload["type"])
                if spec is None:
                    errors.append(f"{path}: {payload['type']!r} is not a report payload type")
                    continue
                spec[0](payload["values"], f"{path}.values", errors)
                allowed = spec[1]
                if allowed and payload["type"] not in declared:
                    errors.append(f"{path}: {payload['type']} has no descriptor giving its units")
    return errors


def check_attributes(body: Mapping[str, Any]) -> list[str]:
    """Known VEN/resource attributes must have their enumerated shape."""
    errors: list[str] = []
    for index, a in enumerate(body.get("attributes") or []):
        if a["type"] == "MAX_POWER_CONSUMPTION":
            _single_number(0)(a["values"], f"attributes[{index}].values", errors)
    return errors


def check_event(body: Any) -> list[str]:
    """An eventRequest the test's BL posts: schema and payload shapes."""
    errors: list[str] = []
    EVENT_REQUEST(body, "event", errors)
    if errors:
        return errors
    for i, item in enumerate(body.get("intervals") or []):
        for p, payload in enumerate(item["payloads"]):
            check = EVENT_PAYLOADS.get(payload["type"])
            if check is not None:
                check(payload["values"], f"event.intervals[{i}].payloads[{p}].values", errors)
    return errors


# Query parameters each search accepts (anything else, or a bad value, is a violation).
_INT = re.compile(r"\d{1,9}")


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def _given(value: str) -> bool:
    return bool(value)


_ID = _matches(_OBJECT_ID)
_COUNT = _matches(_INT)
QUERY: dict[str, dict[str, Callable[[str], bool]]] = {
    "/programs": {"targets": _given, "skip": _COUNT, "limit": _COUNT},
    "/events": {
        "programID": _ID,
        "targets": _given,
        "skip": _COUNT,
        "limit": _COUNT,
        "active": lambda v: v in ("true", "false"),
    },
    "/vens": {"venName": _given, "targets": _given, "skip": _COUNT, "limit": _COUNT},
    "/resources": {
        "resourceName": _given,
        "venID": _ID,
        "targets": _given,
        "skip": _COUNT,
        "limit": _COUNT,
    },
    "/subscriptions": {
        "programID": _ID,
        "clientName": _given,
        "objects": lambda v: v in OBJECT_TYPES,
        "skip": _COUNT,
        "limit": _COUNT,
    },
    "/reports": {
        "programID": _ID,
        "eventID": _ID,
        "clientName": _given,
        "skip": _COUNT,
        "limit": _COUNT,
    },
}


def check_query(path: str, query: Mapping[str, str]) -> list[str]:
    """A search's query parameters; `limit` is at most 50."""
    allowed = QUERY.get(path, {})
    errors = []
    for key, value in query.items():
        check = allowed.get(key)
        if check is None:
            errors.append(f"GET {path}: unknown query parameter {key!r}")
        elif not check(value):
            errors.append(f"GET {path}: bad {key}={value!r}")
        elif key == "limit" and int(value) > 50:
            errors.append(f"GET {path}: limit {value} above 50")
    return errors
