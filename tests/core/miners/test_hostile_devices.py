"""Devices on the miner network are not to be trusted: what they send is bounded before it is
parsed, parsers stay linear, a login is answered only to the miners' own realm."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from custom_components.net_stabilization.core.discovery import parse_host
from custom_components.net_stabilization.core.miners.base import (
    MinerProtocolError,
    MinerUnsupportedError,
)
from custom_components.net_stabilization.core.miners.cgminer import number, parse_reply
from custom_components.net_stabilization.core.miners.digest import parse_challenge
from custom_components.net_stabilization.core.miners.endpoint import Credentials, MinerEndpoint
from custom_components.net_stabilization.core.miners.firmware import (
    MAX_TYPE_CHARS,
    FirmwareKind,
    classify_type,
    classify_version_reply,
    normalize_mac,
)
from custom_components.net_stabilization.core.miners.http_exchange import MAX_REPLY_BYTES
from custom_components.net_stabilization.core.miners.identify import identify_miner
from custom_components.net_stabilization.core.miners.vnish_web import (
    ANTMINER_REALM,
    VnishWebClient,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


def test_a_type_string_padded_with_spaces_is_looked_at_only_to_its_bound() -> None:
    # Quadratic before: "Antminer S9" + 32k spaces + "x" held the event loop for seconds.
    info = classify_type("Antminer S9" + " " * 32_000 + "x")
    assert info.kind is FirmwareKind.UNSUPPORTED
    assert len(info.model) <= MAX_TYPE_CHARS
    huge = classify_type("A" * 10_000_000)
    assert huge.kind is FirmwareKind.UNSUPPORTED and len(huge.model) <= MAX_TYPE_CHARS


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Antminer S9 (vnish 3.9.0)", FirmwareKind.VNISH_S9),
        ("  Antminer   S9j   (vnish  3.9.2) ", FirmwareKind.VNISH_S9),
        ("Antminer S9(vnish 3.9.0)", FirmwareKind.VNISH_S9),
        ("Antminer S9i", FirmwareKind.STOCK_S9),
        ("Antminer S9 ((vnish 3.9.0))", FirmwareKind.UNSUPPORTED),
        ("Antminer S19 (vnish 1.2)", FirmwareKind.UNSUPPORTED),
    ],
)
def test_type_strings_are_still_recognised(text: str, kind: FirmwareKind) -> None:
    assert classify_type(text).kind is kind


def test_version_replies_with_oversized_fields_are_bounded() -> None:
    reply = {"VERSION": [{"BOSminer": "x", "Type": "y" * 100_000}]}
    assert len(classify_version_reply(reply).model) <= MAX_TYPE_CHARS
    other = {"VERSION": [{f"k{i}" * 50: "v" * 10_000 for i in range(100)}]}
    assert len(classify_version_reply(other).firmware) < 1000


def test_deeply_nested_and_oversized_numbers_are_protocol_errors_not_crashes() -> None:
    with pytest.raises(MinerProtocolError):
        parse_reply(b"[" * 200_000)
    assert number(10**400) is None
    assert number("1" * 500) is None
    assert normalize_mac("AA:" * 10_000) is None


@pytest.mark.parametrize(
    "entry", ["10.0.0.1/24", "miner?x=1", "miner#a", "user@miner", "a b", "-x", "x" * 300]
)
def test_host_entries_that_would_become_urls_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_host(entry)


@pytest.mark.parametrize("entry", ["10.0.0.5", "miner-7.lan:4028:8080", "[fd00::5]:4028"])
def test_host_entries_that_are_hosts_are_taken(entry: str) -> None:
    assert parse_host(entry).host


def test_digest_challenges_are_parsed_in_one_pass() -> None:
    challenge = parse_challenge(
        'Digest realm="antMiner Configuration", nonce="abc", qop="auth,auth-int", opaque="o"'
    )
    assert challenge is not None and challenge.realm == ANTMINER_REALM and challenge.qop == "auth"
    assert parse_challenge('Digest realm="x", nonce="n", algorithm=SHA-256') is None
    assert parse_challenge("Basic realm=x") is None
    assert parse_challenge('Digest realm="' + "\\" * 100_000) is None  # oversized


class Device:
    """A web server on the miner network that is not a miner (or is a hostile one)."""

    def __init__(self, handler: web.Handler) -> None:
        self.authorizations: list[str] = []
        self.handler = handler

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" in request.headers:
            self.authorizations.append(request.headers["Authorization"])
        return await self.handler(request)


@asynccontextmanager
async def _serve(device: Device) -> AsyncIterator[tuple[TestServer, aiohttp.ClientSession]]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", device)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield server, session
    await server.close()


async def test_the_miners_login_is_never_sent_to_another_realm() -> None:
    async def nas(request: web.Request) -> web.Response:
        return web.Response(
            status=401, headers={"WWW-Authenticate": 'Digest realm="Some NAS", nonce="n1"'}
        )

    device = Device(nas)
    async with _serve(device) as (server, session):
        client = VnishWebClient(session, "127.0.0.1", server.port, Credentials("root", "secret"))
        with pytest.raises(MinerUnsupportedError, match="realm"):
            await client.get_json("get_system_info.cgi")
    assert device.authorizations == []


async def test_a_reply_of_any_size_is_read_only_to_the_bound() -> None:
    sent = 0

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()  # chunked: no length announced
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(2_400):  # 150 MiB if it were all read
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass
        return response

    async with _serve(Device(flood)) as (server, session):
        client = VnishWebClient(session, "127.0.0.1", server.port, Credentials())
        with pytest.raises(MinerProtocolError, match="larger than"):
            await client.get_text("get_miner_status.cgi")
    assert sent < 100 * MAX_REPLY_BYTES


async def _identify_web(handler: web.Handler) -> str:
    """What `identify_miner` makes of a web server answering like `handler` (no API)."""
    async with _serve(Device(handler)) as (server, session):
        result = await identify_miner(
            MinerEndpoint("127.0.0.1", 1, server.port), session, credentials=Credentials()
        )
    return f"{result.outcome.value}: {result.detail}"


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"minertype": "Antminer S9 (vnish 3.9.0)"}, "unsupported: 127.0.0.1: get_system_info"),
        (
            {"minertype": "Antminer S19 (vnish 1.2.6)", "macaddr": "02:00:00:00:00:01"},
            "unsupported: Antminer S19",
        ),
        (
            {"macaddr": "02:00:00:00:00:01"},
            "unsupported: 127.0.0.1: get_system_info.cgi has no minertype",
        ),
    ],
    ids=["no-mac", "not-an-s9", "no-type"],
)
async def test_devices_that_do_not_identify_as_a_supported_miner_are_not_adopted(
    info: dict[str, str], expected: str
) -> None:
    async def system_info(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(info))

    assert (await _identify_web(system_info)).startswith(expected)


async def test_a_device_that_accepts_and_never_answers_is_described_so() -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    outcome = await _identify_web(hang)
    assert outcome.startswith("unsupported") and "did not answer" in outcome
