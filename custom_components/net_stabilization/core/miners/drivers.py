"""One driver per firmware kind, built the same way whatever the kind."""

from __future__ import annotations

import aiohttp

from .antminer_s9 import AntminerS9Driver
from .base import MinerDriver, MinerIdentity
from .braiins import BraiinsDriver
from .cgminer_monitor import CgminerMonitorDriver
from .endpoint import Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind
from .luxos import LuxosDriver
from .vnish_rest import VnishRestDriver
from .whatsminer_v3 import WhatsminerV3Driver


def build_driver(
    kind: FirmwareKind,
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    *,
    credentials: Credentials | None = None,
    timeouts: Timeouts | None = None,
    identity: MinerIdentity | None = None,
) -> MinerDriver:
    """The driver of `kind` for the miner at `endpoint` (raises ValueError for UNSUPPORTED)."""
    host = endpoint.host
    match kind:
        case FirmwareKind.VNISH_S9 | FirmwareKind.STOCK_S9:
            return AntminerS9Driver(
                host,
                session,
                api_port=endpoint.api_port,
                web_port=endpoint.web_port,
                credentials=credentials,
                timeouts=timeouts,
                firmware=kind,
                identity=identity,
            )
        case FirmwareKind.BRAIINS:
            return BraiinsDriver(
                host,
                session,
                web_port=endpoint.web_port,
                credentials=credentials,
                timeouts=timeouts,
                identity=identity,
            )
        case FirmwareKind.LUXOS:
            return LuxosDriver(
                host,
                session,
                api_port=endpoint.api_port,
                credentials=credentials,
                timeouts=timeouts,
                identity=identity,
            )
        case FirmwareKind.VNISH_REST:
            return VnishRestDriver(
                host,
                session,
                web_port=endpoint.web_port,
                credentials=credentials,
                timeouts=timeouts,
                identity=identity,
            )
        case FirmwareKind.MONITOR:
            return CgminerMonitorDriver(
                host,
                session,
                api_port=endpoint.api_port,
                web_port=endpoint.web_port,
                credentials=credentials,
                timeouts=timeouts,
                identity=identity,
            )
        case FirmwareKind.WHATSMINER_V3:
            return WhatsminerV3Driver(
                host,
                api_port=endpoint.api_port,
                web_port=endpoint.web_port,
                timeouts=timeouts,
                identity=identity,
            )
    raise ValueError(f"no driver for {kind}")
