"""An address that makes no request is a miner we cannot reach, never an exception of aiohttp."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners.base import MinerUnreachableError
from custom_components.net_stabilization.core.miners.http_exchange import exchange


@pytest.mark.parametrize("url", ["http://[::1/cgi-bin/x.cgi", "http://exa mple/x.cgi", "x.cgi"])
async def test_an_unusable_address_reads_as_unreachable(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(MinerUnreachableError):
            await exchange(
                session, "GET", url, data=None, headers={}, connect_timeout_s=0.5, read_s=0.5
            )
