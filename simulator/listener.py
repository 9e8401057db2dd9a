"""TCP ports that can be closed and reopened without losing their port number.

While "closed" the port stays bound but does not listen, so connection attempts are
refused (RST) exactly as on a miner whose daemon is down, and nobody else can take the
port in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable

_LOGGER = logging.getLogger(__name__)

ServeFn = Callable[[socket.socket], Awaitable[asyncio.Server]]
BACKLOG = 128


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class Listener:
    """One reopenable listening port."""

    def __init__(self, host: str, port: int, serve: ServeFn) -> None:
        self.host = host
        self.port = port
        self._serve = serve
        self._placeholder: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._retired: list[asyncio.Server] = []

    @property
    def is_open(self) -> bool:
        """Whether the port currently accepts connections."""
        return self._server is not None

    def reserve(self) -> int:
        """Bind without listening; returns the (possibly ephemeral) port."""
        if self._placeholder is None and self._server is None:
            self._placeholder = _bound_socket(self.host, self.port)
            self.port = self._placeholder.getsockname()[1]
        return self.port

    async def open(self) -> None:
        """Start accepting connections."""
        if self._server is not None:
            return
        sock = self._placeholder or _bound_socket(self.host, self.port)
        self._placeholder = None
        sock.listen(BACKLOG)
        try:
            self._server = await self._serve(sock)
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        """Stop accepting and drop open connections at once (synchronous on purpose)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # Existing connections die with the daemon; pending writes are flushed first.
        server.close_clients()
        self._retired.append(server)
        if len(self._retired) > 8:
            # Old servers have no clients left; forget them so long runs do not grow.
            self._retired = self._retired[-8:]
        try:
            self._placeholder = _bound_socket(self.host, self.port)
        except OSError as err:
            _LOGGER.debug("could not re-reserve %s:%s: %s", self.host, self.port, err)

    async def aclose(self) -> None:
        """Close for good and wait until all connections are gone."""
        self.close()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        retired, self._retired = self._retired, []
        for server in retired:
            server.close_clients()
            with contextlib.suppress(Exception):
                await server.wait_closed()
