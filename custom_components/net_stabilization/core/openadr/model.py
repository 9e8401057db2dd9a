"""The VTN's objects as the VEN uses them, read defensively from JSON.

Only what the VEN acts on is kept. Anything malformed in one event (a bad duration, a payload of
the wrong shape) makes that event unusable, never the whole answer: it is skipped and named, so
the VEN can say it could not act on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .timing import TimingError, parse_datetime, parse_duration

MAX_INTERVALS = 2000  # more intervals than this in one event are refused


class ObjectError(ValueError):
    """A VTN object the VEN cannot use."""


@dataclass(frozen=True, slots=True)
class Period:
    """An intervalPeriod: start (Unix s; None: "now" or "after the previous"), duration (s;
    None: not given) and the bound of a random shift of the start (s)."""

    start: float | None = None
    duration_s: float | None = None
    randomize_s: float | None = None


@dataclass(frozen=True, slots=True)
class Payload:
    """A valuesMap: a type and its values."""

    type: str
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """An event interval: its id, its own period (if any) and its payloads."""

    id: int
    period: Period | None
    payloads: tuple[Payload, ...]

    def payload(self, kind: str) -> Payload | None:
        """The payload of one type, if the interval has it."""
        return next((p for p in self.payloads if p.type == kind), None)


@dataclass(frozen=True, slots=True)
class PayloadDescriptor:
    """What an event payload's numbers mean."""

    payload_type: str
    units: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class ReportDescriptor:
    """A report request (defaults as in the specification)."""

    payload_type: str
    reading_type: str | None = None
    units: str | None = None
    aggregate: bool = False
    start_interval: int = -1
    num_intervals: int = -1
    historical: bool = True
    frequency: int = -1
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class Program:
    """A program: its id, name and the payload descriptors its events inherit."""

    id: str
    name: str
    payload_descriptors: tuple[PayloadDescriptor, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """An event as the VEN acts on it."""

    id: str
    program_id: str
    name: str = ""
    priority: int | None = None  # lower is higher; None is the lowest
    modified: float = 0.0  # Unix s of its last modification (ties between equal priorities)
    period: Period | None = None
    duration_s: float | None = None  # event.duration: truncates the intervals' span
    intervals: tuple[Interval, ...] = ()
    payload_descriptors: tuple[PayloadDescriptor, ...] = ()
    report_descriptors: tuple[ReportDescriptor, ...] = field(default=())

    def descriptor(self, payload_type: str) -> PayloadDescriptor | None:
        """The descriptor of one payload type, if the event has one."""
        return next((d for d in self.payload_descriptors if d.payload_type == payload_type), None)


def _text(obj: dict[str, Any], key: str, *, required: bool = False, limit: int = 256) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ObjectError(f"{key} is not a usable string")
    return value


def _int(obj: dict[str, Any], key: str, default: int) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ObjectError(f"{key} is not an integer")
    return value


def _bool(obj: dict[str, Any], key: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ObjectError(f"{key} is not a boolean")
    return value


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ObjectError(f"{what} is not an object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_INTERVALS:
        raise ObjectError(f"{what} is not a list of usable length")
    return value


def parse_period(value: object) -> Period | None:
    """An intervalPeriod, or None when absent."""
    if value is None:
        return None
    obj = _object(value, "intervalPeriod")
    try:
        start = parse_datetime(obj["start"]) if obj.get("start") is not None else None
        duration = parse_duration(obj["duration"]) if obj.get("duration") is not None else None
        randomize = (
            abs(parse_duration(obj["randomizeStart"]))
            if obj.get("randomizeStart") is not None
            else None
        )
    except TimingError as err:
        raise ObjectError(str(err)) from err
    if duration is not None and duration < 0:
        raise ObjectError("a negative duration")
    return Period(start, duration, randomize)


def _values(value: object) -> tuple[object, ...]:
    items = _list(value, "values")
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise ObjectError("a value that is not finite")
        if not isinstance(item, int | float | str | bool | dict):
            raise ObjectError("a value of an unknown kind")
    return tuple(items)


def parse_payload(value: object) -> Payload:
    """A valuesMap."""
    obj = _object(value, "payload")
    return Payload(_text(obj, "type", required=True, limit=128), _values(obj.get("values")))


def parse_payload_descriptor(value: object) -> PayloadDescriptor | None:
    """An event payload descriptor; None for a report one (programs list both kinds)."""
    obj = _object(value, "payloadDescriptor")
    if obj.get("objectType") == "REPORT_PAYLOAD_DESCRIPTOR":
        return None
    return PayloadDescriptor(
        _text(obj, "payloadType", required=True, limit=128),
        _text(obj, "units", limit=128) or None,
        _text(obj, "currency", limit=128) or None,
    )


def parse_report_descriptor(value: object) -> ReportDescriptor:
    """A reportDescriptor."""
    obj = _object(value, "reportDescriptor")
    return ReportDescriptor(
        payload_type=_text(obj, "payloadType", required=True, limit=128),
        reading_type=_text(obj, "readingType", limit=128) or None,
        units=_text(obj, "units", limit=128) or None,
        aggregate=_bool(obj, "aggregate", False),
        start_interval=_int(obj, "startInterval", -1),
        num_intervals=_int(obj, "numIntervals", -1),
        historical=_bool(obj, "historical", True),
        frequency=_int(obj, "frequency", -1),
        repeat=_int(obj, "repeat", 1),
    )


def parse_program(value: object) -> Program:
    """A program object."""
    obj = _object(value, "program")
    descriptors = tuple(
        d
        for d in (parse_payload_descriptor(v) for v in _list(obj.get("payloadDescriptors"), "pd"))
        if d is not None
    )
    return Program(
        _text(obj, "id", required=True, limit=128),
        _text(obj, "programName", required=True, limit=128),
        descriptors,
    )


def parse_event(value: object, program: Program | None = None) -> Event:
    """An event object; its program's payload descriptors fill in the ones it lacks."""
    obj = _object(value, "event")
    intervals = []
    for raw in _list(obj.get("intervals"), "intervals"):
        item = _object(raw, "interval")
        interval_id = item.get("id")
        if isinstance(interval_id, bool) or not isinstance(interval_id, int):
            raise ObjectError("an interval without an integer id")
        payloads = tuple(parse_payload(p) for p in _list(item.get("payloads"), "payloads"))
        intervals.append(Interval(interval_id, parse_period(item.get("intervalPeriod")), payloads))
    own = tuple(
        d
        for d in (parse_payload_descriptor(v) for v in _list(obj.get("payloadDescriptors"), "pd"))
        if d is not None
    )
    inherited = tuple(
        d
        for d in (program.payload_descriptors if program else ())
        if all(o.payload_type != d.payload_type for o in own)
    )
    priority = obj.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or priority < 0
    ):
        raise ObjectError("priority is not a non-negative integer")
    try:
        modified = parse_datetime(obj.get("modificationDateTime") or "0001-01-01") or 0.0
        duration = parse_duration(obj["duration"]) if obj.get("duration") is not None else None
    except TimingError as err:
        raise ObjectError(str(err)) from err
    return Event(
        id=_text(obj, "id", required=True, limit=128),
        program_id=_text(obj, "programID", required=True, limit=128),
        name=_text(obj, "eventName", limit=256),
        priority=priority,
        modified=modified,
        period=parse_period(obj.get("intervalPeriod")),
        duration_s=duration,
        intervals=tuple(intervals),
        payload_descriptors=own + inherited,
        report_descriptors=tuple(
            parse_report_descriptor(v) for v in _list(obj.get("reportDescriptors"), "rd")
        ),
    )
