"""One bounded HTTP exchange with a miner's web server, every failure as a `MinerError`.

Shared by the Antminer CGI client and the REST clients of Braiins OS+ and Vnish. Replies are read
up to a size no miner's reply comes near, so a device on the miner network cannot make us read
a body of any size; the socket phases are bounded, and an overall cap stops a miner that
trickles bytes. The session is injected (in Home Assistant, HA's shared one).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from .base import MinerProtocolError, MinerTimeoutError, MinerUnreachableError

MAX_REPLY_BYTES = 256 * 1024
_CHUNK = 16 * 1024


class ConnectionLostError(MinerUnreachableError):
    """The web server dropped the connection after taking the request (e.g. it is rebooting)."""


@dataclass(frozen=True, slots=True)
class HttpReply:
    """What came back: status, headers and the whole (bounded) body."""

    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    data: bytes | None,
    headers: dict[str, str],
    connect_timeout_s: float,
    read_s: float,
) -> HttpReply:
    """Send one request and read the whole reply."""
    # Bound the socket phases, not the whole call: waiting for a free connection of a shared
    # session's pool says nothing about the miner and must not read as a timeout.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_s)
    try:
        async with (
            asyncio.timeout(connect_timeout_s + 2 * read_s),
            session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                # No session-wide middlewares: a login is ours to answer, or not.
                middlewares=(),
            ) as response,
        ):
            body = await read_bounded(response, url)
            return HttpReply(response.status, dict(response.headers), body)
    except aiohttp.ConnectionTimeoutError:
        raise MinerUnreachableError(f"{url}: connect timed out") from None
    except aiohttp.ClientConnectorError as err:
        raise MinerUnreachableError(f"{url}: {err.os_error.strerror or err}") from None
    except TimeoutError:
        raise MinerTimeoutError(f"{url}: no answer within {read_s} s") from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
        raise ConnectionLostError(f"{url}: connection lost ({err})") from None
    except aiohttp.InvalidURL as err:
        raise MinerUnreachableError(f"{url}: unusable address ({err})") from None
    except aiohttp.ClientError as err:
        raise MinerProtocolError(f"{url}: bad HTTP answer ({err})") from None
    except ValueError as err:  # e.g. a host name that makes no URL
        raise MinerUnreachableError(f"{url}: {err}") from None


async def read_bounded(response: aiohttp.ClientResponse, url: str) -> bytes:
    """The whole body, refused once it passes MAX_REPLY_BYTES (announced or sent)."""
    if response.content_length is not None and response.content_length > MAX_REPLY_BYTES:
        raise MinerProtocolError(f"{url}: reply of {response.content_length} bytes refused")
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.read(_CHUNK):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise MinerProtocolError(f"{url}: reply larger than {MAX_REPLY_BYTES} bytes refused")
        chunks.append(chunk)
    return b"".join(chunks)
