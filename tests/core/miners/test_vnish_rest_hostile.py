"""The Vnish REST driver against small stand-ins that answer what no simulated miner would:
oversized bodies, odd tokens, error pages, deep nesting and odd shapes. Nothing but
`MinerError` may come out, and nothing is read past its bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from custom_components.net_stabilization.core.miners.base import (
    MinerAuthError,
    MinerError,
    MinerProtocolError,
    MinerUnsupportedError,
    MiningState,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials, Timeouts
from custom_components.net_stabilization.core.miners.http_exchange import MAX_REPLY_BYTES
from custom_components.net_stabilization.core.miners.vnish_rest import VnishRestDriver
from custom_components.net_stabilization.core.miners.vnish_rest_client import VnishCommandError

FAST = Timeouts(connect_s=1.0, api_read_s=0.5, web_s=0.5, config_write_s=1.0, fire_and_forget_s=0.3)
type Reply = tuple[int, bytes]
type Routes = dict[str, Reply | Callable[[web.Request], Reply]]

TOKEN = {"token": "T0k3n"}
DROP = 0  # close the connection without answering
HANG = -1  # answer after the driver gave up
STREAM = -2  # an endless body in chunks, with no length announced


def js(value: Any, status: int = 200) -> Reply:
    return status, json.dumps(value).encode()


class StandIn:
    """Answers `/api/v1/<path>` from a table; records the Authorization headers it saw."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v1/")
        self.seen.append((path, request.headers.get("Authorization")))
        route = self.routes.get(path, (404, b""))
        status, body = route(request) if callable(route) else route
        if status == DROP and request.transport is not None:
            request.transport.close()
        if status == HANG:
            await asyncio.sleep(1.0)  # real time: the client's timeout is real
            status = 200
        if status == STREAM:
            stream = web.StreamResponse()
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for _ in range(64):  # 4 MiB unless the client stops reading first
                try:
                    await stream.write(b"[" + b" " * 65_535)
                except ConnectionError:
                    break
            return stream
        return web.Response(status=status, body=body, content_type="application/json")


@asynccontextmanager
async def serve(routes: Routes) -> AsyncIterator[tuple[VnishRestDriver, StandIn]]:
    stand_in = StandIn(routes)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stand_in.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield (
                VnishRestDriver(
                    "127.0.0.1",
                    session,
                    web_port=server.port,
                    credentials=Credentials(password="pw"),
                    timeouts=FAST,
                ),
                stand_in,
            )
    finally:
        await server.close()


async def test_an_oversized_reply_is_refused_at_its_bound() -> None:
    huge = b'{"miner": {"x": "' + b"a" * (MAX_REPLY_BYTES + 10) + b'"}}'
    async with serve({"unlock": js(TOKEN), "summary": (200, huge)}) as (driver, _):
        with pytest.raises(MinerProtocolError, match="refused"):
            await driver.read()


async def test_an_endless_reply_is_cut_at_its_bound() -> None:
    async with serve({"unlock": js(TOKEN), "info": (STREAM, b"")}) as (driver, _):
        with pytest.raises(MinerProtocolError, match="larger than"):
            await driver.identify()


async def test_an_unusable_host_name_is_a_miner_error() -> None:
    async with aiohttp.ClientSession() as session:
        driver = VnishRestDriver("bad host\n", session, timeouts=FAST)
        with pytest.raises(MinerError):
            await driver.identify()
        assert (await driver.read()).state is MiningState.OFFLINE


async def test_an_oversized_token_or_one_that_would_break_a_header_is_refused() -> None:
    for token in ("x" * 300, "a\r\nX-Evil: 1", "", 42, None, "tab\tbed", "ümlaut"):
        async with serve({"unlock": js({"token": token})}) as (driver, stand_in):
            with pytest.raises(MinerProtocolError, match="token"):
                await driver.read()
            assert [path for path, _ in stand_in.seen] == ["unlock"]


async def test_the_password_goes_only_to_unlock_and_the_token_as_bearer() -> None:
    seen_bodies: list[Any] = []

    def unlock(request: web.Request) -> Reply:
        seen_bodies.append(request.headers.get("Content-Type"))
        return js(TOKEN)

    routes: Routes = {"unlock": unlock, "mining/pause": (200, b"")}
    async with serve(routes) as (driver, stand_in):
        await driver.sleep()
    assert stand_in.seen == [("unlock", None), ("mining/pause", "Bearer T0k3n")]
    assert seen_bodies == ["application/json"]


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_password_is_an_auth_error(status: int) -> None:
    async with serve({"unlock": js({"err": "Wrong password"}, status)}) as (driver, _):
        with pytest.raises(MinerAuthError):
            await driver.identify()


async def test_a_token_refused_twice_is_an_auth_error_after_one_retry() -> None:
    routes: Routes = {"unlock": js(TOKEN), "summary": js({"err": "Unauthorized"}, 401)}
    async with serve(routes) as (driver, stand_in):
        with pytest.raises(MinerAuthError):
            await driver.read()
    assert [path for path, _ in stand_in.seen] == ["unlock", "summary", "unlock", "summary"]


async def test_an_error_page_a_refusal_and_a_missing_endpoint() -> None:
    routes: Routes = {
        "unlock": js(TOKEN),
        "summary": (500, b"<html><body>Internal error</body></html>"),
        "mining/pause": js({"err": "CGMiner err: " + "x" * 10_000}, 500),
        "mining/stop": js({"err": "busy"}, 200),  # a refusal with a 200 is still one
    }
    async with serve(routes) as (driver, _):
        with pytest.raises(MinerProtocolError, match="HTTP 500"):
            await driver.read()
        with pytest.raises(VnishCommandError) as refused:
            await driver.sleep()  # pause refused, then stop refused
        assert refused.value.message == "busy"
        with pytest.raises(MinerUnsupportedError):
            await driver.wake()  # mining/resume is not there at all
        with pytest.raises(VnishCommandError) as long:
            await driver.stop_mining()
        assert len(str(long.value)) < 300


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b"\xff\xfe not text",
        b"{not json",
        b"null",
        b'"a string"',
        b"[]",
        b'{"miner": []}',
        b'{"miner": {"miner_status": "x", "chains": "x", "cooling": {"fans": 7}}}',
    ],
)
async def test_odd_summaries_are_protocol_errors_or_harmless(body: bytes) -> None:
    routes: Routes = {"unlock": js(TOKEN), "summary": (200, body), "settings": js({})}
    async with serve(routes) as (driver, _):
        try:
            reading = await driver.read()
        except MinerProtocolError:
            return
        assert reading.state is MiningState.SLEEPING  # no state, no hashrate: not mining
        assert reading.chains == () and reading.fan_rpm == ()


async def test_absurd_numbers_read_as_absent() -> None:
    summary = {
        "miner": {
            "miner_status": {"miner_state": "mining", "miner_state_time": -4},
            "hr_realtime": "1e400",
            "instant_hashrate": float("nan"),
            "power_consumption": 10**30,
            "power_usage": 29.5,  # an efficiency on some builds, not watts
            "chip_temp": {"max": 1e9},
            "pcb_temp": {"max": "hot"},
            "cooling": {"fans": [{"rpm": -1}, {"rpm": 10**12}, {"rpm": "4800"}, "x"]},
            "chains": [{"id": 10**9, "hashrate_rt": -5, "frequency": 1e12}] * 100,
        }
    }
    routes: Routes = {
        "unlock": js(TOKEN),
        "summary": js(summary),
        "settings": js({"miner": {"overclock": {"preset": "1e400"}}}),
    }
    async with serve(routes) as (driver, _):
        reading = await driver.read()
    assert reading.state is MiningState.MINING
    assert reading.hashrate_ths is None
    assert reading.power_w is None
    assert reading.chip_temp_c is None and reading.board_temp_c is None
    assert reading.fan_rpm == (4800,)
    assert len(reading.chains) == 16
    assert all(c.hashrate_ths is None and c.frequency_mhz is None for c in reading.chains)
    assert reading.uptime_s is None
    assert reading.setting is None


async def test_odd_identity_and_presets() -> None:
    info = {"system": {"network_status": {"mac": "00:00:00:00:00:00"}}}
    async with serve({"unlock": js(TOKEN), "info": js(info)}) as (driver, _):
        with pytest.raises(MinerProtocolError, match="MAC"):
            await driver.identify()
    info = {
        "miner": "M" * 10_000,
        "fw_version": ["1"],
        "hr_measure": "furlongs",
        "system": {"network_status": {"mac": "aa-bb-cc-dd-ee-01", "hostname": " \n "}},
    }
    presets = [{"name": str(1000 + i), "status": "tuned", "pretty": "~" * 200} for i in range(500)]
    routes: Routes = {"unlock": js(TOKEN), "info": js(info), "autotune/presets": js(presets)}
    async with serve(routes) as (driver, _):
        identity = await driver.identify()
    assert identity.mac == "AA:BB:CC:DD:EE:01"
    assert len(identity.model) == 64
    assert identity.firmware == "Vnish unknown"
    assert identity.hostname is None
    assert len(driver.capabilities.points.levels) == 64  # bounded


@pytest.mark.parametrize("status", [DROP, HANG])
async def test_a_reboot_that_never_answers_counts_as_delivered(status: int) -> None:
    routes: Routes = {"unlock": js(TOKEN), "system/reboot": (status, b"")}
    async with serve(routes) as (driver, stand_in):
        await driver.reboot()
        assert ("system/reboot", "Bearer T0k3n") in stand_in.seen
        await driver.reboot()  # a rebooted firmware knows no token: a new login first
    assert [path for path, _ in stand_in.seen].count("unlock") == 2


async def test_no_stand_in_reply_lets_anything_but_miner_errors_out() -> None:
    replies: list[Reply] = [
        (200, b""),
        (200, b"{}"),
        (200, b"[1, 2]"),
        (204, b""),
        (302, b""),
        (418, b"teapot"),
        (500, b'{"err": null}'),
        (200, b'{"token": "t", "miner": {"overclock": {"preset": 3}}}'),
    ]
    for reply in replies:
        routes: Routes = {path: reply for path in _ALL_PATHS}
        routes["unlock"] = js(TOKEN)
        async with serve(routes) as (driver, _):
            for call in _calls(driver):
                with suppress(MinerError):
                    await call()


_ALL_PATHS = (
    "info",
    "summary",
    "settings",
    "autotune/presets",
    "mining/pause",
    "mining/resume",
    "mining/stop",
    "mining/start",
    "mining/restart",
    "system/reboot",
)


def _calls(driver: VnishRestDriver) -> list[Callable[[], Any]]:
    return [
        driver.identify,
        driver.read,
        driver.sleep,
        driver.wake,
        driver.stop_mining,
        driver.restart_mining,
        lambda: driver.apply_setting(1900.0),
        driver.reboot,
    ]
