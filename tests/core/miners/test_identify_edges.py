"""Identification at its edges (stand-ins on loopback): an Antminer whose version reply names
no firmware and whose stats name no type is taken for Vnish's REST firmware by its web root,
and without that firmware's public info no login goes out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from custom_components.net_stabilization.core.miners.endpoint import MinerEndpoint, Timeouts
from custom_components.net_stabilization.core.miners.identify import ProbeOutcome, identify_miner

from .standins import ApiStandIn, WebStandIn, text_route

pytestmark = pytest.mark.usefixtures("socket_enabled")

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5)
VERSION = {
    "STATUS": [{"STATUS": "S", "Code": 22, "Msg": "CGMiner versions"}],
    "VERSION": [{"CGMiner": "4.11.1", "API": "3.7", "Type": "Antminer S19"}],
    "id": 1,
}
# Entries without a Type (and one that is not even an object): no firmware named.
STATS = {"STATUS": [{"STATUS": "S"}], "STATS": [["odd"], {"Elapsed": 60}], "id": 1}
ANTHILL_ROOT = "<!DOCTYPE html><html><head><title>AnthillOS</title></head><body></body></html>"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def test_a_web_root_of_anthillos_names_the_firmware_and_no_login_goes_out(
    session: aiohttp.ClientSession,
) -> None:
    async def api_handler(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        reply = {"version": VERSION, "stats": STATS}.get(command, {"STATUS": [{"STATUS": "E"}]})
        return json.dumps(reply).encode() + b"\0"

    seen: list[str] = []

    async def root(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return await text_route(ANTHILL_ROOT)(request)

    api = ApiStandIn(api_handler)
    page = WebStandIn({"/": root}, password=None)
    await api.start()
    await page.start()
    try:
        found = await identify_miner(
            MinerEndpoint("127.0.0.1", api.port, page.port), session, probe_timeouts=FAST
        )
    finally:
        await api.stop()
        await page.stop()
    assert found.outcome is ProbeOutcome.UNSUPPORTED
    assert found.detail.startswith("Antminer S19 (Vnish)")
    assert "no login sent" in found.detail
    assert found.logins == ()
    assert seen and not any(seen)  # the web root was asked without credentials
