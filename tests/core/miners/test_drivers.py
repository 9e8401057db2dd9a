"""A driver for every kind the scan identifies; none for a device it cannot run."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners.drivers import build_driver
from custom_components.net_stabilization.core.miners.endpoint import MinerEndpoint
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind


@pytest.mark.parametrize("kind", [k for k in FirmwareKind if k is not FirmwareKind.UNSUPPORTED])
async def test_every_identified_kind_gets_its_driver(kind: FirmwareKind) -> None:
    async with aiohttp.ClientSession() as session:
        driver = build_driver(kind, MinerEndpoint("10.0.0.5", 4028, 80), session)
        assert driver.kind == kind.value
        assert driver.host == "10.0.0.5"


async def test_an_unsupported_device_gets_no_driver() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="no driver"):
            build_driver(FirmwareKind.UNSUPPORTED, MinerEndpoint("10.0.0.5", 4028, 80), session)
