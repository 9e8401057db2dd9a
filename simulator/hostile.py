"""Devices on the miner network that only claim to be miners: hostile, broken or foreign.

This is no firmware's personality. Each device answers exactly what its test gives it and
records every request it gets, so a test can tell what the fleet sent it (a login, a password)
and what the fleet made of its claims:

- a cgminer-style API (one JSON request per connection, the reply ended by a NUL, as cgminer's
  `api.c` frames it); joined commands (`summary+stats`) are answered with one section per
  command named, as cgminer answers them, built from the single replies;
- a web server that answers listed paths (any method) and 404 otherwise.

Replies are encoded with `json.dumps` and its default ASCII escapes, so a lone surrogate
(`"\\ud800"`) or a control character reaches the client as the escape a JSON reply may carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_MAX_REQUEST = 65536


@dataclass(frozen=True, slots=True)
class Received:
    """One web request a device got."""

    method: str
    path: str
    body: bytes
    headers: Mapping[str, str]

    @property
    def carries_secret(self) -> bool:
        """A login or a password went out with it (a body naming one, or credentials)."""
        text = self.body.decode("utf-8", "replace").lower()
        return (
            "password" in text
            or '"pw"' in text
            or "authorization" in {k.lower() for k in self.headers}
        )


@dataclass(frozen=True, slots=True)
class WebReply:
    """What the web server answers at one path."""

    body: Any  # a str or bytes as is; anything else as JSON
    status: int = 200
    content_type: str = "application/json"


@dataclass
class HostileDevice:
    """A device with a cgminer API and a web server on loopback, each on its own port.

    `api`: command -> the whole JSON reply of that command. `pages`: path -> `WebReply` (or a
    JSON-able value served with 200). Either may be None: that port is not served.
    """

    api: Mapping[str, Any] | None = None
    pages: Mapping[str, WebReply | Any] | None = None
    host: str = "127.0.0.1"
    api_port: int = 1  # nothing listens at port 1 on loopback
    web_port: int = 1
    api_commands: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _api_server: asyncio.Server | None = None
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ephemeral ports."""
        if self.api is not None:
            self._api_server = await asyncio.start_server(self._serve_api, self.host, 0)
            self.api_port = self._api_server.sockets[0].getsockname()[1]
        if self.pages is not None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._serve_web)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((self.host, 0))
            self.web_port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Close both servers and their connections."""
        if self._api_server is not None:
            self._api_server.close()
            self._api_server.close_clients()
            await self._api_server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> HostileDevice:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def secrets_received(self) -> list[Received]:
        """The requests that carried a login or a password."""
        return [r for r in self.received if r.carries_secret]

    def _api_reply(self, command: str) -> Any:
        assert self.api is not None
        if command in self.api:
            return self.api[command]
        names = command.split("+")
        if len(names) > 1:
            found = {n: [self.api[n]] for n in names if n in self.api}
            if found:
                return found
        return {"STATUS": [{"STATUS": "E", "Code": 14, "Msg": "Invalid command"}]}

    async def _serve_api(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.read(_MAX_REQUEST)
            try:
                request = json.loads(raw.rstrip(b"\x00"))
                command = str(request.get("command", ""))
            except ValueError, AttributeError:
                command = raw.decode("utf-8", "replace").partition("|")[0].strip()
            self.api_commands.append(command)
            reply = self._api_reply(command)
            data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            writer.write(data + b"\x00")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_web(self, request: web.Request) -> web.StreamResponse:
        body = await request.content.read(_MAX_REQUEST)
        self.received.append(
            Received(request.method, request.path, body, dict(request.headers.items()))
        )
        assert self.pages is not None
        found = self.pages.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        reply = found if isinstance(found, WebReply) else WebReply(found)
        if isinstance(reply.body, bytes):
            data = reply.body
        elif isinstance(reply.body, str):
            data = reply.body.encode()
        else:
            data = json.dumps(reply.body).encode()
        return web.Response(body=data, status=reply.status, content_type=reply.content_type)


def grpc_era_braiins(mac: str = "02:b0:5e:00:00:07") -> HostileDevice:
    """Braiins OS+ of the gRPC-only era as far as discovery sees it: BOSer on the cgminer API
    (its `version` entry as the `bosminer` 0.1.0 package's README records it), a web page
    naming Braiins OS, and no REST API. The MAC in `summary` stands in for what such a miner
    tells only over gRPC, so that the read-only monitor can take it in."""
    status = {"STATUS": "S", "When": 1700000000, "Code": 22, "Msg": "BOSer versions"}
    summary = {
        "Elapsed": 7200,
        "MHS 5s": 95_000_000.0,
        "MHS av": 95_000_000.0,
        "MAC": mac,
    }
    return HostileDevice(
        api={
            "version": {
                "STATUS": [status],
                "VERSION": [{"API": "3.7", "BOSer": "boser-buildroot 0.1.0-0ce150e9"}],
            },
            "summary": {"STATUS": [{**status, "Code": 11, "Msg": "Summary"}], "SUMMARY": [summary]},
        },
        pages={"/": WebReply("<html><title>Braiins OS</title></html>", content_type="text/html")},
    )
