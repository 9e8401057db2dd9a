"""Recognise a Whatsminer that speaks only API v3 (TCP 4433) during a scan.

Such a miner keeps 4028 shut, so the cgminer and Antminer probes find nothing or an
unsupported web page. This probe asks `get.device.info` on the v3 port at the same time; its
answer counts only where the other probes found no miner. A device whose port answers in the
v3 framing but will not tell who it is (a refusal, no MAC) is reported as "Whatsminer API v3,
not readable" rather than guessed at.
"""

from __future__ import annotations

import asyncio

import aiohttp

from .base import MinerError
from .endpoint import SCAN_TIMEOUTS, Credentials, MinerEndpoint, Timeouts
from .identify import Identification, ProbeOutcome, identify_miner
from .whatsminer_v3 import WHATSMINER_V3_PORT, WhatsminerV3Driver
from .whatsminer_v3_parse import NOT_READABLE, WhatsminerV3UnreadableError

# Outcomes of the other probes that a v3 answer does not override.
_SETTLED = frozenset({ProbeOutcome.MINER, ProbeOutcome.AUTH_FAILED})


async def identify_with_whatsminer_v3(
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    *,
    v3_port: int = WHATSMINER_V3_PORT,
    credentials: Credentials | None = None,
    probe_timeouts: Timeouts = SCAN_TIMEOUTS,
    driver_timeouts: Timeouts | None = None,
    allow_factory_password: bool = False,
) -> Identification:
    """`identify_miner`, and the v3 probe beside it. Never raises for anything a device does."""
    found, v3 = await asyncio.gather(
        identify_miner(
            endpoint,
            session,
            credentials=credentials,
            probe_timeouts=probe_timeouts,
            driver_timeouts=driver_timeouts,
            allow_factory_password=allow_factory_password,
        ),
        probe_whatsminer_v3(
            endpoint, v3_port, probe_timeouts=probe_timeouts, driver_timeouts=driver_timeouts
        ),
    )
    if found.outcome in _SETTLED or v3 is None:
        return found
    return v3


async def probe_whatsminer_v3(
    endpoint: MinerEndpoint,
    port: int = WHATSMINER_V3_PORT,
    *,
    probe_timeouts: Timeouts = SCAN_TIMEOUTS,
    driver_timeouts: Timeouts | None = None,
) -> Identification | None:
    """A miner on API v3 at `endpoint`'s host, "not readable", or None when nothing there
    answers in the v3 framing (the port is shut, or another service answers)."""
    v3_endpoint = MinerEndpoint(endpoint.host, port, endpoint.web_port)
    probe = WhatsminerV3Driver(
        endpoint.host, api_port=port, web_port=endpoint.web_port, timeouts=probe_timeouts
    )
    try:
        identity = await probe.identify()
    except WhatsminerV3UnreadableError as err:
        detail = f"{NOT_READABLE}: {err}"
        return Identification(v3_endpoint, ProbeOutcome.UNSUPPORTED, detail=detail)
    except MinerError:
        return None  # shut, silent, or another service on that port
    driver = WhatsminerV3Driver(
        endpoint.host,
        api_port=port,
        web_port=endpoint.web_port,
        timeouts=driver_timeouts,
        identity=identity,
    )
    return Identification(
        v3_endpoint,
        ProbeOutcome.MINER,
        identity,
        driver,
        f"{identity.model} ({identity.firmware})",
    )
