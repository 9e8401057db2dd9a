"""The one-connection exchange of the line APIs (cgminer, btminer v3) fails with the miner
errors the fleet understands: a connect that runs out of time, and a connection the device
resets under the reply."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from custom_components.net_stabilization.core.miners.base import MinerUnreachableError
from custom_components.net_stabilization.core.miners.cgminer import CgminerClient
from custom_components.net_stabilization.core.miners.whatsminer_v3 import WhatsminerV3Client


@pytest.fixture
async def resetting_port() -> AsyncIterator[int]:
    """A device that reads the request, then resets the connection instead of answering."""

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_a_reset_under_the_reply_is_a_lost_connection(resetting_port: int) -> None:
    cgminer = CgminerClient("127.0.0.1", resetting_port, read_timeout_s=5.0)
    with pytest.raises(MinerUnreachableError, match="connection lost"):
        await cgminer.exchange(b'{"command":"summary"}')
    v3 = WhatsminerV3Client("127.0.0.1", resetting_port, read_timeout_s=5.0)
    with pytest.raises(MinerUnreachableError, match="connection lost"):
        await v3.call("get.miner.status", "summary")


async def test_a_connect_without_time_left_is_unreachable(resetting_port: int) -> None:
    client = CgminerClient("127.0.0.1", resetting_port, connect_timeout_s=0.0)
    with pytest.raises(MinerUnreachableError, match="connect timed out"):
        await client.exchange(b'{"command":"summary"}')
