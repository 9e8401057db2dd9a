"""The API client over real sockets: framing, limits and error mapping."""

from __future__ import annotations

import asyncio
import socket

import pytest

from custom_components.net_stabilization.core.miners import (
    MinerProtocolError,
    MinerTimeoutError,
    MinerUnreachableError,
)
from custom_components.net_stabilization.core.miners.cgminer import (
    CgminerClient,
    CgminerCommandError,
)

from .replies import reply_bytes
from .standins import ApiStandIn, stock_api_handler


async def _reply(data: bytes | None, delay: float = 0.0) -> ApiStandIn:
    async def handle(_request: bytes) -> bytes | None:
        if delay:
            await asyncio.sleep(delay)
        return data

    server = ApiStandIn(handle)
    await server.start()
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_command_sends_json_and_parses_the_reply() -> None:
    server = ApiStandIn(stock_api_handler())
    await server.start()
    try:
        reply = await CgminerClient("127.0.0.1", server.port).command("version")
        assert reply["VERSION"][0]["Type"] == "Antminer S9"
        await CgminerClient("127.0.0.1", server.port).command("ascset", "0,freq,600")
    except CgminerCommandError as err:
        assert err.code == 14
    finally:
        await server.stop()
    assert server.requests == [
        b'{"command": "version"}',
        b'{"command": "ascset", "parameter": "0,freq,600"}',
    ]


async def test_multi_command_unwraps_list_sections() -> None:
    server = ApiStandIn(stock_api_handler())
    await server.start()
    try:
        sections = await CgminerClient("127.0.0.1", server.port).multi_command("summary", "stats")
    finally:
        await server.stop()
    assert sections["summary"]["SUMMARY"][0]["GHS 5s"] == "13815.68"
    assert sections["stats"]["STATS"][1]["frequency"] == "650"


async def test_multi_command_not_understood() -> None:
    server = ApiStandIn(stock_api_handler(multi_command=False))
    await server.start()
    try:
        with pytest.raises(CgminerCommandError):
            await CgminerClient("127.0.0.1", server.port).multi_command("summary", "stats")
    finally:
        await server.stop()


async def test_reply_ends_at_nul_even_if_the_socket_stays_open() -> None:
    server = ApiStandIn(stock_api_handler(), linger_s=30.0)
    await server.start()
    try:
        client = CgminerClient("127.0.0.1", server.port, read_timeout_s=0.5)
        assert (await client.command("version"))["VERSION"][0]["BMMiner"] == "2.0.0"
    finally:
        await server.stop()


async def test_refused_is_unreachable() -> None:
    with pytest.raises(MinerUnreachableError):
        await CgminerClient("127.0.0.1", _free_port()).command("summary")


async def test_silent_server_is_timeout() -> None:
    server = await _reply(b'{"a":1}\0', delay=1.0)
    try:
        with pytest.raises(MinerTimeoutError):
            await CgminerClient("127.0.0.1", server.port, read_timeout_s=0.2).command("summary")
    finally:
        await server.stop()


async def test_close_without_reply_is_protocol_error() -> None:
    server = await _reply(None)
    try:
        with pytest.raises(MinerProtocolError):
            await CgminerClient("127.0.0.1", server.port).command("summary")
    finally:
        await server.stop()


async def test_oversized_reply_is_protocol_error() -> None:
    server = await _reply(b"{" + b" " * 300_000 + b"}")
    try:
        client = CgminerClient("127.0.0.1", server.port, max_reply_bytes=100_000)
        with pytest.raises(MinerProtocolError, match="larger"):
            await client.command("stats")
    finally:
        await server.stop()


@pytest.mark.parametrize("name", ["truncated.bin", "garbage.bin"])
async def test_bad_replies_are_protocol_errors(name: str) -> None:
    server = await _reply(reply_bytes(name))
    try:
        with pytest.raises(MinerProtocolError):
            await CgminerClient("127.0.0.1", server.port).command("stats")
    finally:
        await server.stop()
