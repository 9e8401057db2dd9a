"""The VEN at its edges, against the test VTN over loopback: notifications it must refuse or
ignore, objects it cannot use, a subscription the VTN will not take, reports the VTN refuses or
cannot take now, and shortfalls the site's own rules cause."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web

from custom_components.net_stabilization.core.fleet import FunctionClock
from custom_components.net_stabilization.core.openadr import Connection, FleetReading, Ven
from custom_components.net_stabilization.core.openadr.client import VtnRefused
from custom_components.net_stabilization.core.openadr.ven import (
    _calls_back,
    _object_id,
    new_callback_token,
)
from simulator.vtn import StoredObject

from .conftest import RecordingFleet, Site, event

pytestmark = pytest.mark.usefixtures("socket_enabled")


def notification(operation: str, obj: object) -> dict[str, object]:
    return {"objectType": "EVENT", "operation": operation, "object": obj}


async def held_event(site: Site, kind: str = "DISPATCH_SETPOINT", value: float = 4.0) -> str:
    """An event in force that the VEN holds."""
    event_id = site.vtn.create_event(event(site.program_id, site.at(0), kind, value))
    await site.ven.step()
    assert event_id in site.ven.events
    return event_id


# ----------------------------------------------------------------------------- notifications


async def test_a_notification_that_is_not_an_event_is_taken_and_ignored(site: Site) -> None:
    await site.ven.step()
    assert await site.ven.notified({"objectType": "PROGRAM", "operation": "UPDATE"}, None) == 200
    assert await site.ven.notified(["EVENT"], None) == 400
    assert site.ven.events == {}


async def test_a_notification_of_an_unusable_event_is_refused(site: Site) -> None:
    await site.ven.step()
    broken = {"id": "e9", "programID": site.program_id, "priority": -1}
    assert await site.ven.notified(notification("CREATE", broken), None) == 400
    assert await site.ven.notified(notification("CREATE", "e9"), None) == 400
    assert site.ven.events == {}


async def test_a_notification_of_another_programs_event_is_ignored(site: Site) -> None:
    await site.ven.step()
    other = event("someone-else", site.at(0), "DISPATCH_SETPOINT", 4.0)
    assert await site.ven.notified(notification("CREATE", {**other, "id": "e9"}), None) == 200
    assert site.ven.events == {}


async def test_a_deleted_event_is_cancelled_at_once_and_a_second_delete_changes_nothing(
    site: Site,
) -> None:
    event_id = await held_event(site)
    site.clock.advance(5)
    await site.ven.step()
    assert site.fleet.dispatches[-1].target_w == 4000.0
    body = site.vtn.state.events[event_id].body
    assert await site.ven.notified(notification("DELETE", body), None) == 200
    assert event_id not in site.ven.events
    assert [p.dispatch_id for p in site.ven.performances] == [event_id]  # its measure closed
    assert await site.ven.notified(notification("DELETE", body), None) == 200
    site.clock.advance(5)
    await site.ven.step()
    assert site.fleet.dispatches[-1].target_w is None


async def test_a_notification_of_an_unknown_operation_changes_nothing(site: Site) -> None:
    await site.ven.step()
    body = {**event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 4.0), "id": "e9"}
    assert await site.ven.notified(notification("READ", body), None) == 200
    assert site.ven.events == {}


# ----------------------------------------------------------------------------- objects


async def test_an_event_the_ven_cannot_read_is_skipped_and_the_others_followed(
    site: Site,
) -> None:
    site.vtn.state.events["event-bad"] = StoredObject(
        {"id": "event-bad", "programID": site.program_id, "priority": "high"}
    )
    good = site.vtn.create_event(event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 3.0))
    await site.ven.step()
    assert list(site.ven.events) == [good]
    assert site.fleet.dispatches[-1].target_w == 3000.0


async def test_a_program_the_ven_cannot_read_is_passed_over(site: Site) -> None:
    site.vtn.state.programs["program-bad"] = StoredObject({"id": "program-bad", "programName": 42})
    await site.ven.step()
    assert site.ven.connection is Connection.CONNECTED
    assert list(site.ven.programs) == [site.program_id]


async def test_an_event_over_before_it_was_seen_is_not_taken(site: Site) -> None:
    site.vtn.create_event(
        event(site.program_id, site.at(-3600), "DISPATCH_SETPOINT", 3.0, duration="PT10M")
    )
    await site.ven.step()
    assert site.ven.events == {}
    assert site.fleet.dispatches == []


async def test_a_vtn_that_names_no_token_endpoint_is_an_error(site: Site) -> None:
    async def server_info(request: web.Request) -> web.Response:
        return web.json_response({"tokenURL": ""})

    app = web.Application()
    app.router.add_get("/auth/server", server_info)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            config = replace(site.ven.config, vtn_url=f"http://127.0.0.1:{port}", token_url="")
            clock = FunctionClock(site.clock.now, site.clock.wall)
            ven = Ven(config, session, RecordingFleet(), clock)
            await ven.step()
    finally:
        await runner.cleanup()
    assert ven.connection is Connection.ERROR
    assert "no token endpoint" in ven.problem


# ----------------------------------------------------------------------------- subscriptions


async def test_a_subscription_the_vtn_refuses_leaves_the_ven_polling(site: Site) -> None:
    # Nothing listens there: the VTN's echo check of the callback fails and it refuses.
    site.ven.config = replace(site.ven.config, callback_url="http://127.0.0.1:1/hook")
    await site.ven.step()
    assert site.ven.connection is Connection.CONNECTED
    assert site.ven.subscribed  # not asked again at every poll
    assert site.vtn.state.subscriptions == {}
    event_id = site.vtn.create_event(event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 2.0))
    await site.run(30)
    assert event_id in site.ven.events


async def test_a_subscription_the_vtn_holds_already_is_not_made_again(site: Site) -> None:
    hook = "http://127.0.0.1:1/hook"
    site.vtn.state.subscriptions["subscription-1"] = StoredObject(
        {
            "id": "subscription-1",
            "clientName": "site-1",
            "programID": site.program_id,
            "clientID": "ven-client",
            "objectOperations": [{"objects": ["EVENT"], "callbackUrl": hook}],
        },
        "ven-client",
    )
    site.ven.config = replace(site.ven.config, callback_url=hook)
    await site.ven.step()
    assert site.ven.subscribed
    assert list(site.vtn.state.subscriptions) == ["subscription-1"]
    assert ("POST", "/subscriptions") not in site.vtn.requests


# ----------------------------------------------------------------------------- reports


async def test_a_report_the_vtn_refuses_is_counted_and_not_sent_again(site: Site) -> None:
    event_id = site.vtn.create_event(
        event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 25.0)  # beyond rated power
    )
    await site.ven.step()
    site.clock.advance(10)  # the event starts; the next poll is 20 s away
    site.vtn.fail_next(1, status=400)
    await site.ven.step()
    counts = site.ven.events[event_id].counts
    assert (counts.refused, counts.waiting, counts.sent) == (1, 0, 0)
    assert site.ven.outbox.waiting == []
    assert site.ven.connection is Connection.CONNECTED  # one refused report is no lost VTN


async def test_a_report_the_vtn_cannot_take_now_waits_for_the_next_poll(site: Site) -> None:
    event_id = site.vtn.create_event(event(site.program_id, site.at(10), "DISPATCH_SETPOINT", 25.0))
    await site.ven.step()
    site.clock.advance(10)
    site.vtn.fail_next(1, status=503)
    await site.ven.step()
    assert site.ven.connection is Connection.UNREACHABLE
    assert site.ven.events[event_id].counts.waiting == 1
    site.clock.advance(5)
    await site.ven.step()  # no poll yet: still waiting, not tried
    assert site.ven.events[event_id].counts.waiting == 1
    await site.run(30)
    assert site.ven.events[event_id].counts.sent == 1
    assert len(site.vtn.reports_for(event_id)) == 1


# ----------------------------------------------------------------------------- shortfalls


async def test_a_site_override_holding_the_fleet_is_a_shortfall(site: Site) -> None:
    site.fleet.source = "override"
    event_id = await held_event(site)
    assert site.ven.events[event_id].shortfall == "the site's override holds the fleet"


async def test_a_site_limit_capping_the_fleet_is_a_shortfall(site: Site) -> None:
    site.fleet.source = "limit"
    event_id = await held_event(site)
    assert site.ven.events[event_id].shortfall == "a site limit caps the fleet"


class EmptyFleet(RecordingFleet):
    """A fleet whose miners are all gone."""

    def reading(self) -> FleetReading:
        return replace(super().reading(), miners=0, available=False, target_kw=None)


async def test_a_fleet_without_miners_cannot_meet_an_event(site: Site) -> None:
    empty = EmptyFleet()
    site.ven._fleet = empty
    event_id = await held_event(site)
    assert site.ven.events[event_id].shortfall == "no miner is available"
    await site.ven.step()
    reports = site.vtn.reports_for(event_id)
    assert len(reports) == 1  # said once, not at every step
    payloads = {
        p["type"]: p["values"] for p in reports[0]["resources"][0]["intervals"][0]["payloads"]
    }
    assert payloads["DEMAND"] == [0.0]


async def test_a_setpoint_under_an_import_limit_is_met_up_to_the_limit(site: Site) -> None:
    body = event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 25.0)
    body["intervals"][0]["payloads"].append({"type": "IMPORT_CAPACITY_LIMIT", "values": [6.0]})
    event_id = site.vtn.create_event(body)
    await site.ven.step()
    assert site.fleet.dispatches[-1].cap_w == 6000.0
    report = site.vtn.reports_for(event_id)[0]
    payloads = {p["type"]: p["values"] for p in report["resources"][0]["intervals"][0]["payloads"]}
    assert payloads["DEMAND"] == [6.0]


# ----------------------------------------------------------------------------- helpers


def test_a_callback_token_is_fresh_and_url_safe() -> None:
    first, second = new_callback_token(), new_callback_token()
    assert first != second
    assert len(first) >= 32
    assert all(c.isalnum() or c in "-_" for c in first)


@pytest.mark.parametrize("obj", [None, [], {"id": 7}, {"id": ""}, {"id": "x" * 129}])
def test_an_object_without_a_usable_id_is_refused(obj: object) -> None:
    with pytest.raises(VtnRefused, match="no usable id"):
        _object_id(obj, "ven")


@pytest.mark.parametrize(
    "subscription",
    [
        {},
        {"objectOperations": "EVENT"},
        {"objectOperations": ["EVENT"]},
        {"objectOperations": [{"callbackUrl": "http://elsewhere/hook"}]},
        {"objectOperations": [{"callbackUrl": "http://here/hook", "bearerToken": "old"}]},
        {"objectOperations": [{"callbackUrl": "http://here/hook", "objects": ["REPORT"]}]},
    ],
)
def test_only_a_subscription_to_this_callback_with_this_token_counts(
    subscription: dict[str, object],
) -> None:
    assert not _calls_back(subscription, "http://here/hook", "new")
    here = {"callbackUrl": "http://here/hook", "objects": ["EVENT"]}
    assert _calls_back({"objectOperations": [here]}, "http://here/hook", "new")  # token hidden
    shown = {**here, "bearerToken": "new"}
    assert _calls_back({"objectOperations": [shown]}, "http://here/hook", "new")
