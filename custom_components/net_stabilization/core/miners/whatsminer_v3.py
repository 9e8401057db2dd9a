"""Read-only driver for Whatsminer API v3 (btminer firmware from late 2024 on, TCP 4433).

Such firmware no longer answers the cgminer API on 4028, so the miner is read here: its
identity (MAC, model, firmware) from `get.device.info`, each poll from one `get.miner.status`
summary. Reads need no login; this driver never sends a `set.*` command, so it needs neither
the firmware's account password nor its salt. Wire format and parsing: `whatsminer_v3_parse`.
"""

from __future__ import annotations

import asyncio

from .base import (
    MinerIdentity,
    MinerReading,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
)
from .cgminer_models import Rating, rating_for
from .endpoint import DEFAULT_WEB_PORT, MinerEndpoint, Timeouts
from .firmware import FirmwareKind
from .read_only_driver import ReadOnlyDriver
from .tcp_exchange import tcp_exchange
from .whatsminer_v3_parse import (
    HEADER,
    JsonDict,
    WhatsminerV3CommandError,
    encode_request,
    identity_from_device_info,
    parse_reply,
    reading_from_status,
    reply_length,
)

WHATSMINER_V3_PORT = 4433


class WhatsminerV3Client:
    """One miner's v3 API: one connection per command, every reply size-bound and timed."""

    def __init__(
        self,
        host: str,
        port: int = WHATSMINER_V3_PORT,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s

    async def call(self, command: str, param: str | None = None) -> JsonDict:
        """Run one read command and return its `msg` object."""
        return parse_reply(await self.exchange(encode_request(command, param)), command)

    async def exchange(self, request: bytes) -> bytes:
        """Send one framed request and return the reply's body."""
        return await tcp_exchange(
            self.host,
            self.port,
            request,
            _read_framed,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )


async def _read_framed(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(HEADER.size)
    return await reader.readexactly(reply_length(header))


class WhatsminerV3Driver(ReadOnlyDriver):
    """One Whatsminer on API v3, monitored only. Never raises anything but `MinerError`."""

    KIND = FirmwareKind.WHATSMINER_V3

    def __init__(
        self,
        host: str,
        *,
        api_port: int = WHATSMINER_V3_PORT,
        web_port: int = DEFAULT_WEB_PORT,
        timeouts: Timeouts | None = None,
        identity: MinerIdentity | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.endpoint = MinerEndpoint(host, api_port, web_port)
        self._identity = identity
        self._rating: Rating | None = rating_for(identity.model) if identity else None
        self._api = WhatsminerV3Client(
            host,
            api_port,
            connect_timeout_s=self.timeouts.connect_s,
            read_timeout_s=self.timeouts.api_read_s,
        )

    @property
    def client(self) -> WhatsminerV3Client:
        """The API client (for discovery's probe, which shares its limits)."""
        return self._api

    async def identify(self) -> MinerIdentity:
        """MAC, model, firmware and host name from `get.device.info`."""
        identity = identity_from_device_info(self.host, await self._api.call("get.device.info"))
        self._identity = identity
        self._rating = rating_for(identity.model)
        return identity

    async def read(self) -> MinerReading:
        """One poll: the status summary. Nothing listening reads as offline; an API that
        answers without a summary as a miner whose mining software is down."""
        model = self._identity.model if self._identity is not None else None
        try:
            status: JsonDict | None = await self._api.call("get.miner.status", "summary")
        except MinerUnreachableError:
            return MinerReading(online=False, state=MiningState.OFFLINE, model=model)
        except WhatsminerV3CommandError:
            status = None  # the API answers but refuses a status: its mining software is down
        return reading_from_status(status, rating=self._rating, model=model)

    def _refusal(self, action: str) -> MinerUnsupportedError:
        model = self._identity.model if self._identity is not None else "this Whatsminer"
        return MinerUnsupportedError(
            f"{self.host}: {model} on API v3 is read only: cannot {action}"
        )
