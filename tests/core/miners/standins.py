"""Small local servers for what the Vnish simulator is not: stock firmware, foreign devices,
and raw socket edge cases. Each is started and stopped by the test that uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.digest import DigestAuth

from .replies import reply_bytes

type ApiHandler = Callable[[bytes], Awaitable[bytes | None]]


class ApiStandIn:
    """A TCP server that answers each connection via `handler(request) -> reply bytes`.

    A `None` reply closes the connection without answering.
    """

    def __init__(
        self, handler: ApiHandler, host: str = "127.0.0.1", *, linger_s: float = 0.0
    ) -> None:
        self.handler = handler
        self.linger_s = linger_s  # keep the socket open this long after replying
        self.host = host
        self.port = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the server and every open connection."""
        if self._server is not None:
            self._server.close()
            self._server.close_clients()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await reader.read(65536)
            self.requests.append(request)
            reply = await self.handler(request)
            if reply is not None:
                writer.write(reply)
                await writer.drain()
            if self.linger_s:
                await asyncio.sleep(self.linger_s)
        except ConnectionError, asyncio.CancelledError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)


def stock_api_handler(*, multi_command: bool = True) -> ApiHandler:
    """Stock S9 bmminer 2.0.0 from the recorded replies; optionally without multi-command."""
    replies = {
        "version": reply_bytes("stock_version.bin"),
        "summary": reply_bytes("stock_summary.bin"),
        "stats": reply_bytes("stock_stats.bin"),
    }
    invalid = reply_bytes("unknown_command.bin")

    async def handle(request: bytes) -> bytes:
        command = json.loads(request)["command"]
        if command in replies:
            return replies[command]
        if multi_command and command == "summary+stats":
            # bmminer wraps each section in a list; keep the raw (buggy) stats text.
            summary = replies["summary"].rstrip(b"\0")
            stats = replies["stats"].rstrip(b"\0")
            return b'{"summary":[' + summary + b'],"stats":[' + stats + b'],"id":1}\0'
        return invalid

    return handle


class WebStandIn:
    """An aiohttp web server with handlers per path, optionally behind the Antminer digest."""

    def __init__(
        self,
        routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]],
        *,
        password: str | None = "root",
        host: str = "127.0.0.1",
    ) -> None:
        self.routes = routes
        self.password = password
        self.host = host
        self.port = 0
        self.requests: list[tuple[str, str, bytes]] = []
        self._digest = DigestAuth()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Serve on an ephemeral port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path, body))
        if self.password is not None and not self._digest.verify(
            request.method,
            request.path_qs,
            request.headers.get("Authorization"),
            "root",
            self.password,
        ):
            return web.Response(status=401, headers={"WWW-Authenticate": self._digest.challenge()})
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)


def json_route(data: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A route that prints JSON the way the CGI scripts do (no JSON content type)."""

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(data), content_type="text/html")

    return handle


def text_route(text: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A route that prints fixed text."""

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="text/html")

    return handle


STOCK_SYSTEM_INFO: dict[str, Any] = {
    "minertype": "Antminer S9",
    "nettype": "DHCP",
    "netdevice": "eth0",
    "macaddr": "b4:b1:5a:10:20:30",
    "hostname": "antMiner",
    "ipaddress": "127.0.0.1",
    "system_filesystem_version": "Tue Aug 15 11:37:49 CST 2017",
}
