"""The test VTN holds VENs to OpenADR 3.1.1: unknown properties, wrong enumerations, units that
do not fit a payload, bad paging and expired tokens are refused and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulator import ManualClock
from simulator.vtn import TestVtn
from simulator.vtn_schema import check_report


@pytest.fixture
async def vtn() -> AsyncIterator[TestVtn]:
    server = TestVtn(ManualClock(), token_lifetime_s=60)
    await server.start()
    yield server
    await server.close()


async def token(session: aiohttp.ClientSession, vtn: TestVtn) -> str:
    form = {"grant_type": "client_credentials", "client_id": "ven-client"}
    async with session.post(vtn.token_url, data={**form, "client_secret": "ven-secret"}) as r:
        assert r.status == 200
        return str((await r.json())["access_token"])


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventID": "event-1",
        "clientName": "site-1",
        "payloadDescriptors": [
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND", "units": "KW"}
        ],
        "resources": [
            {
                "resourceName": "AGGREGATED_REPORT",
                "intervals": [{"id": 0, "payloads": [{"type": "DEMAND", "values": [1.5]}]}],
            }
        ],
    }
    body.update(changes)
    return body


def test_a_good_report_passes() -> None:
    assert check_report(report()) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (report(programID="p-1"), "unknown property 'programID'"),
        (report(eventID="bad id!"), "pattern"),
        (
            report(
                payloadDescriptors=[
                    {
                        "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                        "payloadType": "DEMAND",
                        "units": "KWH",
                    }
                ]
            ),
            "DEMAND in KWH",
        ),
        (
            report(
                payloadDescriptors=[
                    {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND"},
                ],
                resources=[
                    {
                        "resourceName": "x",
                        "intervals": [
                            {
                                "id": 0,
                                "payloads": [{"type": "OPERATING_STATE", "values": ["ASLEEP"]}],
                            }
                        ],
                    }
                ],
            ),
            "one of",
        ),
        (
            report(
                payloadDescriptors=[{"payloadType": "DEMAND", "units": "KW"}],
            ),
            "objectType is required",
        ),
        (
            report(
                resources=[
                    {
                        "resourceName": "x",
                        "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [-1]}]}],
                    }
                ]
            ),
            "below 0",
        ),
    ],
)
def test_what_the_schema_refuses(body: dict[str, Any], fragment: str) -> None:
    errors = check_report(body)
    assert any(fragment in e for e in errors), errors


@pytest.mark.usefixtures("socket_enabled")
async def test_violations_are_answered_400_and_counted(vtn: TestVtn) -> None:
    async with aiohttp.ClientSession() as session:
        bearer = {"Authorization": f"Bearer {await token(session, vtn)}"}
        async with session.get(f"{vtn.base_url}/events?limit=100", headers=bearer) as r:
            assert r.status == 400
        async with session.get(f"{vtn.base_url}/events?color=red", headers=bearer) as r:
            assert r.status == 400
        body = {"objectType": "VEN_VEN_REQUEST", "venName": "v", "secret": 1}
        async with session.post(f"{vtn.base_url}/vens", json=body, headers=bearer) as r:
            assert r.status == 400
            assert (await r.json())["status"] == 400
    assert len(vtn.violations) == 3


@pytest.mark.usefixtures("socket_enabled")
async def test_a_token_expires(vtn: TestVtn) -> None:
    async with aiohttp.ClientSession() as session:
        bearer = {"Authorization": f"Bearer {await token(session, vtn)}"}
        async with session.get(f"{vtn.base_url}/programs", headers=bearer) as r:
            assert r.status == 200
        assert isinstance(vtn.clock, ManualClock)
        vtn.clock.advance(61)
        async with session.get(f"{vtn.base_url}/programs", headers=bearer) as r:
            assert r.status == 401
        form = {"grant_type": "client_credentials", "client_id": "ven-client"}
        async with session.post(vtn.token_url, data={**form, "client_secret": "no"}) as r:
            assert r.status == 401
