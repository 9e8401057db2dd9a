"""One HTTP exchange with a device, at its edges: an address that makes no URL is an
unreachable miner (it cannot be asked), never a crash or a protocol error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners.base import MinerUnreachableError
from custom_components.net_stabilization.core.miners.http_exchange import exchange


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.mark.parametrize("url", ["http://[::1/cgi-bin/x", "http://miner:abc/", "http://[zz]/"])
async def test_an_address_that_makes_no_url_is_unreachable(
    session: aiohttp.ClientSession, url: str
) -> None:
    with pytest.raises(MinerUnreachableError, match="unusable address"):
        await exchange(
            session, "GET", url, data=None, headers={}, connect_timeout_s=0.5, read_s=0.5
        )
