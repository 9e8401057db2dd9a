"""One request over its own TCP connection, as the miners' line APIs (cgminer, btminer v3) take
them: connect within a limit, send, read the whole reply within one limit, close."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

from .base import MinerProtocolError, MinerTimeoutError, MinerUnreachableError

type ReplyReader = Callable[[asyncio.StreamReader], Awaitable[bytes]]


async def tcp_exchange(
    host: str,
    port: int,
    request: bytes,
    read_reply: ReplyReader,
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> bytes:
    """Send `request` and return what `read_reply` reads back; every failure is a `MinerError`.

    One limit covers the whole reply, so a device that trickles bytes is cut off too.
    """
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(connect_timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise MinerUnreachableError(f"{where}: connect timed out") from None
    except OSError as err:
        raise MinerUnreachableError(f"{where}: {err.strerror or err}") from None
    try:
        writer.write(request)
        async with asyncio.timeout(read_timeout_s):
            return await read_reply(reader)
    except TimeoutError:
        raise MinerTimeoutError(f"{where}: no reply within {read_timeout_s} s") from None
    except asyncio.IncompleteReadError as err:
        raise MinerProtocolError(
            f"{where}: reply cut short after {len(err.partial)} bytes"
        ) from None
    except OSError as err:
        raise MinerUnreachableError(f"{where}: connection lost ({err})") from None
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()
