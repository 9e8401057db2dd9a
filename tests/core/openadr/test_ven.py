"""The VEN against the test VTN over loopback: enrolment, events honoured on its own clock,
precedence of overlapping events, reports, and a VTN that fails or goes away mid-event."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.net_stabilization.core.openadr import Connection

from .conftest import Site, event

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_the_ven_enrols_and_finds_its_program(site: Site) -> None:
    await site.ven.step()
    assert site.ven.connection is Connection.CONNECTED
    assert site.ven.ven_id in site.vtn.state.vens
    assert site.ven.resource_id in site.vtn.state.resources
    assert list(site.ven.programs) == [site.program_id]
    resource = site.vtn.state.resources[site.ven.resource_id].body
    assert resource["attributes"] == [{"type": "MAX_POWER_CONSUMPTION", "values": [10.0]}]
    assert site.vtn.violations == []


async def test_a_second_start_finds_the_ven_it_registered(site: Site) -> None:
    await site.ven.step()
    first = site.ven.ven_id
    site.ven._registered = False  # as after a restart
    site.clock.advance(60)
    await site.ven.step()
    assert site.ven.ven_id == first
    assert len(site.vtn.state.vens) == 1
    assert len(site.vtn.state.resources) == 1


async def test_a_missing_program_is_named(site: Site) -> None:
    site.ven.config = replace(site.ven.config, programs=("x",))
    await site.ven.step()
    assert site.ven.connection is Connection.ERROR
    assert "x" in site.ven.problem
    site.vtn.create_program("x")  # enrolled later: found at the next poll
    await site.run(30)
    assert site.ven.connection is Connection.CONNECTED
    assert [p.name for p in site.ven.programs.values()] == ["x"]


async def test_bad_credentials_are_auth_failed(site: Site) -> None:
    site.vtn.clients["ven-client"] = "other"
    await site.ven.step()
    assert site.ven.connection is Connection.AUTH_FAILED


async def test_a_setpoint_holds_for_its_interval_and_is_released_at_its_end(site: Site) -> None:
    site.vtn.create_event(event(site.program_id, site.at(60), "DISPATCH_SETPOINT", 4.0))
    await site.run(55)
    assert site.fleet.dispatches == []  # not yet started
    await site.run(30)
    assert site.fleet.dispatches[-1].target_w == 4000.0
    await site.run(30 * 60)
    assert site.fleet.dispatches[-1].target_w is None
    assert site.fleet.dispatches[-1].cap_w is None


async def test_a_vtn_gone_mid_event_does_not_leave_a_stale_target(site: Site) -> None:
    site.vtn.create_event(event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 3.0))
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w == 3000.0
    await site.vtn.stop()
    await site.run(10 * 60)
    assert site.ven.connection is Connection.UNREACHABLE
    assert site.fleet.dispatches[-1].target_w == 3000.0  # the event still holds
    await site.run(25 * 60)
    assert site.fleet.dispatches[-1].target_w is None  # its end came: released


async def test_reports_wait_while_the_vtn_is_away_and_go_when_it_is_back(site: Site) -> None:
    body = event(
        site.program_id,
        site.at(10),
        "DISPATCH_SETPOINT",
        3.0,
        duration="PT5M",
        reportDescriptors=[
            {"payloadType": "DEMAND", "frequency": 1},
            {"payloadType": "USAGE", "frequency": 1},
            {"payloadType": "BASELINE", "frequency": 1},
            {"payloadType": "DELTA_USAGE", "frequency": 1},
        ],
    )
    body["intervals"] = [
        {"id": i, "payloads": [{"type": "DISPATCH_SETPOINT", "values": [3.0]}]} for i in range(3)
    ]
    event_id = site.vtn.create_event(body)
    await site.run(60)
    await site.vtn.stop()
    await site.run(11 * 60)
    assert site.vtn.reports_for(event_id) == []
    assert len(site.ven.outbox.waiting) == 2
    await site.vtn.start()
    await site.run(6 * 60)
    reports = site.vtn.reports_for(event_id)
    assert len(reports) == 3
    assert site.ven.events[event_id].counts.late == 2
    assert site.vtn.violations == []
    interval = reports[0]["resources"][0]["intervals"][0]
    kinds = {p["type"]: p["values"][0] for p in interval["payloads"]}
    assert kinds["DEMAND"] == pytest.approx(3.0, abs=0.3)
    assert kinds["BASELINE"] == pytest.approx(2.0)
    assert kinds["USAGE"] == pytest.approx(3.0 * 5 / 60, abs=0.03)
    assert kinds["DELTA_USAGE"] == pytest.approx(1.0 * 5 / 60, abs=0.03)


async def test_overlapping_events_follow_the_higher_priority(site: Site) -> None:
    site.vtn.create_event(
        event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 7.0, duration="PT1H", priority=5)
    )
    site.vtn.create_event(
        event(site.program_id, site.at(600), "DISPATCH_SETPOINT", 2.0, duration="PT10M", priority=1)
    )
    await site.run(120)
    assert site.fleet.dispatches[-1].target_w == 7000.0
    await site.run(10 * 60)
    assert site.fleet.dispatches[-1].target_w == 2000.0
    await site.run(15 * 60)
    assert site.fleet.dispatches[-1].target_w == 7000.0


async def test_an_import_limit_and_an_emergency_are_caps(site: Site) -> None:
    site.fleet.other_kw = 1.5
    site.vtn.create_event(event(site.program_id, site.at(10), "IMPORT_CAPACITY_LIMIT", 5.0))
    await site.run(60)
    assert site.fleet.dispatches[-1].cap_w == 3500.0  # the rest of the site draws 1.5 kW
    assert site.fleet.dispatches[-1].target_w is None
    site.vtn.create_event(event(site.program_id, site.at(0), "ALERT_GRID_EMERGENCY", "storm"))
    await site.run(60)
    assert site.fleet.dispatches[-1].cap_w == 0.0


async def test_simple_levels_map_to_shares_of_rated_power(site: Site) -> None:
    site.vtn.create_event(event(site.program_id, site.at(10), "SIMPLE", 1))
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w == 5000.0  # level 1: half of 10 kW


async def test_an_unmeetable_setpoint_is_answered_with_a_shortfall_report(site: Site) -> None:
    event_id = site.vtn.create_event(event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 25.0))
    await site.run(60)
    reports = site.vtn.reports_for(event_id)
    assert len(reports) == 1
    assert reports[0]["reportName"].startswith("shortfall")
    interval = reports[0]["resources"][0]["intervals"][0]
    payloads = {p["type"]: p["values"] for p in interval["payloads"]}
    assert payloads["OPERATING_STATE"][0].endswith("_OPTED_OUT")
    assert payloads["DEMAND"] == [10.0]
    assert site.vtn.violations == []


async def test_an_event_in_unknown_units_is_answered_not_followed(site: Site) -> None:
    body = event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 4.0)
    body["payloadDescriptors"][0]["units"] = "KVA"
    event_id = site.vtn.create_event(body)
    await site.run(60)
    assert all(d.target_w is None for d in site.fleet.dispatches)
    assert "KVA" in site.vtn.reports_for(event_id)[0]["reportName"]


async def test_tokens_are_renewed_before_they_expire(site: Site) -> None:
    await site.run(60 * 60, step_s=30)
    # 600 s tokens renewed at 75 %: an hour takes about eight, and no request was refused.
    assert 7 <= site.vtn.tokens_issued <= 9
    assert site.ven.connection is Connection.CONNECTED


async def test_5xx_and_timeouts_are_unreachable_and_recovered(site: Site) -> None:
    await site.ven.step()
    site.vtn.fail_next(3, 503)
    await site.run(30)
    assert site.ven.connection is Connection.UNREACHABLE
    site.vtn.hang_next(1)
    await site.run(30)
    assert site.ven.connection is Connection.UNREACHABLE
    await site.run(60)
    assert site.ven.connection is Connection.CONNECTED


async def test_a_deleted_event_is_cancelled(site: Site) -> None:
    event_id = site.vtn.create_event(event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 4.0))
    await site.run(60)
    site.vtn.delete_event(event_id)
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w is None


def _per_interval(site: Site, start_s: float, intervals: int) -> dict[str, object]:
    body = event(
        site.program_id,
        site.at(start_s),
        "DISPATCH_SETPOINT",
        3.0,
        duration="PT5M",
        reportDescriptors=[{"payloadType": "DEMAND", "frequency": 1}],
    )
    body["intervals"] = [
        {"id": i, "payloads": [{"type": "DISPATCH_SETPOINT", "values": [3.0]}]}
        for i in range(intervals)
    ]
    return body


async def test_an_ended_event_is_reported_once_even_while_the_vtn_still_lists_it(
    site: Site,
) -> None:
    event_id = site.vtn.create_event(_per_interval(site, 10, 2))
    await site.run(3 * 3600, step_s=30)
    assert len(site.vtn.reports_for(event_id)) == 2


async def test_an_event_seen_late_reports_only_its_last_past_interval(site: Site) -> None:
    await site.run(15 * 60)  # the VEN has measured the fleet for a while
    event_id = site.vtn.create_event(_per_interval(site, -12 * 60, 4))  # began 12 min ago
    await site.run(30)
    reports = site.vtn.reports_for(event_id)
    assert [r["resources"][0]["intervals"][0]["id"] for r in reports] == [1]
    await site.run(10 * 60)
    assert len(site.vtn.reports_for(event_id)) == 3


@pytest.mark.parametrize(
    ("vtn_lost", "after_end"),
    [("strategy", None), ("hold", 3000.0), ("standby", 0.0)],
)
async def test_an_event_ending_while_the_vtn_is_away_leaves_what_is_configured(
    site: Site, vtn_lost: str, after_end: float | None
) -> None:
    site.ven.config = replace(site.ven.config, vtn_lost=vtn_lost)
    site.vtn.create_event(event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 3.0))
    await site.run(60)
    await site.vtn.stop()
    await site.run(35 * 60)
    assert site.fleet.dispatches[-1].target_w == after_end
    await site.vtn.start()
    await site.run(60)
    assert site.fleet.dispatches[-1].target_w is None  # the VTN answers: the fallback ends
    assert site.ven.fallback is None


async def test_an_event_of_now_holds_at_the_turn_it_is_fetched_in(site: Site) -> None:
    site.vtn.create_event(
        event(site.program_id, "0001-01-01T00:00:00Z", "DISPATCH_SETPOINT", 4.0, duration="PT1H")
    )
    site.ven._clock = _Ticking(site.ven._clock)  # time moves while the VTN answers
    await site.ven.step()
    assert site.fleet.dispatches[-1].target_w == 4000.0


async def test_an_error_page_from_the_vtn_is_a_failure_not_a_parse_error(site: Site) -> None:
    await site.ven.step()
    site.vtn.fail_next(1, 502, page=True)
    site.ven.poll_soon()
    await site.ven.step()
    assert site.ven.connection is Connection.UNREACHABLE
    assert "502" in site.ven.problem


class _Ticking:
    """A clock a millisecond further at every look."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._looks = 0

    def monotonic(self) -> float:
        return self._inner.monotonic()  # type: ignore[attr-defined,no-any-return]

    def now(self) -> object:
        from datetime import timedelta  # noqa: PLC0415

        self._looks += 1
        return self._inner.now() + timedelta(milliseconds=self._looks)  # type: ignore[attr-defined]


async def test_flexibility_and_state_are_reported_as_the_fleet_stands(site: Site) -> None:
    body = event(
        site.program_id,
        site.at(10),
        "DISPATCH_SETPOINT",
        3.0,
        duration="PT5M",
        reportDescriptors=[
            {"payloadType": kind, "frequency": 1, "aggregate": True}
            for kind in (
                "UP_REGULATION_AVAILABLE",
                "DOWN_REGULATION_AVAILABLE",
                "LOAD_SHED_DELTA_AVAILABLE",
                "OPERATING_STATE",
            )
        ],
    )
    event_id = site.vtn.create_event(body)
    await site.run(6 * 60)
    (report,) = site.vtn.reports_for(event_id)
    interval = report["resources"][0]["intervals"][0]
    values = {p["type"]: p["values"][0] for p in interval["payloads"]}
    assert report["resources"][0]["resourceName"] == "AGGREGATED_REPORT"
    # The fleet draws 3 kW of 10 kW rated, 0.2 kW asleep: 2.8 kW to shed, 7 kW to add.
    assert values["UP_REGULATION_AVAILABLE"] == pytest.approx(2.8)
    assert values["LOAD_SHED_DELTA_AVAILABLE"] == pytest.approx(2.8)
    assert values["DOWN_REGULATION_AVAILABLE"] == pytest.approx(7.0)
    # As it ran through the interval: above its 2 kW baseline.
    assert values["OPERATING_STATE"] == "RUNNING_HEIGHTENED"
    assert site.vtn.violations == []


async def test_a_refused_request_is_an_error_until_the_next_poll_gets_through(
    site: Site,
) -> None:
    await site.ven.step()
    site.vtn.fail_next(1, 403)
    await site.run(30)
    assert site.ven.connection is Connection.ERROR
    await site.run(30)
    assert site.ven.connection is Connection.CONNECTED
    assert site.ven.problem == ""
