"""Reports at their edges: descriptors the fleet cannot answer are skipped, intervals without an
end are not reported on, forecasts give the target, a report with nothing to say is not sent,
and the outbox drops the oldest report when full."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.mv import PowerHistory
from custom_components.net_stabilization.core.openadr.model import (
    Event,
    Interval,
    ReportDescriptor,
)
from custom_components.net_stabilization.core.openadr.reports import (
    AGGREGATED,
    FleetState,
    Outbox,
    plan_reports,
    report_body,
)
from custom_components.net_stabilization.core.openadr.schedule import Slot

HOUR = 3600.0
STATE = FleetState(power_kw=6.0, rated_kw=10.0, standby_kw=0.5, operating_state="NORMAL")


def slots(count: int, *, open_end: bool = False) -> tuple[Slot, ...]:
    out = [Slot(Interval(n, None, ()), n * HOUR, (n + 1) * HOUR) for n in range(count)]
    if open_end:
        last = out[-1]
        out[-1] = Slot(last.interval, last.start, math.inf)
    return tuple(out)


def event(*descriptors: ReportDescriptor) -> Event:
    return Event("e1", "p1", report_descriptors=descriptors)


def history(kw: float = 4.0) -> PowerHistory:
    h = PowerHistory(keep_s=10 * HOUR)
    h.add(0.0, kw)
    h.add(3 * HOUR, kw)
    return h


def body(descriptors: tuple[ReportDescriptor, ...], **changes: object) -> dict[str, object] | None:
    due = plan_reports(event(*descriptors), slots(2))[0]
    arguments: dict[str, object] = {
        "client_name": "site-1",
        "resource_name": "fleet",
        "history": history(),
        "baseline_kw": None,
        "target_kw": None,
        "state": STATE,
        "now": 2 * HOUR,
    }
    arguments.update(changes)
    return report_body(due, **arguments)  # type: ignore[arg-type]


def values(report: dict[str, object] | None, kind: str) -> list[object]:
    assert report is not None
    resources = report["resources"]
    assert isinstance(resources, list)
    return [
        p["values"]
        for r in resources
        for i in r["intervals"]
        for p in i["payloads"]
        if p["type"] == kind
    ]


# ----------------------------------------------------------------------------- planning


def test_unknown_payload_types_and_eventless_intervals_ask_for_no_report() -> None:
    assert plan_reports(event(ReportDescriptor("CO2_EMISSIONS")), slots(2)) == []
    assert plan_reports(event(ReportDescriptor("USAGE")), ()) == []
    assert plan_reports(event(ReportDescriptor("USAGE", num_intervals=0)), slots(2)) == []


def test_an_interval_without_an_end_is_not_reported_on() -> None:
    due = plan_reports(event(ReportDescriptor("USAGE", frequency=0)), slots(2, open_end=True))
    assert [[s.interval.id for s in d.slots] for d in due] == [[0]]
    # A forecast is due at the interval's start, which it has.
    forecast = ReportDescriptor("DEMAND", frequency=0, historical=False)
    due = plan_reports(event(forecast), slots(2, open_end=True))
    assert [d.due_at for d in due] == [0.0, HOUR]


# ----------------------------------------------------------------------------- bodies


def test_a_forecast_gives_the_target_and_its_energy_over_the_interval() -> None:
    descriptors = tuple(
        ReportDescriptor(kind, historical=False) for kind in ("DEMAND", "USAGE", "DELTA_USAGE")
    )
    report = body(descriptors, target_kw=3.0, baseline_kw=5.0)
    assert values(report, "DEMAND") == [[3.0], [3.0]]
    assert values(report, "USAGE") == [[3.0], [3.0]]
    assert values(report, "DELTA_USAGE") == [[-2.0], [-2.0]]
    assert report is not None
    assert {d["payloadType"]: d.get("readingType") for d in report["payloadDescriptors"]} == {  # type: ignore[union-attr]
        "DEMAND": "FORECAST",
        "USAGE": "FORECAST",
        "DELTA_USAGE": "FORECAST",
    }


def test_a_forecast_without_a_target_expects_the_draw_now_and_skips_what_it_cannot_tell() -> None:
    descriptors = (
        ReportDescriptor("DEMAND", historical=False),
        ReportDescriptor("DELTA_USAGE", historical=False),
    )
    report = body(descriptors)
    assert values(report, "DEMAND") == [[6.0], [6.0]]
    assert values(report, "DELTA_USAGE") == []  # no baseline: nothing to subtract


def test_a_report_of_a_baseline_names_it_estimated_and_a_duplicate_is_asked_once() -> None:
    descriptors = (
        ReportDescriptor("BASELINE"),
        ReportDescriptor("BASELINE"),
        ReportDescriptor("BASELINE", aggregate=True),
    )
    report = body(descriptors, baseline_kw=5.0)
    assert report is not None
    assert [d["readingType"] for d in report["payloadDescriptors"]] == ["ESTIMATED", "ESTIMATED"]  # type: ignore[index,union-attr]
    names = [r["resourceName"] for r in report["resources"]]  # type: ignore[union-attr]
    assert names == ["fleet", AGGREGATED]
    assert values(report, "BASELINE") == [[5.0], [5.0], [5.0], [5.0]]


def test_a_report_with_nothing_to_say_is_not_sent() -> None:
    # No baseline, and no reading at all: neither values nor energy are known.
    assert body((ReportDescriptor("BASELINE"),)) is None
    assert body((ReportDescriptor("DEMAND"),), history=PowerHistory()) is None
    assert body((ReportDescriptor("DELTA_USAGE"),)) is None


def test_a_measured_demand_of_an_interval_of_no_length_is_the_latest_reading() -> None:
    report = body((ReportDescriptor("DEMAND", frequency=0),), now=0.0)
    assert values(report, "DEMAND") == [[4.0]]


# ----------------------------------------------------------------------------- outbox


def test_a_full_outbox_drops_the_oldest_report() -> None:
    outbox = Outbox(limit=2)
    assert outbox.put("e1", 1.0, {"n": 1})
    assert outbox.put("e1", 2.0, {"n": 2})
    assert not outbox.put("e2", 3.0, {"n": 3})
    assert [due for _, due, _ in outbox.waiting] == [2.0, 3.0]


@pytest.mark.parametrize("kind", ["UP_REGULATION_AVAILABLE", "DOWN_REGULATION_AVAILABLE"])
def test_what_the_fleet_could_shed_or_add_is_reported_now(kind: str) -> None:
    expected = 5.5 if kind == "UP_REGULATION_AVAILABLE" else 4.0
    assert values(body((ReportDescriptor(kind),)), kind) == [[expected], [expected]]
