"""Reports the VTN asks for in an event's `reportDescriptors`: when each is due and its body.

Timing (User Guide, "Report Management"): `startInterval` and `numIntervals` pick a run of the
event's intervals (-1: from the first, all of them); `frequency` cuts that run into reports of
so many intervals (-1: one report for the run, 0: one per interval); a historical report is due
when its last interval ends, a forecast (`historical` false) when its first begins. Reports due
at the same moment for one event go in one report object.

Values, for the fleet as one resource (`AGGREGATED_REPORT` when `aggregate` is asked):
DEMAND mean kW over the interval; USAGE kWh; BASELINE the event's baseline in kW (see
`core.mv`); DELTA_USAGE kWh drawn less the baseline's (negative: shed); OPERATING_STATE the
fleet's state; UP_REGULATION_AVAILABLE and LOAD_SHED_DELTA_AVAILABLE the kW the fleet could shed
now (its draw above standby, as `FleetReading.standby_kw` knows it per miner),
DOWN_REGULATION_AVAILABLE the kW it could add (rated less draw).
A forecast gives the target for DEMAND and the baseline for USAGE's power. Other payload types
are not reported (the program's other VENs may know them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..mv import PowerHistory
from .model import Event, ReportDescriptor
from .schedule import Slot
from .timing import format_datetime, format_duration

AGGREGATED = "AGGREGATED_REPORT"
KNOWN = (
    "DEMAND",
    "USAGE",
    "BASELINE",
    "DELTA_USAGE",
    "OPERATING_STATE",
    "UP_REGULATION_AVAILABLE",
    "DOWN_REGULATION_AVAILABLE",
    "LOAD_SHED_DELTA_AVAILABLE",
)
_UNITS = {
    "DEMAND": "KW",
    "USAGE": "KWH",
    "BASELINE": "KW",
    "DELTA_USAGE": "KWH",
    "UP_REGULATION_AVAILABLE": "KW",
    "DOWN_REGULATION_AVAILABLE": "KW",
    "LOAD_SHED_DELTA_AVAILABLE": "KW",
}


@dataclass(frozen=True, slots=True)
class FleetState:
    """The fleet as a report describes it now."""

    power_kw: float
    rated_kw: float
    standby_kw: float
    operating_state: str  # an OPERATING_STATE enumeration


@dataclass(frozen=True, slots=True)
class DueReport:
    """A report to send at `due_at` (Unix s) over some of an event's intervals."""

    event_id: str
    due_at: float
    slots: tuple[Slot, ...]
    descriptors: tuple[ReportDescriptor, ...]
    forecast: bool


@dataclass(slots=True)
class ReportCounts:
    """Reports of one event so far."""

    sent: int = 0
    late: int = 0
    waiting: int = 0
    refused: int = 0


def plan_reports(event: Event, slots: tuple[Slot, ...]) -> list[DueReport]:
    """Every report the event asks for, by due time."""
    grouped: dict[tuple[float, bool, tuple[int, ...]], list[ReportDescriptor]] = {}
    chunks_of: dict[tuple[float, bool, tuple[int, ...]], tuple[Slot, ...]] = {}
    count = len(slots)
    for d in event.report_descriptors:
        if d.payload_type not in KNOWN or count == 0:
            continue
        first = 0 if d.start_interval < 0 else min(d.start_interval, count - 1)
        chosen = slots[first:] if d.num_intervals < 0 else slots[first : first + d.num_intervals]
        if not chosen:
            continue
        size = len(chosen) if d.frequency < 0 else max(1, d.frequency)
        for index in range(0, len(chosen), size):
            chunk = chosen[index : index + size]
            due = chunk[0].start if not d.historical else chunk[-1].end
            if not math.isfinite(due):
                continue  # an interval without end is not reported on (no end to report at)
            key = (due, not d.historical, tuple(s.interval.id for s in chunk))
            grouped.setdefault(key, []).append(d)
            chunks_of[key] = chunk
    return sorted(
        (
            DueReport(event.id, key[0], chunks_of[key], tuple(ds), key[1])
            for key, ds in grouped.items()
        ),
        key=lambda r: r.due_at,
    )


def _interval_values(
    d: ReportDescriptor,
    slot: Slot,
    *,
    history: PowerHistory,
    baseline_kw: float | None,
    target_kw: float | None,
    state: FleetState,
    forecast: bool,
    now: float,
) -> list[object] | None:
    kind = d.payload_type
    end = min(slot.end, now)
    hours = max(0.0, end - slot.start) / 3600.0
    if kind == "OPERATING_STATE":
        return [state.operating_state]
    if kind in ("UP_REGULATION_AVAILABLE", "LOAD_SHED_DELTA_AVAILABLE"):
        return [round(max(0.0, state.power_kw - state.standby_kw), 3)]
    if kind == "DOWN_REGULATION_AVAILABLE":
        return [round(max(0.0, state.rated_kw - state.power_kw), 3)]
    if kind == "BASELINE":
        return None if baseline_kw is None else [round(baseline_kw, 3)]
    if forecast:
        expected = target_kw if target_kw is not None else state.power_kw
        full = (slot.end - slot.start) / 3600.0 if math.isfinite(slot.end) else 0.0
        if kind == "DEMAND":
            return [round(max(0.0, expected), 3)]
        if kind == "USAGE":
            return [round(max(0.0, expected) * full, 4)]
        if kind == "DELTA_USAGE" and baseline_kw is not None:
            return [round((expected - baseline_kw) * full, 4)]
        return None
    energy = history.energy_kwh(slot.start, end)
    if energy is None:
        return None
    if kind == "DEMAND":
        mean = energy / hours if hours > 0 else (history.latest or 0.0)
        return [round(max(0.0, mean), 3)]
    if kind == "USAGE":
        return [round(max(0.0, energy), 4)]
    if kind == "DELTA_USAGE" and baseline_kw is not None:
        return [round(energy - baseline_kw * hours, 4)]
    return None


def report_body(
    due: DueReport,
    *,
    client_name: str,
    resource_name: str,
    history: PowerHistory,
    baseline_kw: float | None,
    target_kw: float | None,
    state: FleetState,
    now: float,
) -> dict[str, object] | None:
    """The report object (a `reportRequest`); None when there is nothing to say."""
    descriptors: list[dict[str, object]] = []
    for d in _unique(due.descriptors):
        descriptor: dict[str, object] = {
            "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
            "payloadType": d.payload_type,
        }
        if d.payload_type in _UNITS:
            descriptor["units"] = _UNITS[d.payload_type]
        if due.forecast and d.payload_type in ("DEMAND", "USAGE", "DELTA_USAGE"):
            descriptor["readingType"] = "FORECAST"
        elif d.payload_type == "DEMAND":
            descriptor["readingType"] = "MEAN"
        elif d.payload_type in ("USAGE", "DELTA_USAGE"):
            descriptor["readingType"] = "SUMMED"
        elif d.payload_type == "BASELINE":
            descriptor["readingType"] = "ESTIMATED"
        descriptors.append(descriptor)
    resources: dict[str, list[dict[str, object]]] = {}
    for d in _unique(due.descriptors):
        name = AGGREGATED if d.aggregate else resource_name
        intervals = resources.setdefault(name, [])
        for slot in due.slots:
            values = _interval_values(
                d,
                slot,
                history=history,
                baseline_kw=baseline_kw,
                target_kw=target_kw,
                state=state,
                forecast=due.forecast,
                now=now,
            )
            if values is None:
                continue
            entry = next((i for i in intervals if i["id"] == slot.interval.id), None)
            if entry is None:
                entry = {
                    "id": slot.interval.id,
                    "intervalPeriod": _period(slot),
                    "payloads": [],
                }
                intervals.append(entry)
            payloads = entry["payloads"]
            assert isinstance(payloads, list)
            payloads.append({"type": d.payload_type, "values": values})
    body_resources = [
        {"resourceName": name, "intervals": intervals}
        for name, intervals in resources.items()
        if intervals
    ]
    if not body_resources:
        return None
    return {
        "eventID": due.event_id,
        "clientName": client_name,
        "reportName": f"{'forecast' if due.forecast else 'report'} {due.event_id}",
        "payloadDescriptors": descriptors,
        "resources": body_resources,
    }


def shortfall_body(
    event_id: str,
    interval_id: int,
    *,
    client_name: str,
    asked_kw: float | None,
    deliverable_kw: float,
    state: FleetState,
    reason: str,
    now: float,
) -> dict[str, object]:
    """An ad hoc report that the fleet cannot meet an event: it is opted out, and what it can
    draw instead (OpenADR 3 has no opt-out object; the report says it)."""
    opted = "RUNNING_OPTED_OUT" if state.power_kw > state.standby_kw + 0.01 else "IDLE_OPTED_OUT"
    payloads: list[dict[str, object]] = [
        {"type": "OPERATING_STATE", "values": [opted]},
        {"type": "DEMAND", "values": [round(max(0.0, deliverable_kw), 3)]},
    ]
    name = f"shortfall: {reason}"
    if asked_kw is not None:
        name += f" (asked {asked_kw:g} kW)"
    return {
        "eventID": event_id,
        "clientName": client_name,
        "reportName": name[:200],
        "payloadDescriptors": [
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "OPERATING_STATE"},
            {
                "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                "payloadType": "DEMAND",
                "readingType": "FORECAST",
                "units": "KW",
            },
        ],
        "resources": [
            {
                "resourceName": AGGREGATED,
                "intervals": [
                    {
                        "id": interval_id,
                        "intervalPeriod": {
                            "start": format_datetime(now),
                            "duration": "PT0S",
                        },
                        "payloads": payloads,
                    }
                ],
            }
        ],
    }


def _period(slot: Slot) -> dict[str, str]:
    return {
        "start": format_datetime(slot.start),
        "duration": format_duration(slot.end - slot.start),
    }


def _unique(descriptors: Iterable[ReportDescriptor]) -> list[ReportDescriptor]:
    seen: set[tuple[str, bool]] = set()
    kept = []
    for d in descriptors:
        key = (d.payload_type, d.aggregate)
        if key not in seen:
            seen.add(key)
            kept.append(d)
    return kept


@dataclass(slots=True)
class Outbox:
    """Reports waiting to be sent, oldest first; kept while the VTN cannot be reached."""

    waiting: list[tuple[str, float, dict[str, object]]] = field(default_factory=list)
    limit: int = 500  # beyond this the oldest reports are dropped

    def put(self, event_id: str, due_at: float, body: dict[str, object]) -> bool:
        """Queue a report; False when an older one had to go to make room."""
        self.waiting.append((event_id, due_at, body))
        if len(self.waiting) > self.limit:
            del self.waiting[0]
            return False
        return True
